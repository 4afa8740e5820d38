"""Metrics: golden values on hand-made cases, both COCOeval engines equal, the pycocotools fallback, the CLI.

Every golden case runs through faster-coco-eval and pycocotools (``evaluate_both``), which must agree on
every metric; so must they on randomized cases (many detections, several classes, difficult boxes, empty
images, tied scores, more than 100 detections per image) and on the default model on synthetic scenes.
"""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from ssd_ros.eval import metrics as metrics_module
from ssd_ros.eval.metrics import ImageDetections, ImageGroundTruth, coco_engine, evaluate

CLASSES = ("cat", "dog")
TRUTH = [ImageGroundTruth(np.array([[10, 10, 50, 50], [60, 60, 100, 100]], np.float32), np.array([0, 1])),
         ImageGroundTruth(np.array([[0, 0, 40, 80]], np.float32), np.array([0]))]


def found(boxes, scores, classes) -> ImageDetections:
    return ImageDetections(np.array(boxes, np.float32).reshape(-1, 4), np.array(scores, np.float32),
                           np.array(classes))


def assert_same_metrics(result, reference) -> None:
    """Every metric the project reports equal to 1e-12; counts and rounded curves exactly."""
    ours, theirs = dataclasses.asdict(result), dataclasses.asdict(reference)
    for field in ("map", "map_50", "map_75", "map_voc07"):
        assert ours[field] == pytest.approx(theirs[field], abs=1e-12, rel=0), field
    for field in ("ap_50_per_class", "ap_per_class", "ar_per_class", "ap_voc07_per_class"):
        assert ours[field] == pytest.approx(theirs[field], abs=1e-12, rel=0), field
    for field in ("images", "ground_truth_boxes", "detections", "precision_at_recall"):
        assert ours[field] == theirs[field], field


def evaluate_both(truth, detections, classes):
    result = evaluate(truth, detections, classes, engine="faster-coco-eval")
    assert_same_metrics(result, evaluate(truth, detections, classes, engine="pycocotools"))
    return result


def test_perfect_detections_score_one():
    detections = [found(t.boxes, [0.9] * len(t.boxes), t.class_indices) for t in TRUTH]
    result = evaluate_both(TRUTH, detections, CLASSES)
    assert result.map == pytest.approx(1.0) and result.map_50 == pytest.approx(1.0)
    assert result.ap_50_per_class == {"cat": pytest.approx(1.0), "dog": pytest.approx(1.0)}


def test_loose_boxes_pass_at_half_iou_but_not_at_075():
    # each box shifted so IoU with its truth is 0.6: a hit at IoU 0.5, a miss at 0.75
    detections = [found([[10, 10, 76, 50], [60, 60, 126, 100]], [0.9, 0.8], [0, 1]),
                  found([[0, 0, 66, 80]], [0.7], [0])]
    result = evaluate_both(TRUTH, detections, CLASSES)
    assert result.map_50 == pytest.approx(1.0) and result.map_75 == pytest.approx(0.0)


def test_a_missed_class_and_a_false_alarm():
    detections = [found([[10, 10, 50, 50], [200, 200, 220, 220]], [0.9, 0.95], [0, 0]),
                  found([[0, 0, 40, 80]], [0.8], [0])]
    result = evaluate_both(TRUTH, detections, CLASSES)
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
    result = evaluate_both(TRUTH, detections, CLASSES)
    assert result.ap_voc07_per_class["cat"] == pytest.approx((6 + 5 * 2 / 3) / 11)
    assert result.ap_50_per_class["cat"] == pytest.approx((51 + 50 * 2 / 3) / 101)
    assert result.ap_voc07_per_class["dog"] == pytest.approx(1.0)
    assert result.map_voc07 == pytest.approx(((6 + 5 * 2 / 3) / 11 + 1) / 2)
    assert result.ar_per_class == {"cat": pytest.approx(1.0), "dog": pytest.approx(1.0)}
    curve = result.precision_at_recall["cat"]
    assert len(curve) == 101 and curve[50] == pytest.approx(1.0) and curve[51] == pytest.approx(2 / 3, abs=1e-6)


def test_a_class_without_ground_truth_has_no_curve_and_stays_out_of_the_means():
    detections = [found(t.boxes, [0.9] * len(t.boxes), t.class_indices) for t in TRUTH]
    result = evaluate_both(TRUTH, detections, (*CLASSES, "bird"))
    assert result.precision_at_recall["bird"] == [] and result.ap_voc07_per_class["bird"] == 0.0
    assert result.map_voc07 == pytest.approx(1.0) and result.map == pytest.approx(1.0)


def test_half_the_boxes_missed_gives_recall_one_half():
    detections = [found([[10, 10, 50, 50]], [0.9], [0]), found([], [], [])]
    result = evaluate_both(TRUTH, detections, CLASSES)
    assert result.ar_per_class == {"cat": pytest.approx(0.5), "dog": pytest.approx(0.0)}


