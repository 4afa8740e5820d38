"""The benchmark method end to end on one graph: warm-up, Detector alone, peak-rate search, fixed rates.

Contract: ``run_benchmark(graph, plan, log_dir, progress)`` starts a :class:`GraphSession`, plays
``plan.warmup_s`` at 10 Hz (not counted), measures the Detector alone on the same frames
(:mod:`.baseline`, unless ``plan.detector_s`` is 0), searches the peak rate (:func:`.rules.search_peak`,
``plan.peak_seconds`` per trial, unless ``plan.peak`` is off), then runs every fixed rate
``plan.runs`` times, the rates interleaved run by run so that drift of a shared machine hits them
alike. ``progress`` gets one line per measurement. Returns a ``BenchmarkResult`` of raw
measurements; :mod:`.report` turns it into figures.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ssd_ros.benchmark.graph import GraphSession, GraphSettings, RunMeasurement
from ssd_ros.benchmark.rules import PassRule, failure, search_peak

WARMUP_RATE_HZ = 10.0


@dataclass(frozen=True)
class BenchmarkPlan:
    rates_hz: tuple[float, ...] = (10.0, 30.0, 60.0)
    runs: int = 5
    drop: int = 1  # best and worst runs dropped per metric
    seconds: float = 5.0  # per fixed-rate run
    peak: bool = True
    peak_low_hz: float = 1.0
    peak_high_hz: float = 500.0
    peak_seconds: float = 3.0
    peak_max_trials: int = 8
    warmup_s: float = 2.0
    detector_s: float = 3.0  # Detector alone; 0 skips it
    rule: PassRule = field(default_factory=PassRule)


@dataclass
class BenchmarkResult:
    graph: GraphSettings
    plan: BenchmarkPlan
    detector: dict[str, Any] | None = None
    peak_hz: float | None = None
    peak_trials: list[RunMeasurement] = field(default_factory=list)
    fixed: dict[float, list[RunMeasurement]] = field(default_factory=dict)


def describe(measurement: RunMeasurement, rule: PassRule) -> str:
    reason = failure(measurement.trial, rule)
    cpu = measurement.cpu_percent
    return (f"{measurement.offered_hz:7.1f} Hz offered: {measurement.input_hz:6.1f} in, "
            f"{measurement.output_hz:6.1f} out, "
            f"{measurement.answered}/{measurement.sent} answered, latency p50 {measurement.latency_ms['p50']:.1f} ms"
            + (f", node CPU {cpu:.0f}%" if cpu is not None else "") + f": {reason or 'pass'}")


def run_benchmark(graph: GraphSettings, plan: BenchmarkPlan, log_dir: Path | None = None,
                  progress: Callable[[str], None] = print) -> BenchmarkResult:
    from ssd_ros.benchmark.baseline import detector_alone, node_parameters

    result = BenchmarkResult(graph, plan)
    with GraphSession(graph, log_dir) as session:
        session.measure(WARMUP_RATE_HZ, plan.warmup_s)
        if plan.detector_s > 0:
            result.detector = detector_alone(node_parameters(graph.parameters), graph.width, graph.height,
                                             graph.cameras, plan.detector_s)
            progress(f"Detector alone: {result.detector['fps']:.1f} frames/s "
                     f"({result.detector['backend']}, {result.detector['cpu_ms_per_frame']:.1f} ms CPU per frame)")
        if plan.peak:
            def trial(rate: float):
                measurement = session.measure(rate, plan.peak_seconds)
                result.peak_trials.append(measurement)
                progress("peak search " + describe(measurement, plan.rule))
                return measurement.trial

            search = search_peak(trial, plan.peak_low_hz, plan.peak_high_hz, rule=plan.rule,
                                 max_trials=plan.peak_max_trials)
            result.peak_hz = search.peak_hz
            progress(f"peak: {search.peak_hz:.1f} Hz per camera")
        for run in range(plan.runs):
            for rate in plan.rates_hz:
                measurement = session.measure(rate, plan.seconds)
                result.fixed.setdefault(rate, []).append(measurement)
                progress(f"run {run + 1}/{plan.runs} " + describe(measurement, plan.rule))
    return result
