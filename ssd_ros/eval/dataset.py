"""Evaluate a model on a labelled dataset with the same Detector the node runs.

Contract: detections come from ``Detector.detect`` on each image (BGR as read from disk) with the
given PostprocessConfig; model class ids are mapped to dataset classes by label name, so a model
whose labels are [background, a, b] evaluates on a dataset with classes (a, b) or (b, a) alike.
Ground-truth boxes are checked against their image's size first (truth_boxes.py): problems are
counted in ``DatasetEvaluation.problems`` (the CLI warns), and DatasetError says so when boxes were
given but none is left to score. Returns COCOeval metrics (see metrics.py) and the mean detector time per image.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from ssd_ros.core import Detector, PostprocessConfig
from ssd_ros.datasets import DatasetError, DetectionDataset
from ssd_ros.eval.evaluation import Evaluation
from ssd_ros.eval.metrics import EvaluationResult, ImageDetections, ImageGroundTruth, evaluate
from ssd_ros.eval.truth_boxes import check_boxes
from ssd_ros.ros.params import evaluation_values


@dataclass(frozen=True)
class DatasetEvaluation:
    metrics: EvaluationResult
    mean_detect_ms: float
    problems: dict[str, int] = field(default_factory=dict)  # ground-truth box problems, counted
    boxes_given: int = 0
    boxes_evaluated: int = 0
    # detections of model classes the dataset does not have: not scored, counted by label
    other_detections: dict[str, int] = field(default_factory=dict)

    def as_evaluation(self, source: dict[str, Any], classes: tuple[str, ...]) -> Evaluation:
        """The report form (evaluation.py): the same layout as a bag evaluation's, mode "dataset"."""
        images = self.metrics.images
        warnings = [f"ground-truth problems: {self.problems}"] if self.problems else []
        if self.other_detections:
            warnings.append(f"detections of classes the dataset does not have were not scored: "
                            f"{self.other_detections}")
        return Evaluation(
            mode="dataset", source=source,
            frames={"read": images, "evaluated": images, "unmatched": 0, "unreadable": 0,
                    "evaluated_without_output": 0},
            unreadable_examples=[],
            ground_truth={"source": source["data"], "boxes_given": self.boxes_given,
                          "boxes_evaluated": self.boxes_evaluated, "problems": self.problems},
            detections={"evaluated": self.metrics.detections, "of_classes_not_in_ground_truth": self.other_detections},
            classes=classes, metrics=self.metrics, metrics_frames_with_output=None,
            mode_report={"mean_detect_ms": round(self.mean_detect_ms, 3),
                         "frames_per_second": round(1e3 / self.mean_detect_ms, 2) if self.mean_detect_ms else None},
            warnings=warnings)


def evaluate_on_dataset(detector: Detector, dataset: DetectionDataset,
                        post: PostprocessConfig | None = None) -> DatasetEvaluation:
    evaluation = evaluation_values()
    post = post or PostprocessConfig(score_threshold=evaluation["score_threshold"],
                                     max_detections=evaluation["max_detections"])
    unknown = [name for name in dataset.class_names if name not in detector.spec.labels]
    if unknown:
        raise DatasetError(f"the model does not know the dataset classes {unknown}; "
                           f"its labels are {list(detector.spec.labels)}")
    to_dataset = np.full(len(detector.spec.labels), -1, np.int64)
    for index, name in enumerate(dataset.class_names):
        to_dataset[detector.spec.labels.index(name)] = index
    truths, found, times = [], [], []
    problems: Counter = Counter()
    other: Counter[str] = Counter()
    for annotation in dataset:
        image = cv2.imread(str(annotation.image_path), cv2.IMREAD_COLOR)
        if image is None:
            raise DatasetError(f"cannot read image {annotation.image_path}")
        started = time.perf_counter()
        detections = detector.detect(image, "bgr", post)
        times.append((time.perf_counter() - started) * 1e3)
        classes = to_dataset[detections.class_ids]
        keep = classes >= 0  # model classes the dataset does not have are not scored (but counted)
        other.update(detector.spec.labels[class_id] for class_id in detections.class_ids[~keep])
        checked = check_boxes(annotation.boxes, annotation.width or image.shape[1], annotation.height or image.shape[0])
        problems.update(checked.problems)
        truths.append(ImageGroundTruth(checked.boxes, annotation.class_indices[checked.keep],
                                       np.asarray(annotation.difficult, bool)[checked.keep]))
        found.append(ImageDetections(detections.boxes[keep], detections.scores[keep], classes[keep]))
    if not truths:
        raise DatasetError("the dataset has no images to evaluate")
    given = sum(len(annotation.boxes) for annotation in dataset)
    if given and not sum(int((~np.asarray(truth.difficult, bool)).sum()) for truth in truths):
        raise DatasetError(f"no ground-truth box of the {len(truths)} images can be scored, so mAP is undefined "
                           f"(problems: {dict(problems) or 'none'}); fix the annotations "
                           "(`ssd-ros dataset check` lists them)")
    return DatasetEvaluation(evaluate(truths, found, dataset.class_names), float(np.mean(times)), dict(problems),
                             boxes_given=given, boxes_evaluated=sum(len(truth.boxes) for truth in truths),
                             other_detections=dict(other))
