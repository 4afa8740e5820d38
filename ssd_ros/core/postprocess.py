"""From per-prior class scores and boxes to final detections: threshold, top-k, class-wise NMS.

Contract (one image):
- ``scores`` float [N, C]: class probabilities of N priors (C includes the background class);
- ``boxes`` float [N, 4] xyxy, or a callable mapping prior indices to their xyxy boxes, so that only
  candidates above the score threshold are decoded;
- a candidate is a (prior, class) pair with score > its class's threshold (score_threshold, or the
  class's entry in class_score_thresholds), class != background and in the allow-list; at most
  ``top_k_candidates`` per class (best first) go into NMS;
- NMS is greedy per class: a box is suppressed by a better box of the same class with IoU >
  nms_iou_threshold; the result is sorted by score and cut at ``max_detections``.
This is the procedure of torchvision's SSD.postprocess_detections (strict inequalities included).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ssd_ros.core.boxes import iou_one_to_many
from ssd_ros.core.types import PostprocessConfig

BoxSource = np.ndarray | Callable[[np.ndarray], np.ndarray]


def class_mask(num_classes: int, background_index: int | None, allowlist: frozenset[int] | None) -> np.ndarray:
    mask = np.ones(num_classes, bool)
    if background_index is not None:
        mask[background_index] = False
    if allowlist is not None:
        allowed = np.zeros(num_classes, bool)
        allowed[[index for index in allowlist if 0 <= index < num_classes]] = True
        mask &= allowed
    return mask


def select_candidates(scores: np.ndarray, thresholds: np.ndarray | float, classes: np.ndarray,
                      top_k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prior indices, class ids, scores) of the candidates, at most ``top_k`` per class.

    ``thresholds``: one score threshold, or one per class [C].
    """
    above = scores > (thresholds[None, :] if isinstance(thresholds, np.ndarray) else thresholds)
    above &= classes[None, :]
    prior_parts, class_parts = [], []
    for class_id in np.flatnonzero(above.any(axis=0)):
        priors = np.flatnonzero(above[:, class_id])
        if len(priors) > top_k:  # partial sort: only the top_k best matter
            priors = priors[np.argpartition(-scores[priors, class_id], top_k - 1)[:top_k]]
        prior_parts.append(priors)
        class_parts.append(np.full(len(priors), class_id))
    if not prior_parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, scores.dtype)
    priors, class_ids = np.concatenate(prior_parts), np.concatenate(class_parts)
    return priors, class_ids, scores[priors, class_ids]


def class_wise_nms(boxes: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, iou_threshold: float,
                   max_detections: int) -> np.ndarray:
    """Indices kept by greedy per-class NMS, best score first, at most ``max_detections``.

    Boxes are visited in descending score order; a kept box suppresses the later boxes of its own
    class that overlap it by more than ``iou_threshold``. Only same-class boxes are compared, so the
    cost grows with the candidates per class (bounded by top-k), not with all candidates.
    """
    if len(scores) == 0:
        return np.zeros(0, np.int64)
    order = np.argsort(-scores, kind="stable")
    sorted_boxes, sorted_classes = boxes[order], class_ids[order]
    members = {class_id: np.flatnonzero(sorted_classes == class_id) for class_id in np.unique(sorted_classes)}
    suppressed = np.zeros(len(order), bool)
    keep = []
    for position in range(len(order)):
        if suppressed[position]:
            continue
        keep.append(position)
        if len(keep) == max_detections:
            break
        same_class = members[sorted_classes[position]]
        later = same_class[np.searchsorted(same_class, position, side="right"):]
        if len(later):
            overlaps = iou_one_to_many(sorted_boxes[position], sorted_boxes[later])
            suppressed[later[overlaps > iou_threshold]] = True
    return order[np.asarray(keep, np.int64)]


def postprocess(scores: np.ndarray, boxes: BoxSource, config: PostprocessConfig,
                background_index: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Final (boxes xyxy [K, 4] float32, scores [K] float32, class ids [K] int64) of one image."""
    classes = class_mask(scores.shape[1], background_index, config.class_allowlist)
    priors, class_ids, candidate_scores = select_candidates(scores, config.thresholds(scores.shape[1]), classes,
                                                            config.top_k_candidates)
    if callable(boxes):
        unique_priors, inverse = np.unique(priors, return_inverse=True)
        candidate_boxes = boxes(unique_priors)[inverse] if len(priors) else np.zeros((0, 4), np.float32)
    else:
        candidate_boxes = boxes[priors]
    keep = class_wise_nms(candidate_boxes, candidate_scores, class_ids, config.nms_iou_threshold,
                          config.max_detections)
    return (candidate_boxes[keep].astype(np.float32), candidate_scores[keep].astype(np.float32),
            class_ids[keep].astype(np.int64))


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


def filter_final(boxes: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, config: PostprocessConfig,
                 background_index: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Post-processing for models whose graph already ends in NMS: threshold, allow-list, NMS, cut."""
    thresholds = config.thresholds(int(class_ids.max()) + 1)[class_ids] if len(class_ids) else config.score_threshold
    keep = scores > thresholds
    if background_index is not None:
        keep &= class_ids != background_index
    if config.class_allowlist is not None:
        keep &= np.isin(class_ids, list(config.class_allowlist))
    boxes, scores, class_ids = boxes[keep], scores[keep], class_ids[keep]
    order = class_wise_nms(boxes, scores, class_ids, config.nms_iou_threshold, config.max_detections)
    return boxes[order].astype(np.float32), scores[order].astype(np.float32), class_ids[order].astype(np.int64)
