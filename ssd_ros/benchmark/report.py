"""The benchmark's report: one JSON document and its Markdown rendering, naming the host.

Contract: ``build_report(result, host)`` turns a :class:`~.runner.BenchmarkResult` into a JSON-ready
dict (NaN becomes null): the method, the host (:func:`.hardware.describe_host`), the graph and plan
settings, the Detector alone, the peak search (every trial with its verdict, the peak, and the peak
over the Detector alone's frames per second), and per fixed rate every run plus a summary in which
each metric is the mean of the runs left after dropping the ``plan.drop`` best and worst
(:func:`.stats.trimmed_mean`). ``markdown(report)`` renders it as headings and tables;
``write_report(report, folder)`` writes ``benchmark.json`` and ``benchmark.md`` and returns their paths.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ssd_ros.benchmark.hardware import host_line
from ssd_ros.benchmark.rules import failure
from ssd_ros.benchmark.runner import BenchmarkResult
from ssd_ros.benchmark.stats import trimmed_mean

METHOD = ("ros2_benchmark's method: a player process publishes frames from memory at a set rate, the "
          "detector node processes them, a monitor receives the detections; latency is header stamp -> "
          "receipt. Peak: the highest rate at which at most {loss:.0%} of frames go unanswered and the output "
          "rate is within {gap:g} Hz of the input. Fixed rates: {runs} runs each, the {drop} best and worst "
          "dropped per metric, the rest averaged.")
SUMMARY_METRICS = {  # name -> how to read it from a run's as_dict()
    "input_hz": lambda run: run["input_hz"],
    "output_hz": lambda run: run["output_hz"],
    "loss": lambda run: run["loss"],
    "latency_p50_ms": lambda run: run["latency_ms"]["p50"],
    "latency_p95_ms": lambda run: run["latency_ms"]["p95"],
    "latency_p99_ms": lambda run: run["latency_ms"]["p99"],
    "latency_max_ms": lambda run: run["latency_ms"]["max"],
    "jitter_mean_ms": lambda run: run["jitter_ms"]["mean"],
    "jitter_max_ms": lambda run: run["jitter_ms"]["max"],
    "node_cpu_percent": lambda run: run["node_cpu_percent"],
    "node_cpu_ms_per_frame": lambda run: run["node_cpu_ms_per_frame"],
}


def _clean(value: Any) -> Any:
    """NaN -> None, recursively, so the JSON is standard."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(item) for item in value]
    return value


def summary(runs: list[dict[str, Any]], drop: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for name, read in SUMMARY_METRICS.items():
        values = [read(run) for run in runs]
        numbers = [float("nan") if value is None else float(value) for value in values]
        figures[name] = trimmed_mean(numbers, drop)
    figures["runs_passed"] = sum(1 for run in runs if run["passed"])
    return figures


def build_report(result: BenchmarkResult, host: dict[str, Any]) -> dict[str, Any]:
    plan, rule = result.plan, result.plan.rule

    def run_dict(measurement) -> dict[str, Any]:
        reason = failure(measurement.trial, rule)
        return {**measurement.as_dict(), "passed": reason is None, "failure": reason}

    fixed = []
    for rate, measurements in sorted(result.fixed.items()):
        runs = [run_dict(m) for m in measurements]
        fixed.append({"offered_hz": rate, "summary": summary(runs, plan.drop), "runs": runs})
    detector_fps = result.detector["fps"] if result.detector else None
    peak = None
    if result.peak_hz is not None:
        peak = {"peak_hz": result.peak_hz,
                "vs_detector_alone": result.peak_hz * result.graph.cameras / detector_fps if detector_fps else None,
                "trials": [run_dict(m) for m in result.peak_trials]}
    graph = asdict(result.graph)
    graph["parameters"] = dict(result.graph.parameters)
    graph["node_commands"] = [" ".join(command.ros_arguments()) for command in result.graph.node_commands()]
    return _clean({
        "tool": "ssd-ros benchmark",
        "method": METHOD.format(loss=rule.max_loss, gap=rule.max_rate_gap_hz, runs=plan.runs, drop=plan.drop),
        "host": host,
        "graph": graph,
        "plan": asdict(plan),
        "detector_alone": result.detector,
        "peak": peak,
        "fixed_rates": fixed,
    })


def _number(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown(report: dict[str, Any]) -> str:
    graph, host = report["graph"], report["host"]
    nodes = f"{graph['cameras']} separate nodes" if graph["separate_nodes"] else "one node"
    lines = [
        "# ssd_ros graph benchmark",
        "",
        f"Host: {host_line(host)}.",
        f"Graph: {graph['cameras']} camera(s) of {graph['width']}x{graph['height']} {graph['encoding']} "
        f"({graph['phase']}) into {nodes}; node parameters {graph['parameters'] or 'the defaults'}.",
        "",
        report["method"],
        "",
    ]
    detector = report["detector_alone"]
    if detector:
        lines += [f"Detector alone on the same frames ({detector['backend']} on {detector['device']}, batches of "
                  f"{detector['cameras']}, {detector.get('workers', 1)} at once): {_number(detector['fps'])} frames/s, "
                  f"{_number(detector['cpu_ms_per_frame'])} ms CPU per frame.", ""]
    peak = report["peak"]
    if peak:
        ratio = f" ({peak['vs_detector_alone']:.2f}x the Detector alone)" if peak["vs_detector_alone"] else ""
        lines += [f"**Peak rate: {_number(peak['peak_hz'])} Hz per camera**{ratio}.", "",
                  "| offered Hz | input Hz | output Hz | answered | p50 ms | node CPU % | verdict |",
                  "|---|---|---|---|---|---|---|"]
        for trial in peak["trials"]:
            lines.append(f"| {_number(trial['offered_hz'])} | {_number(trial['input_hz'])} | "
                         f"{_number(trial['output_hz'])} | {trial['answered']}/{trial['sent']} | "
                         f"{_number(trial['latency_ms']['p50'])} | {_number(trial['node_cpu_percent'], 0)} | "
                         f"{'pass' if trial['passed'] else trial['failure']} |")
        lines.append("")
    if report["fixed_rates"]:
        lines += ["| offered Hz | output Hz | lost | latency p50 / p95 / p99 ms | jitter mean ms | node CPU % | "
                  "CPU ms/frame | runs passed |", "|---|---|---|---|---|---|---|---|"]
        for entry in report["fixed_rates"]:
            s = entry["summary"]
            lost = "-" if s["loss"] is None else f"{s['loss']:.1%}"
            lines.append(
                f"| {_number(entry['offered_hz'])} | {_number(s['output_hz'])} | {lost} | "
                f"{_number(s['latency_p50_ms'])} / {_number(s['latency_p95_ms'])} / {_number(s['latency_p99_ms'])} | "
                f"{_number(s['jitter_mean_ms'], 2)} | {_number(s['node_cpu_percent'], 0)} | "
                f"{_number(s['node_cpu_ms_per_frame'])} | {s['runs_passed']}/{len(entry['runs'])} |")
        lines.append("")
    return "\n".join(lines)


def write_report(report: dict[str, Any], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path, markdown_path = folder / "benchmark.json", folder / "benchmark.md"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    markdown_path.write_text(markdown(report) + "\n")
    return [json_path, markdown_path]
