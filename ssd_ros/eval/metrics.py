"""Detection metrics through COCOeval: COCO mAP@[.5:.95], mAP@.5, mAP@.75, per-class AP and AR, VOC07
11-point AP and per-class precision-recall curves.

Engine: faster-coco-eval's COCOeval_faster (pycocotools' algorithm with matching and accumulation in
C++) when it is importable, else pycocotools' COCOeval; ``evaluate(..., engine=NAME)`` asks for one of
``ENGINES``, and ``EvaluationResult.engine`` names the one used, with its version. Their matches, recalls
and scores are identical; precision differs in one place only: pycocotools computes tp / (tp + fp +
2**-52), faster-coco-eval tp / (tp + fp), which is the same double except after a single detection,
where pycocotools gives 1 - 2**-52 instead of 1, so every metric agrees to a few 1e-16
(test/eval/test_metrics.py checks both engines on every case).

Contract: ground truth and detections are per image, boxes x1, y1, x2, y2 in pixels, class
indices into ``class_names`` (no background). Ground-truth boxes marked difficult are ignored
as VOC does: they become COCO "iscrowd" boxes, which pycocotools matches without counting them
as misses or their detections as false positives. Images without ground truth still count their
detections as false positives.

Everything comes from one COCOeval run (maxDets 100, all areas): AR is the mean recall over IoU
.5:.95; the precision-recall curve of a class is COCOeval's interpolated precision at IoU .5 on
``RECALL_POINTS`` (precision at recall r = the best precision at any recall >= r, 0 when r is never
reached); VOC07 AP is the mean of that curve at recall 0, .1, ..., 1 (the VOC2007 11-point rule on
COCOeval's greedy matching). A class without ground truth has AP/AR 0 and an empty curve, and is
left out of the means, as COCOeval does.
"""
from __future__ import annotations

import contextlib
import importlib.metadata
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ImageGroundTruth:
    boxes: np.ndarray
    class_indices: np.ndarray
    difficult: np.ndarray | None = None


@dataclass(frozen=True)
class ImageDetections:
    boxes: np.ndarray
    scores: np.ndarray
    class_indices: np.ndarray


@dataclass(frozen=True)
class EvaluationResult:
    map: float  # COCO mAP@[.5:.95]
    map_50: float
    map_75: float
    ap_50_per_class: dict[str, float]
    ap_per_class: dict[str, float]
    images: int
    ground_truth_boxes: int
    detections: int
    ar_per_class: dict[str, float]  # mean recall over IoU .5:.95, at most 100 detections per image
    ap_voc07_per_class: dict[str, float]  # 11-point interpolated AP at IoU .5
    map_voc07: float
    precision_at_recall: dict[str, list[float]]  # IoU .5 precision at RECALL_POINTS; [] without ground truth
    engine: str  # the COCOeval that computed them and its version, e.g. "faster-coco-eval 1.8.0"
    # per class with ground truth: the operating point of highest F1 at IoU .5 (see best_f1_points)
    f1_best: dict[str, dict[str, float]] = field(default_factory=dict)


RECALL_POINTS = tuple(round(0.01 * index, 2) for index in range(101))  # COCOeval's recall thresholds
_VOC07_POINTS = slice(0, 101, 10)  # recall 0, .1, ..., 1 among RECALL_POINTS
ENGINES = ("faster-coco-eval", "pycocotools")  # in order of preference


@dataclass(frozen=True)
class _Engine:
    name: str
    coco: type  # COCO: the dataset index
    cocoeval: type  # COCOeval: evaluate(), accumulate(), summarize(); eval["precision"], eval["recall"], stats
    options: dict[str, Any]  # extra COCOeval keyword arguments

    @property
    def label(self) -> str:
        return f"{self.name} {importlib.metadata.version(self.name)}"


def _load_engine(name: str) -> _Engine:
    if name == "faster-coco-eval":
        from faster_coco_eval import COCO, COCOeval_faster

        return _Engine(name, COCO, COCOeval_faster, {"print_function": lambda *args, **kwargs: None})
    if name == "pycocotools":
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval

        return _Engine(name, COCO, COCOeval, {})
    raise ValueError(f"unknown COCO evaluation engine {name!r}: use one of {ENGINES}")


def coco_engine(name: str | None = None) -> _Engine:
    """The engine ``name``, or without a name the first of ``ENGINES`` that imports (ImportError if none)."""
    if name is not None:
        return _load_engine(name)
    try:
        return _load_engine(ENGINES[0])
    except ImportError:  # e.g. a Jetson without a faster-coco-eval wheel
        return _load_engine(ENGINES[1])


