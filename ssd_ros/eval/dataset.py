"""Evaluate a model on a labelled dataset with the same Detector the node runs.

Contract: detections come from ``Detector.detect`` on each image (BGR as read from disk) with the
given PostprocessConfig; model class ids are mapped to dataset classes by label name, so a model
whose labels are [background, a, b] evaluates on a dataset with classes (a, b) or (b, a) alike.
Returns pycocotools metrics (see metrics.py) and the mean detector time per image.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from ssd_ros.core import Detector, PostprocessConfig
from ssd_ros.datasets import DatasetError, DetectionDataset
from ssd_ros.eval.metrics import EvaluationResult, ImageDetections, ImageGroundTruth, evaluate


@dataclass(frozen=True)
class DatasetEvaluation:
    metrics: EvaluationResult
    mean_detect_ms: float


def evaluate_on_dataset(detector: Detector, dataset: DetectionDataset,
                        post: PostprocessConfig | None = None) -> DatasetEvaluation:
    post = post or PostprocessConfig(score_threshold=0.01, max_detections=100)
    unknown = [name for name in dataset.class_names if name not in detector.spec.labels]
    if unknown:
        raise DatasetError(f"the model does not know the dataset classes {unknown}; "
                           f"its labels are {list(detector.spec.labels)}")
    to_dataset = np.full(len(detector.spec.labels), -1, np.int64)
    for index, name in enumerate(dataset.class_names):
        to_dataset[detector.spec.labels.index(name)] = index
    truths, found, times = [], [], []
    for annotation in dataset:
        image = cv2.imread(str(annotation.image_path), cv2.IMREAD_COLOR)
        if image is None:
            raise DatasetError(f"cannot read image {annotation.image_path}")
        started = time.perf_counter()
        detections = detector.detect(image, "bgr", post)
        times.append((time.perf_counter() - started) * 1e3)
        classes = to_dataset[detections.class_ids]
        keep = classes >= 0  # model classes the dataset does not have are not scored
        truths.append(ImageGroundTruth(annotation.boxes, annotation.class_indices, annotation.difficult))
        found.append(ImageDetections(detections.boxes[keep], detections.scores[keep], classes[keep]))
    return DatasetEvaluation(evaluate(truths, found, dataset.class_names), float(np.mean(times)))
