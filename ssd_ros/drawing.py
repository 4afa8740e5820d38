"""Annotated copies of frames: boxes, labels and scores drawn with OpenCV.

Contract: ``draw_detections(frame, detections, color)`` returns a new uint8 HxWx3 array in the same
channel order as ``frame`` ("rgb" or "bgr"); the input is never modified (it may be a read-only
view of a message buffer). Each class keeps one colour across frames.
"""
from __future__ import annotations

import cv2
import numpy as np

from ssd_ros.core import Detections

# Distinct RGB colours, cycled by class id.
_PALETTE_RGB = (
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
    (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255),
)


def class_colour(class_id: int, color: str) -> tuple[int, int, int]:
    red, green, blue = _PALETTE_RGB[class_id % len(_PALETTE_RGB)]
    return (red, green, blue) if color == "rgb" else (blue, green, red)


def draw_detections(frame: np.ndarray, detections: Detections, color: str = "rgb") -> np.ndarray:
    canvas = np.array(frame, dtype=np.uint8, copy=True, order="C")
    thickness = max(1, round(min(canvas.shape[:2]) / 240))
    for box, score, class_id, label in zip(detections.boxes, detections.scores, detections.class_ids,
                                           detections.label_names, strict=True):
        x1, y1, x2, y2 = (round(float(v)) for v in box)
        colour = class_colour(int(class_id), color)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, thickness)
        text = f"{label} {score:.2f}"
        (text_w, text_h), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
        top = max(y1 - text_h - baseline, 0)
        cv2.rectangle(canvas, (x1, top), (x1 + text_w, top + text_h + baseline), colour, cv2.FILLED)
        cv2.putText(canvas, text, (x1, top + text_h), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return canvas