def _to_coco(ground_truth: Sequence[ImageGroundTruth], detections: Sequence[ImageDetections],
             class_names: Sequence[str]) -> tuple[dict, list[dict]]:
    images: list[dict] = []
    annotations: list[dict] = []
    results: list[dict] = []
    for image_id, truth in enumerate(ground_truth):
        images.append({"id": image_id, "width": 1, "height": 1})
        difficult = truth.difficult if truth.difficult is not None else np.zeros(len(truth.boxes), bool)
        for box, class_index, hard in zip(truth.boxes.tolist(), truth.class_indices.tolist(), difficult.tolist(),
                                          strict=True):
            x1, y1, x2, y2 = box
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": int(class_index),
                                "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1),
                                "iscrowd": int(hard)})
    for image_id, found in enumerate(detections):
        for box, score, class_index in zip(found.boxes.tolist(), found.scores.tolist(), found.class_indices.tolist(),
                                           strict=True):
            x1, y1, x2, y2 = box
            results.append({"image_id": image_id, "category_id": int(class_index),
                            "bbox": [x1, y1, x2 - x1, y2 - y1], "score": float(score)})
    categories = [{"id": index, "name": name} for index, name in enumerate(class_names)]
    return {"images": images, "annotations": annotations, "categories": categories}, results


def _run_cocoeval(engine: _Engine, dataset: dict, results: list[dict]) -> Any:
    """The engine's COCOeval (bbox, maxDets 1, 10, 100) after evaluate(), accumulate() and summarize()."""
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        truth = engine.coco()
        truth.dataset = dataset
        truth.createIndex()
        evaluator = engine.cocoeval(truth, truth.loadRes(results), iouType="bbox", **engine.options)
        evaluator.params.maxDets = [1, 10, 100]
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator


def evaluate(ground_truth: Sequence[ImageGroundTruth], detections: Sequence[ImageDetections],
             class_names: Sequence[str], engine: str | None = None) -> EvaluationResult:
    """Metrics of ``detections`` against ``ground_truth`` (one entry per image) with ``coco_engine(engine)``."""
    if len(ground_truth) != len(detections):
        raise ValueError(f"{len(ground_truth)} ground-truth images but {len(detections)} detection lists")
    chosen = coco_engine(engine)
    dataset, results = _to_coco(ground_truth, detections, class_names)
    if not results:
        zeros = {name: 0.0 for name in class_names}
        curves: dict[str, list[float]] = {name: [] for name in class_names}
        return EvaluationResult(0.0, 0.0, 0.0, zeros, zeros, len(ground_truth), len(dataset["annotations"]), 0,
                                zeros, zeros, 0.0, curves, chosen.label)
    evaluator = _run_cocoeval(chosen, dataset, results)
    precision = evaluator.eval["precision"]  # [iou, recall point, class, area, maxdets]
    recall = evaluator.eval["recall"]  # [iou, class, area, maxdets]

    def mean_valid(values: np.ndarray) -> float:
        values = values[values > -1]  # -1: the class has no ground truth
        return float(values.mean()) if values.size else 0.0

    def curve(class_position: int) -> list[float]:
        values = precision[0, :, class_position, 0, -1]
        return [] if (values < 0).all() else [round(float(value), 6) for value in values]

    scores = evaluator.eval["scores"]  # [iou, recall point, class, area, maxdets]: the score reaching that point
    voc07 = {name: mean_valid(precision[0, _VOC07_POINTS, i, 0, -1]) for i, name in enumerate(class_names)}
    with_truth = [name for i, name in enumerate(class_names) if (recall[:, i, 0, -1] > -1).any()]
    return EvaluationResult(
        map=float(evaluator.stats[0]), map_50=float(evaluator.stats[1]), map_75=float(evaluator.stats[2]),
        ap_50_per_class={name: mean_valid(precision[0, :, i, 0, -1]) for i, name in enumerate(class_names)},
        ap_per_class={name: mean_valid(precision[:, :, i, 0, -1]) for i, name in enumerate(class_names)},
        images=len(ground_truth), ground_truth_boxes=len(dataset["annotations"]), detections=len(results),
        ar_per_class={name: mean_valid(recall[:, i, 0, -1]) for i, name in enumerate(class_names)},
        ap_voc07_per_class=voc07,
        map_voc07=float(np.mean([voc07[name] for name in with_truth])) if with_truth else 0.0,
        precision_at_recall={name: curve(i) for i, name in enumerate(class_names)},
        engine=chosen.label,
        f1_best={name: point for i, name in enumerate(class_names)
                 if (point := best_f1_point(precision[0, :, i, 0, -1], scores[0, :, i, 0, -1])) is not None},
    )


def best_f1_point(precision: np.ndarray, scores: np.ndarray) -> dict[str, float] | None:
    """The point of a class's IoU .5 curve (COCOeval's interpolated precision and the detection score at
    each of RECALL_POINTS) with the highest F1; None when the class has no ground truth or no hit.

    ``score_threshold`` keeps exactly the detections down to that point with a strict ``score >``
    test (the node's): it is the point's score rounded down to 4 decimals, strictly below it.
    """
    recall = np.asarray(RECALL_POINTS)
    reached = precision > 0  # -1: no ground truth; 0: recall never reached
    if not reached.any():
        return None
    f1 = np.where(reached, 2 * precision * recall / np.maximum(precision + recall, 1e-12), -1.0)
    best = int(np.argmax(f1))
    threshold = math.floor(float(scores[best]) * 10_000 - 1e-6) / 10_000
    return {"score_threshold": max(threshold, 0.0), "f1": round(float(f1[best]), 4),
            "precision": round(float(precision[best]), 4), "recall": float(recall[best])}
