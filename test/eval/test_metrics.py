"""Metrics through pycocotools: golden values on hand-made cases, and the dataset/CLI path."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from ssd_ros.eval.metrics import ImageDetections, ImageGroundTruth, evaluate

CLASSES = ("cat", "dog")
TRUTH = [ImageGroundTruth(np.array([[10, 10, 50, 50], [60, 60, 100, 100]], np.float32), np.array([0, 1])),
         ImageGroundTruth(np.array([[0, 0, 40, 80]], np.float32), np.array([0]))]


def found(boxes, scores, classes) -> ImageDetections:
    return ImageDetections(np.array(boxes, np.float32).reshape(-1, 4), np.array(scores, np.float32),
                           np.array(classes))


def test_perfect_detections_score_one():
    detections = [found(t.boxes, [0.9] * len(t.boxes), t.class_indices) for t in TRUTH]
    result = evaluate(TRUTH, detections, CLASSES)
    assert result.map == pytest.approx(1.0) and result.map_50 == pytest.approx(1.0)
    assert result.ap_50_per_class == {"cat": pytest.approx(1.0), "dog": pytest.approx(1.0)}


def test_loose_boxes_pass_at_half_iou_but_not_at_075():
    # each box shifted so IoU with its truth is 0.6: a hit at IoU 0.5, a miss at 0.75
    detections = [found([[10, 10, 76, 50], [60, 60, 126, 100]], [0.9, 0.8], [0, 1]),
                  found([[0, 0, 66, 80]], [0.7], [0])]
    result = evaluate(TRUTH, detections, CLASSES)
    assert result.map_50 == pytest.approx(1.0) and result.map_75 == pytest.approx(0.0)


def test_a_missed_class_and_a_false_alarm():
    detections = [found([[10, 10, 50, 50], [200, 200, 220, 220]], [0.9, 0.95], [0, 0]),
                  found([[0, 0, 40, 80]], [0.8], [0])]
    result = evaluate(TRUTH, detections, CLASSES)
    assert result.ap_50_per_class["dog"] == pytest.approx(0.0)
    # cat: the best-scored detection is a false alarm, then two hits: AP below 1
    assert 0.5 < result.ap_50_per_class["cat"] < 1.0
    assert result.detections == 3 and result.ground_truth_boxes == 3


def test_eval_command_gates_on_min_map(shared_dir, tmp_path):
    """UltraFace on the BCCD cells finds no 'face' class: a clear error, not a silent 0."""
    command = [sys.executable, "-m", "ssd_ros.cli", "eval", "--model",
               str(shared_dir / "models" / "ultraface" / "version-RFB-320.onnx"), "--model-config",
               "models/examples/ultraface-rfb-320.yaml", "--data", str(shared_dir / "data" / "bccd" / "BCCD"),
               "--split", "test"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 2 and "does not know the dataset classes" in result.stderr


def test_voc07_ar_and_pr_curve_golden_values():
    """cat: a hit (0.9), a false alarm (0.8), a hit (0.7) over 2 cat boxes; dog: one hit of one box.

    cat precision/recall after each detection: (1, .5), (.5, .5), (2/3, 1). Interpolated precision is 1
    up to recall .5 and 2/3 above: VOC07 11-point AP = (6 * 1 + 5 * 2/3) / 11, COCO's 101-point AP@.5 =
    (51 * 1 + 50 * 2/3) / 101; every box is found at every IoU, so AR is 1.
    """
    detections = [found([[10, 10, 50, 50], [200, 200, 240, 240], [60, 60, 100, 100]], [0.9, 0.8, 0.95], [0, 0, 1]),
                  found([[0, 0, 40, 80]], [0.7], [0])]
    result = evaluate(TRUTH, detections, CLASSES)
    assert result.ap_voc07_per_class["cat"] == pytest.approx((6 + 5 * 2 / 3) / 11)
    assert result.ap_50_per_class["cat"] == pytest.approx((51 + 50 * 2 / 3) / 101)
    assert result.ap_voc07_per_class["dog"] == pytest.approx(1.0)
    assert result.map_voc07 == pytest.approx(((6 + 5 * 2 / 3) / 11 + 1) / 2)
    assert result.ar_per_class == {"cat": pytest.approx(1.0), "dog": pytest.approx(1.0)}
    curve = result.precision_at_recall["cat"]
    assert len(curve) == 101 and curve[50] == pytest.approx(1.0) and curve[51] == pytest.approx(2 / 3, abs=1e-6)


def test_a_class_without_ground_truth_has_no_curve_and_stays_out_of_the_means():
    detections = [found(t.boxes, [0.9] * len(t.boxes), t.class_indices) for t in TRUTH]
    result = evaluate(TRUTH, detections, (*CLASSES, "bird"))
    assert result.precision_at_recall["bird"] == [] and result.ap_voc07_per_class["bird"] == 0.0
    assert result.map_voc07 == pytest.approx(1.0) and result.map == pytest.approx(1.0)


def test_half_the_boxes_missed_gives_recall_one_half():
    detections = [found([[10, 10, 50, 50]], [0.9], [0]), found([], [], [])]
    result = evaluate(TRUTH, detections, CLASSES)
    assert result.ar_per_class == {"cat": pytest.approx(0.5), "dog": pytest.approx(0.0)}
