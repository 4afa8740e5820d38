"""Box coding and geometry, numpy only.

Contract: boxes are float arrays [..., 4]. "xyxy" is x1, y1, x2, y2; "cxcywh" is centre and size;
"yxyx" is y1, x1, y2, x2 (TensorFlow). Priors are cxcywh normalised to 0..1 of the model input.
"""
from __future__ import annotations

import math

import numpy as np

# Largest log-scale a size offset may have (torchvision's BoxCoder clamp): keeps exp() finite
# for untrained or adversarial outputs.
MAX_LOG_SCALE = math.log(1000.0 / 16)


def decode(offsets: np.ndarray, priors: np.ndarray, variances: tuple[float, float]) -> np.ndarray:
    """SSD offsets [N, 4] (dx, dy, dw, dh) against cxcywh priors [N, 4] -> xyxy boxes in the priors' units."""
    centre = offsets[:, :2] * variances[0] * priors[:, 2:] + priors[:, :2]
    size = np.exp(np.minimum(offsets[:, 2:] * variances[1], MAX_LOG_SCALE)) * priors[:, 2:]
    return np.concatenate([centre - 0.5 * size, centre + 0.5 * size], axis=1)


def to_xyxy(boxes: np.ndarray, box_format: str) -> np.ndarray:
    if box_format == "xyxy":
        return boxes
    if box_format == "yxyx":
        return boxes[..., [1, 0, 3, 2]]
    half = boxes[..., 2:] / 2
    return np.concatenate([boxes[..., :2] - half, boxes[..., :2] + half], axis=-1)


def area(boxes: np.ndarray) -> np.ndarray:
    return np.clip(boxes[..., 2] - boxes[..., 0], 0, None) * np.clip(boxes[..., 3] - boxes[..., 1], 0, None)


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one xyxy box [4] with each of ``boxes`` [M, 4]."""
    top_left = np.maximum(box[:2], boxes[:, :2])
    bottom_right = np.minimum(box[2:], boxes[:, 2:])
    overlap = np.clip(bottom_right - top_left, 0, None).prod(axis=1)
    union = area(box) + area(boxes) - overlap
    return np.where(union > 0, overlap / np.where(union > 0, union, 1), 0.0)


def iou_pairs(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """IoU of ``first[i]`` with ``second[i]`` [M], by the float operations of iou_one_to_many
    (``first`` in the role of its ``box``), so the two give equal values bit for bit."""
    top_left = np.maximum(first[:, :2], second[:, :2])
    bottom_right = np.minimum(first[:, 2:], second[:, 2:])
    overlap = np.clip(bottom_right - top_left, 0, None).prod(axis=1)
    union = area(first) + area(second) - overlap
    return np.where(union > 0, overlap / np.where(union > 0, union, 1), 0.0)


def iou_matrix(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Pairwise IoU [N, M] of xyxy boxes."""
    top_left = np.maximum(first[:, None, :2], second[None, :, :2])
    bottom_right = np.minimum(first[:, None, 2:], second[None, :, 2:])
    overlap = np.clip(bottom_right - top_left, 0, None).prod(axis=2)
    union = area(first)[:, None] + area(second)[None, :] - overlap
    return np.where(union > 0, overlap / np.where(union > 0, union, 1), 0.0)
