"""Helpers of the evaluation tests: the command line in-process, and reading its report."""
from __future__ import annotations

import json
from pathlib import Path

IMAGE_TOPIC = "/camera/image_raw"
COMPRESSED_TOPIC = "/camera/image_raw/compressed"
TRUTH_TOPIC = "/ground_truth/detections"


def run_cli(args: list[str]) -> int:
    from ssd_ros.cli import main

    return main([str(arg) for arg in args])


def eval_report(report_dir: Path, *args) -> tuple[int, dict | None]:
    """``ssd-ros eval ARGS --report report_dir``: exit code and report.json (None when not written)."""
    code = run_cli(["eval", *args, "--report", report_dir])
    report = report_dir / "report.json"
    return code, json.loads(report.read_text()) if report.is_file() else None


def assert_frames_accounted(report: dict) -> None:
    frames = report["frames"]
    assert frames["read"] == frames["evaluated"] + frames["unmatched"] + frames["unreadable"], frames
    truth = report["ground_truth"]
    assert sum(truth["outcomes"].values()) == truth["records"], truth
