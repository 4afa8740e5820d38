"""The graph benchmark's figures and report on synthetic measurements: runs, trimming, JSON, Markdown, plots."""
from __future__ import annotations

import json
import math

import pytest

from ssd_ros.benchmark.graph import GraphSettings, summarise
from ssd_ros.benchmark.hardware import describe_host
from ssd_ros.benchmark.report import build_report, markdown, write_report
from ssd_ros.benchmark.runner import BenchmarkPlan, BenchmarkResult
from ssd_ros.benchmark.stats import jitter_ms, latency_summary, trimmed_mean

MS = 1_000_000


def run(rate: float, latency_ms: float, answered: int, sent: int = 10, cameras: int = 1, cpu_s: float | None = 0.5):
    """``sent`` frames per camera at ``rate``; the first ``answered`` of each camera answered after ``latency_ms``."""
    period_ns = int(1e9 / rate)
    stamps = [[camera * 7 + index * period_ns for index in range(sent)] for camera in range(cameras)]
    arrivals = [[(stamp, stamp + int(latency_ms * MS)) for stamp in camera_stamps[:answered]]
                for camera_stamps in stamps]
    return summarise(rate, stamps, arrivals, sent / rate, cpu_s, sent / rate + 0.5)


def test_a_run_counts_each_sent_frame_once_and_ignores_strangers():
    stamps = [[1 * MS, 2 * MS, 3 * MS, 4 * MS]]
    arrivals = [[(1 * MS, 11 * MS), (1 * MS, 12 * MS), (2 * MS, 14 * MS), (99 * MS, 100 * MS)]]  # a duplicate, a stray
    measurement = summarise(10.0, stamps, arrivals, elapsed_s=0.4, node_cpu_s=0.2, window_s=1.0)
    assert (measurement.sent, measurement.answered) == (4, 2)
    assert measurement.trial.loss == pytest.approx(0.5)
    assert measurement.latency_ms["count"] == 2 and measurement.latency_ms["max"] == pytest.approx(12.0)
    assert measurement.input_hz == pytest.approx(10.0) and measurement.output_hz == pytest.approx(5.0)
    assert measurement.cpu_ms_per_frame == pytest.approx(100.0) and measurement.cpu_percent == pytest.approx(20.0)


def test_rates_are_per_camera():
    measurement = run(15.0, 30.0, answered=10, cameras=4)
    assert measurement.sent == 40 and measurement.input_hz == pytest.approx(15.0)
    assert measurement.output_hz == pytest.approx(15.0)


def test_latency_percentiles_and_jitter():
    summary = latency_summary([float(value) for value in range(1, 101)])
    assert summary["p50"] == pytest.approx(50.5) and summary["p99"] == pytest.approx(99.01)
    assert math.isnan(latency_summary([])["p50"])
    assert jitter_ms([0, 10 * MS, 20 * MS, 30 * MS])["max"] == 0.0
    assert jitter_ms([0, 10 * MS, 30 * MS, 40 * MS]) == {"mean": pytest.approx(10.0), "max": pytest.approx(10.0)}


def test_trimmed_mean_drops_the_best_and_worst_runs():
    assert trimmed_mean([1.0, 100.0, 3.0, 4.0, 5.0], drop=1) == pytest.approx(4.0)
    assert trimmed_mean([1.0, 3.0], drop=1) == pytest.approx(2.0)  # too few runs to drop any
    assert trimmed_mean([float("nan"), 2.0, 4.0], drop=0) == pytest.approx(3.0)
    assert math.isnan(trimmed_mean([float("nan")]))


@pytest.fixture
def result() -> BenchmarkResult:
    graph = GraphSettings(cameras=1, parameters={"num_threads": 1})
    plan = BenchmarkPlan(rates_hz=(10.0, 30.0), runs=5, drop=1)
    outcome = BenchmarkResult(graph, plan, detector={"backend": "onnxruntime", "device": "cpu", "cameras": 1,
                                                     "frames": 300, "fps": 100.0, "batch_ms_p50": 10.0,
                                                     "cpu_ms_per_frame": 12.0})
    outcome.peak_hz = 80.0
    outcome.peak_trials = [run(500.0, 40.0, answered=2), run(80.0, 20.0, answered=10)]
    outcome.fixed = {10.0: [run(10.0, latency, answered=10) for latency in (10.0, 11.0, 12.0, 13.0, 90.0)],
                     30.0: [run(30.0, 15.0, answered=answered) for answered in (10, 10, 10, 9, 2)]}
    return outcome


def test_the_report_summarises_runs_with_best_and_worst_dropped(result):
    report = build_report(result, describe_host())
    json.dumps(report, allow_nan=False)  # standard JSON: no NaN
    ten, thirty = report["fixed_rates"]
    assert ten["summary"]["latency_p50_ms"] == pytest.approx(12.0)  # 10 and 90 dropped, mean of 11, 12, 13
    assert ten["summary"]["runs_passed"] == 5
    assert thirty["summary"]["runs_passed"] == 3  # 9/10 and 2/10 answered fail the 5% rule
    assert thirty["summary"]["loss"] == pytest.approx(0.1 / 3)  # 0, 0.1 and 0.8 trimmed to 0, 0, 0.1
    assert report["peak"]["peak_hz"] == 80.0 and report["peak"]["vs_detector_alone"] == pytest.approx(0.8)
    assert [trial["passed"] for trial in report["peak"]["trials"]] == [False, True]
    assert report["host"]["cpus_logical"] and report["graph"]["parameters"] == {"num_threads": 1}
    assert "num_threads:=1" in report["graph"]["node_commands"][0]


def test_markdown_names_the_host_the_peak_and_every_rate(result):
    report = build_report(result, describe_host())
    text = markdown(report)
    assert str(report["host"]["cpu_model"] or "unknown CPU") in text
    assert "**Peak rate: 80.0 Hz per camera** (0.80x the Detector alone)" in text
    assert "| 10.0 | 10.0 | 0.0% | 12.0 / " in text
    assert text.count("| pass |") == 1


def test_report_files_and_small_plots_are_written(result, tmp_path):
    from ssd_ros.benchmark.plots import write_plots

    report = build_report(result, describe_host())
    paths = write_report(report, tmp_path) + write_plots(report, tmp_path)
    assert [path.name for path in paths] == ["benchmark.json", "benchmark.md", "latency.png", "throughput.png"]
    assert json.loads(paths[0].read_text())["peak"]["peak_hz"] == 80.0
    for png in paths[2:]:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size < 100_000
