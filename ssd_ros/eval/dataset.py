"""Evaluate a model on a labelled dataset with the same Detector the node runs.

Contract: detections come from ``Detector.detect`` on each image (BGR as read from disk) with the
given PostprocessConfig; model class ids are mapped to dataset classes by label name, so a model
whose labels are [background, a, b] evaluates on a dataset with classes (a, b) or (b, a) alike.
Ground-truth boxes are checked against their image's size first (truth_boxes.py): problems are
counted in ``DatasetEvaluation.problems`` (the CLI warns), and DatasetError says so when boxes were
given but none is left to score. Returns COCOeval metrics (see metrics.py), the mean detector time per image
and the frames per second of the whole loop (reading and detection). ``workers`` > 1 detects that many
images at once where the backend runs concurrently (as offline bag evaluation does, offline.py); the
detections do not depend on it.
"""
from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from ssd_ros.core import Detections, Detector, PostprocessConfig
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
    frames_per_second: float = 0.0  # the whole loop: reading and detection
    frames_at_once: int = 1

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
                         "frames_per_second": round(self.frames_per_second, 2),
                         "frames_at_once": self.frames_at_once},
            warnings=warnings)


def _detected(detector: Detector, dataset: DetectionDataset, post: PostprocessConfig,
              workers: int) -> Iterator[tuple[Any, np.ndarray, Detections, float]]:
    """(annotation, image, detections, detection ms) in dataset order, ``workers`` images in flight."""
    def detect(image: np.ndarray) -> tuple[Detections, float]:
        started = time.perf_counter()
        detections = detector.detect(image, "bgr", post)
        return detections, (time.perf_counter() - started) * 1e3

    def finished(pending: tuple) -> tuple[Any, np.ndarray, Detections, float]:
        annotation, image, detecting = pending
        return (annotation, image, *detecting.result())

    in_flight: deque = deque()
    with ThreadPoolExecutor(workers) as pool:
        for annotation in dataset:
            image = cv2.imread(str(annotation.image_path), cv2.IMREAD_COLOR)
            if image is None:
                raise DatasetError(f"cannot read image {annotation.image_path}")
            in_flight.append((annotation, image, pool.submit(detect, image)))
            while len(in_flight) > workers:  # bounded: a large dataset is not held in memory
                yield finished(in_flight.popleft())
        while in_flight:
            yield finished(in_flight.popleft())


def evaluate_on_dataset(detector: Detector, dataset: DetectionDataset,
                        post: PostprocessConfig | None = None, workers: int = 1) -> DatasetEvaluation:
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
    workers = max(1, workers) if detector.backend.concurrent_runs else 1
    started = time.perf_counter()
    for annotation, image, detections, detect_ms in _detected(detector, dataset, post, workers):
        times.append(detect_ms)
        classes = to_dataset[detections.class_ids]
        keep = classes >= 0  # model classes the dataset does not have are not scored (but counted)
        other.update(detector.spec.labels[class_id] for class_id in detections.class_ids[~keep])
        checked = check_boxes(annotation.boxes, annotation.width or image.shape[1], annotation.height or image.shape[0])
        problems.update(checked.problems)
        truths.append(ImageGroundTruth(checked.boxes, annotation.class_indices[checked.keep],
                                       np.asarray(annotation.difficult, bool)[checked.keep]))
        found.append(ImageDetections(detections.boxes[keep], detections.scores[keep], classes[keep]))
    elapsed = time.perf_counter() - started
    if not truths:
        raise DatasetError("the dataset has no images to evaluate")
    given = sum(len(annotation.boxes) for annotation in dataset)
    if given and not sum(int((~np.asarray(truth.difficult, bool)).sum()) for truth in truths):
        raise DatasetError(f"no ground-truth box of the {len(truths)} images can be scored, so mAP is undefined "
                           f"(problems: {dict(problems) or 'none'}); fix the annotations "
                           "(`ssd-ros dataset check` lists them)")
    return DatasetEvaluation(evaluate(truths, found, dataset.class_names), float(np.mean(times)), dict(problems),
                             boxes_given=given, boxes_evaluated=sum(len(truth.boxes) for truth in truths),
                             other_detections=dict(other), frames_per_second=len(truths) / elapsed,
                             frames_at_once=workers)
