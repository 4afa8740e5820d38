"""Detection metrics through pycocotools' COCOeval: COCO mAP@[.5:.95], mAP@.5, mAP@.75, per-class AP.

Contract: ground truth and detections are per image, boxes x1, y1, x2, y2 in pixels, class
indices into ``class_names`` (no background). Ground-truth boxes marked difficult are ignored
as VOC does: they become COCO "iscrowd" boxes, which pycocotools matches without counting them
as misses or their detections as false positives. Images without ground truth still count their
detections as false positives.
"""
from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass

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


def _to_coco(ground_truth: Sequence[ImageGroundTruth], detections: Sequence[ImageDetections],
             class_names: Sequence[str]) -> tuple[dict, list[dict]]:
    images, annotations, results = [], [], []
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


def evaluate(ground_truth: Sequence[ImageGroundTruth], detections: Sequence[ImageDetections],
             class_names: Sequence[str]) -> EvaluationResult:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if len(ground_truth) != len(detections):
        raise ValueError(f"{len(ground_truth)} ground-truth images but {len(detections)} detection lists")
    dataset, results = _to_coco(ground_truth, detections, class_names)
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        truth = COCO()
        truth.dataset = dataset
        truth.createIndex()
        found = truth.loadRes(results) if results else COCO()
        evaluator = COCOeval(truth, found, iouType="bbox")
        evaluator.params.maxDets = [1, 10, 100]
        if results:
            evaluator.evaluate()
            evaluator.accumulate()
            evaluator.summarize()
    if not results:
        zeros = {name: 0.0 for name in class_names}
        return EvaluationResult(0.0, 0.0, 0.0, zeros, zeros, len(ground_truth), len(dataset["annotations"]), 0)
    precision = evaluator.eval["precision"]  # [iou, recall, class, area, maxdets]

    def class_ap(class_position: int, iou_index: slice | int) -> float:
        values = precision[iou_index, :, class_position, 0, -1]
        values = values[values > -1]
        return float(values.mean()) if values.size else 0.0

    return EvaluationResult(
        map=float(evaluator.stats[0]), map_50=float(evaluator.stats[1]), map_75=float(evaluator.stats[2]),
        ap_50_per_class={name: class_ap(i, 0) for i, name in enumerate(class_names)},
        ap_per_class={name: class_ap(i, slice(None)) for i, name in enumerate(class_names)},
        images=len(ground_truth), ground_truth_boxes=len(dataset["annotations"]), detections=len(results),
    )
