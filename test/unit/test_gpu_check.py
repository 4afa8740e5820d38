"""tools/gpu_check.py (`make gpu-check`) pieces that run without a GPU: arguments, the detection
comparison and its tolerances, the one-line JSON report, and the fast failure on a machine without
a GPU (this one), before anything is installed."""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "tools" / "gpu_check.py")
assert _spec is not None and _spec.loader is not None
gpu_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gpu_check)

SCENE = [{"class_id": 1, "score": 0.9, "bbox": [10.0, 10.0, 110.0, 90.0]},
         {"class_id": 2, "score": 0.7, "bbox": [200.0, 50.0, 260.0, 130.0]},
         {"class_id": 3, "score": 0.6, "bbox": [300.0, 300.0, 400.0, 420.0]},
         {"class_id": 1, "score": 0.8, "bbox": [500.0, 20.0, 600.0, 120.0]},
         {"class_id": 4, "score": 0.5, "bbox": [50.0, 300.0, 120.0, 380.0]}]


def moved(detections: list[dict], dx: float = 0.0, dscore: float = 0.0) -> list[dict]:
    return [{**d, "score": d["score"] + dscore, "bbox": [d["bbox"][0] + dx, d["bbox"][1], d["bbox"][2] + dx,
                                                          d["bbox"][3]]} for d in detections]


def test_arguments():
    assert gpu_check.parse_args([]).majors == ["10", "11"]
    assert gpu_check.parse_args(["--tensorrt", "11"]).majors == ["11"]
    for bad in (["--tensorrt", "9"], ["--tensorrt", ","], ["--deadline-s", "0"]):
        with pytest.raises(SystemExit):
            gpu_check.parse_args(bad)


def test_comparison_tolerances_per_precision():
    assert gpu_check.compare_detections(SCENE, SCENE, "fp32")["ok"]
    slightly = moved(SCENE, dx=2.0, dscore=0.02)  # IoU ~0.96-0.97, score +0.02: fine for fp16, not fp32
    assert gpu_check.compare_detections(SCENE, slightly, "fp16")["ok"]
    assert not gpu_check.compare_detections(SCENE, slightly, "fp32")["ok"]
    one_missing = SCENE[:-1]
    assert not gpu_check.compare_detections(SCENE, one_missing, "fp16")["ok"]
    report = gpu_check.compare_detections(SCENE, one_missing, "int8")
    assert report["ok"] and report["matched_fraction"] == 0.8, "INT8 may lose one detection in five"
    wrong_class = [{**SCENE[0], "class_id": 2}, *SCENE[1:]]
    assert gpu_check.compare_detections(SCENE, wrong_class, "int8")["matched_fraction"] == 0.8
    extra = [*SCENE, {"class_id": 3, "score": 0.95, "bbox": [0.0, 0.0, 30.0, 30.0]}]
    assert not gpu_check.compare_detections(SCENE, extra, "fp32")["ok"]
    near_threshold = [{"class_id": 1, "score": gpu_check.SCORE_THRESHOLD + 0.005, "bbox": [0.0, 0.0, 9.0, 9.0]}]
    assert gpu_check.compare_detections(near_threshold, [], "fp32")["ok"], "may fall on either side of the threshold"
    assert gpu_check.iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(1 / 3)


def test_report_is_one_json_line_and_ok_only_when_every_check_passed():
    started = time.monotonic()
    line = gpu_check.summary([{"name": "a", "ok": True}, {"name": "b", "ok": False}], {"x": 1.234}, started)
    assert "\n" not in line
    document = json.loads(line)
    assert (document["ok"], document["failed"], document["timings_s"]) == (False, ["b"], {"x": 1.23})
    assert json.loads(gpu_check.summary([{"name": "a", "ok": True}], {}, started))["ok"] is True
    assert json.loads(gpu_check.summary([], {}, started, error="why"))["ok"] is False


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has nvidia-smi: run make gpu-check")
def test_without_a_gpu_it_stops_at_once_with_one_clear_line(tmp_path):
    work = tmp_path / "work"
    started = time.monotonic()
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "gpu_check.py"), "--work-dir", str(work)],
                            capture_output=True, text=True, timeout=60)
    assert time.monotonic() - started < 20
    assert result.returncode == 2 and len(result.stdout.strip().splitlines()) == 1
    document = json.loads(result.stdout)
    assert document["ok"] is False and "no NVIDIA GPU" in document["error"] and "nvidia-smi" in document["error"]
    assert not work.exists(), "nothing is created or installed before the GPU is found"