def random_case(seed: int, images: int = 40, classes: int = 4):
    """Detections near the truth (its class, higher scores) and far from it (any class), tied scores,
    difficult boxes, images without truth or without detections, one image past maxDets (150 of a class)."""
    rng = np.random.default_rng(seed)
    truths, detections = [], []
    for image in range(images):
        count = 0 if image % 9 == 0 else int(rng.integers(1, 9))
        corners = rng.uniform(0, 280, (count, 2))
        boxes = np.concatenate([corners, corners + rng.uniform(4, 120, (count, 2))], axis=1)
        truth_classes = rng.integers(0, classes, count)
        truths.append(ImageGroundTruth(boxes, truth_classes, rng.random(count) < 0.15))
        found_count = 0 if image % 11 == 5 else 150 if image % 13 == 7 else int(rng.integers(1, 100))
        near = rng.random(found_count) < (0.4 if count else 0)
        of_truth = rng.integers(0, max(count, 1), found_count)
        guesses = rng.uniform(0, 280, (found_count, 4))
        if count:
            guesses[near] = boxes[of_truth[near]] + rng.normal(0, 6, (int(near.sum()), 4))
        guesses[:, 2:] = np.maximum(guesses[:, 2:], guesses[:, :2] + 1)
        labels = rng.integers(0, classes, found_count)
        if count:
            labels[near] = truth_classes[of_truth[near]]
        if image % 13 == 7:
            labels[:] = 0
        scores = np.round(np.where(near, 0.4 + 0.6 * rng.random(found_count), 0.7 * rng.random(found_count)), 2)
        detections.append(ImageDetections(guesses, scores, labels))  # scores rounded: ties on purpose
    return truths, detections


CLASSES_RANDOM = ("a", "b", "c", "d", "never_in_truth")


@pytest.mark.parametrize("seed", range(4))
def test_engines_agree_on_randomized_cases(seed):
    truths, detections = random_case(seed)
    result = evaluate_both(truths, detections, CLASSES_RANDOM)
    assert 0.05 < result.map < 0.95 and result.detections > 1000  # a real, mixed case


def test_engines_differ_only_in_pycocotools_precision_epsilon():
    """Raw COCOeval arrays: matches, recall and scores bit for bit; precision too, once pycocotools'
    tp / (tp + fp + 2**-52) after a single true positive (1 - 2**-52) is read as faster-coco-eval's 1."""
    truths, detections = random_case(0)
    dataset, results = metrics_module._to_coco(truths, detections, CLASSES_RANDOM)
    fast, reference = (metrics_module._run_cocoeval(coco_engine(name), dataset, results).eval
                       for name in ("faster-coco-eval", "pycocotools"))
    for key in ("recall", "scores"):
        assert np.array_equal(np.asarray(fast[key]), reference[key]), key
    one_after_epsilon = 1 / (1 + np.spacing(1))
    assert (reference["precision"] == one_after_epsilon).any(), "the case should show the known difference"
    assert np.array_equal(np.asarray(fast["precision"]),
                          np.where(reference["precision"] == one_after_epsilon, 1.0, reference["precision"]))


def test_engines_agree_on_the_default_model_on_synthetic_scenes(synthetic_dataset, detector, postprocess,
                                                                direct_metrics, monkeypatch):
    """The dataset the bag round trips are checked against: its direct metrics are pycocotools' too."""
    from ssd_ros.datasets import load_dataset
    from ssd_ros.eval import dataset as dataset_evaluation

    inputs = []
    monkeypatch.setattr(dataset_evaluation, "evaluate", lambda *args: inputs.append(args) or evaluate(*args))
    dataset_evaluation.evaluate_on_dataset(detector, load_dataset(synthetic_dataset, "voc"), postprocess)
    result = evaluate_both(*inputs[0])
    assert result == direct_metrics and result.engine.startswith("faster-coco-eval ")


def test_without_faster_coco_eval_pycocotools_computes_the_same(monkeypatch):
    from ssd_ros.eval.report import metrics_dict

    truths, detections = random_case(1)
    fast = evaluate(truths, detections, CLASSES_RANDOM)
    assert fast.engine == f"faster-coco-eval {metrics_module.importlib.metadata.version('faster-coco-eval')}"
    monkeypatch.setitem(sys.modules, "faster_coco_eval", None)  # as on a machine without its wheel
    with pytest.raises(ImportError):
        coco_engine("faster-coco-eval")
    fallback = evaluate(truths, detections, CLASSES_RANDOM)
    assert fallback.engine.startswith("pycocotools ") and metrics_dict(fallback)["engine"] == fallback.engine
    assert_same_metrics(fast, fallback)


def test_f1_best_thresholds_golden_values_and_the_params_file_the_node_takes(tmp_path):
    """cat as above: F1 is 2/3 at recall .5 (precision 1) and 0.8 at recall 1 (precision 2/3), reached by the
    0.7 detection: the threshold keeps it with the node's strict `score >` test. dog: one hit at 0.95."""
    import yaml

    from ssd_ros.eval.thresholds import write_thresholds
    from ssd_ros.ros.params import class_thresholds

    detections = [found([[10, 10, 50, 50], [200, 200, 240, 240], [60, 60, 100, 100]], [0.9, 0.8, 0.95], [0, 0, 1]),
                  found([[0, 0, 40, 80]], [0.7], [0])]
    result = evaluate_both(TRUTH, detections, CLASSES)
    assert result.f1_best["cat"] == {"score_threshold": 0.6999, "f1": 0.8, "precision": 0.6667, "recall": 1.0}
    assert result.f1_best["dog"] == {"score_threshold": 0.9499, "f1": 1.0, "precision": 1.0, "recall": 1.0}
    write_thresholds(tmp_path / "thresholds.yaml", result, "a golden case")
    document = yaml.safe_load((tmp_path / "thresholds.yaml").read_text())
    entries = document["/**"]["ros__parameters"]["class_score_thresholds"]
    assert entries == ["cat=0.6999", "dog=0.9499"]
    labels = ("background", "cat", "dog")
    assert class_thresholds(entries, labels, 0) == ((1, 0.6999), (2, 0.9499))
