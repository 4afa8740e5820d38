"""Value types shared by the whole pipeline.

Contract:
- ``Detections``: the detections of one image. ``boxes`` float32 [N, 4] as x1, y1, x2, y2 in
  pixels of the image the caller passed in (x right, y down, origin at the top-left corner of the
  top-left pixel); ``scores`` float32 [N], best first; ``class_ids`` int64 [N], model class ids
  (index into ``ModelSpec.labels``; the background class never appears); ``label_names`` the label
  of each detection.
- ``PostprocessConfig``: the thresholds applied after the model; immutable so one object can be
  shared between threads and swapped whole.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class PostprocessConfig:
    score_threshold: float = 0.5
    nms_iou_threshold: float = 0.45
    max_detections: int = 100
    top_k_candidates: int = 400  # per class, before NMS
    class_allowlist: frozenset[int] | None = None  # model class ids to keep; None keeps all
    # (model class id, threshold) pairs replacing score_threshold for those classes, e.g. the F1-best
    # thresholds `ssd-ros eval --write-thresholds` measured
    class_score_thresholds: tuple[tuple[int, float], ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.score_threshold <= 1.0:
            raise ValueError(f"score_threshold must be within [0, 1], got {self.score_threshold}")
        for class_id, threshold in self.class_score_thresholds:
            if not 0.0 <= threshold <= 1.0 or class_id < 0:
                raise ValueError(f"class {class_id}: score threshold must be within [0, 1], got {threshold}")

    def thresholds(self, num_classes: int) -> np.ndarray:
        """The score threshold of every model class id [num_classes]."""
        values = np.full(num_classes, self.score_threshold, np.float32)
        for class_id, threshold in self.class_score_thresholds:
            if class_id < num_classes:
                values[class_id] = threshold
        return values
        if not 0.0 <= self.nms_iou_threshold <= 1.0:
            raise ValueError(f"nms_iou_threshold must be within [0, 1], got {self.nms_iou_threshold}")
        if self.max_detections < 1 or self.top_k_candidates < 1:
            raise ValueError("max_detections and top_k_candidates must be at least 1")


@dataclass(frozen=True)
class Detections:
    boxes: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    image_width: int
    image_height: int
    label_names: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @classmethod
    def empty(cls, image_width: int, image_height: int) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64),
                   image_width, image_height, ())

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "width": self.image_width,
            "height": self.image_height,
            "detections": [
                {"class_id": int(class_id), "label": label, "score": round(float(score), 6),
                 "bbox": [round(float(value), 3) for value in box]}
                for box, score, class_id, label in zip(self.boxes, self.scores, self.class_ids,
                                                       self.label_names, strict=True)
            ],
        }
