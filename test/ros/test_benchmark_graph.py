"""``ssd-ros benchmark`` for real: player process, detector node and monitor over DDS, a few seconds at a low rate."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.ros, pytest.mark.slow]


def test_a_short_benchmark_answers_every_frame_and_writes_its_report(tmp_path, ros_domain):
    output = tmp_path / "report"
    process = subprocess.run(
        [sys.executable, "-m", "ssd_ros.cli", "benchmark", "--rates", "5", "--runs", "1", "--drop", "0",
         "--seconds", "2", "--peak-min", "2", "--peak-max", "6", "--peak-seconds", "1.5", "--peak-trials", "2",
         "--detector-seconds", "0.5", "--output", str(output)],
        capture_output=True, text=True, timeout=400)
    assert process.returncode == 0, process.stdout + process.stderr
    report = json.loads((output / "benchmark.json").read_text())
    (fixed,) = report["fixed_rates"]
    (run,) = fixed["runs"]
    assert run["sent"] >= 8 and run["answered"] == run["sent"], run  # at 5 Hz the node answers every frame
    assert 0 < run["latency_ms"]["p50"] <= run["latency_ms"]["p99"]
    assert run["node_cpu_s"] is not None and run["node_cpu_s"] > 0
    assert report["peak"]["trials"] and report["peak"]["trials"][0]["offered_hz"] == 6.0
    assert report["peak"]["peak_hz"] <= 6.0
    assert report["detector_alone"]["frames"] > 0 and report["host"]["cpus_logical"] >= 1
    assert "Peak rate" in (output / "benchmark.md").read_text() and "Peak rate" in process.stdout
    assert (output / "latency.png").stat().st_size > 0 and (output / "throughput.png").stat().st_size > 0
    assert "active:" in (output / "logs" / "ssd_ros_benchmark_detector.log").read_text()
