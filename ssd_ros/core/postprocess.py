"""From per-prior class scores and boxes to final detections: threshold, top-k, class-wise NMS.

Contract (one image):
- ``scores`` float [N, C]: class probabilities of N priors (C includes the background class);
- ``boxes`` float [N, 4] xyxy, or a callable mapping prior indices to their xyxy boxes, so that only
  the candidates NMS looks at are decoded;
- a candidate is a (prior, class) pair with score > its class's threshold (score_threshold, or the
  class's entry in class_score_thresholds), class != background and in the allow-list; at most
  ``top_k_candidates`` per class go into NMS: the best, where scores tie at the cut the lower prior
  indices;
- NMS is greedy per class: candidates are visited best score first (equal scores: lower class id,
  then lower prior index, first), and a box is suppressed by an already kept box of the same class
  with IoU > nms_iou_threshold (IoU as boxes.iou_one_to_many computes it, in the boxes' float type);
  the result is in visiting order, cut at ``max_detections``.
This is the procedure of torchvision's SSD.postprocess_detections (strict inequalities included).

How it runs: greedy NMS decides each box from the boxes before it only, so the first
``max_detections`` kept boxes depend only on a prefix of the visiting order. postprocess takes the
candidates scoring at least a cut value (estimated from a sample of priors so that about
2 * max_detections candidates pass; any cut gives a true prefix, and the per-class top-k is exact
within it), decodes only those, and runs NMS on them; while a prefix keeps fewer than
``max_detections``, a longer one (at the keep rate seen) follows, up to all candidates. The NMS
itself: OpenCV's cv2.dnn.NMSBoxesBatched (C++; OpenCV is a runtime dependency already, torch is
not) proposes the kept set; a vectorised check (is_greedy_result) then proves it is the greedy
result under the contract's IoU (kept <=> no earlier kept box of the class overlaps it by more than
the threshold; by induction over the visiting order only the greedy result passes). OpenCV differs
from the contract only at the margins: it computes IoU in double precision (pairs within rounding
of the threshold can differ), and it counts two zero-area boxes as IoU 1 (here 0: a zero-area box
never suppresses nor is suppressed, so those boxes bypass OpenCV).
Its other semantics are set to match: input already in visiting order with strictly decreasing
stand-in scores (its stable sort keeps ties in that order), score threshold 0 (every stand-in is
above it), eta 1 (no adaptive threshold), top_k 0 (no cut), suppression on IoU > threshold. When
the check fails the pure-numpy greedy NMS (greedy_nms, the reference) decides that prefix instead.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from ssd_ros.core.boxes import area, iou_one_to_many, iou_pairs
from ssd_ros.core.types import PostprocessConfig

BoxSource = np.ndarray | Callable[[np.ndarray], np.ndarray]

# NMS runs first on about the best 2 * max(max_detections, MIN_PREFIX) candidates, then, while a
# prefix keeps fewer than max_detections, on one long enough at the rate it kept (at least twice as
# long). OpenCV compares each box with every box kept before it (all classes), so a prefix much
# longer than needed costs quadratically.
MIN_PREFIX = 64
SAMPLE_ROWS = 512  # priors sampled to estimate the score cut of a prefix
# OpenCV's stubs type the arguments as sequences; it takes numpy arrays (boxes as Rect2d: float64 x, y, w, h)
_NMS_BOXES_BATCHED: Any = cv2.dnn.NMSBoxesBatched


def _next_count(count: int, prefix: int, kept: int, wanted: int) -> int:
    """The next prefix length to try: enough at the keep rate seen so far (x1.5), at least 2x."""
    at_rate = 3 * prefix * wanted // (2 * kept) if kept else 4 * count
    return max(2 * count, at_rate)


def class_mask(num_classes: int, background_index: int | None, allowlist: frozenset[int] | None) -> np.ndarray:
    mask = np.ones(num_classes, bool)
    if background_index is not None:
        mask[background_index] = False
    if allowlist is not None:
        allowed = np.zeros(num_classes, bool)
        allowed[[index for index in allowlist if 0 <= index < num_classes]] = True
        mask &= allowed
    return mask


def class_limits(thresholds: np.ndarray | float, classes: np.ndarray) -> np.ndarray:
    """Per class [C]: the score a candidate must exceed; +inf for classes that never give candidates."""
    limits = np.array(np.broadcast_to(thresholds, classes.shape), dtype=np.float32)
    limits[~classes] = np.inf
    return limits


def select_candidates(scores: np.ndarray, thresholds: np.ndarray | float, classes: np.ndarray,
                      top_k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prior indices, class ids, scores) of all candidates, in the NMS visiting order.

    ``thresholds``: one score threshold, or one per class [C]; ``classes``: bool [C], the classes
    that may give candidates. A class with more than ``top_k`` candidates keeps its ``top_k`` best;
    where scores tie at the cut, the lower prior indices.
    """
    priors, class_ids, values, _ = best_candidates(scores, class_limits(thresholds, classes), top_k, None)
    return priors, class_ids, values


def best_candidates(scores: np.ndarray, limits: np.ndarray, top_k: int,
                    count: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """(prior indices, class ids, scores, complete): a prefix of the candidates in visiting order.

    The prefix holds about ``count`` (None: all) candidates before the top-k cut: all whose score
    is at least a cut value estimated from a sample of the priors (any cut value gives a true
    prefix; the sample only decides its length). ``complete``: the prefix is all candidates. The
    per-class top-k is exact within a prefix: a candidate's better peers of its class score at
    least as high, so they are in it too.
    """
    cut = None if count is None else _estimated_cut(scores, limits, count)
    if cut is None:
        selected = scores > limits
    else:  # score >= cut <=> score > the next float below cut, so one comparison does both
        selected = scores > np.maximum(limits.astype(scores.dtype), np.nextafter(cut, -np.inf))
    priors, class_ids = np.divmod(np.flatnonzero(selected), scores.shape[1])
    values = scores[priors, class_ids]
    by_class = np.lexsort((priors, -values, class_ids))  # class, then best first
    sorted_classes = class_ids[by_class]
    rank = np.arange(len(by_class)) - np.searchsorted(sorted_classes, sorted_classes, side="left")
    chosen = by_class[rank < top_k]
    chosen = chosen[np.lexsort((priors[chosen], class_ids[chosen], -values[chosen]))]
    return priors[chosen], class_ids[chosen], values[chosen], cut is None


def _estimated_cut(scores: np.ndarray, limits: np.ndarray, count: int) -> np.generic | None:
    """A score about ``count`` candidates reach, estimated from about SAMPLE_ROWS evenly spaced
    priors; None where (about) all candidates would be needed."""
    stride = max(1, len(scores) // SAMPLE_ROWS)
    sample = scores[::stride]
    values = sample[sample > limits]
    wanted = -(-count // stride)
    if len(values) <= wanted:
        return None
    return np.partition(values, len(values) - wanted)[len(values) - wanted]


def greedy_nms(boxes: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, iou_threshold: float,
               max_detections: int) -> np.ndarray:
    """The reference: indices kept by greedy per-class NMS, pure numpy, best score first.

    Boxes are visited in descending score order (ties in input order); a kept box suppresses the
    later boxes of its own class that overlap it by more than ``iou_threshold``.
    """
    if len(scores) == 0:
        return np.zeros(0, np.int64)
    order = np.argsort(-scores, kind="stable")
    return order[_greedy_in_order(boxes[order], class_ids[order], iou_threshold, max_detections)]


def _greedy_in_order(boxes: np.ndarray, class_ids: np.ndarray, iou_threshold: float,
                     max_detections: int) -> np.ndarray:
    """Positions kept by greedy NMS of boxes already in visiting order, in numpy."""
    members = {class_id: np.flatnonzero(class_ids == class_id) for class_id in np.unique(class_ids)}
    suppressed = np.zeros(len(boxes), bool)
    keep = []
    for position in range(len(boxes)):
        if suppressed[position]:
            continue
        keep.append(position)
        if len(keep) == max_detections:
            break
        same_class = members[class_ids[position]]
        later = same_class[np.searchsorted(same_class, position, side="right"):]
        if len(later):
            overlaps = iou_one_to_many(boxes[position], boxes[later])
            suppressed[later[overlaps > iou_threshold]] = True
    return np.asarray(keep, np.int64)


def _best_first(scores: np.ndarray, count: int) -> np.ndarray:
    """Indices of the first ``count`` (or more, where scores tie) candidates of the visiting order, in it."""
    if count >= len(scores):
        return np.argsort(-scores, kind="stable")
    cut = np.partition(scores, len(scores) - count)[len(scores) - count]
    chosen = np.flatnonzero(scores >= cut)
    return chosen[np.argsort(-scores[chosen], kind="stable")]


def _opencv_proposal(boxes: np.ndarray, class_ids: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Positions kept by OpenCV's batched NMS of boxes in visiting order; zero-area boxes all kept."""
    solid = np.flatnonzero(area(boxes) > 0)
    kept = np.ones(len(boxes), bool)
    if len(solid):
        corners = boxes[solid].astype(np.float64)
        xywh = np.concatenate([corners[:, :2], corners[:, 2:] - corners[:, :2]], axis=1)
        rank = np.arange(len(solid), 0, -1, dtype=np.float32)  # stand-in scores: the visiting order
        chosen = _NMS_BOXES_BATCHED(xywh, rank, class_ids[solid].astype(np.int32), 0.0, float(iou_threshold),
                                         1.0, 0)
        kept[solid] = False
        kept[solid[np.asarray(chosen, np.int64).reshape(-1)]] = True
    return np.flatnonzero(kept)


def is_greedy_result(boxes: np.ndarray, class_ids: np.ndarray, kept: np.ndarray, iou_threshold: float) -> bool:
    """Whether ``kept`` (positions) is exactly what greedy NMS keeps of boxes in visiting order.

    True iff every box is kept exactly when no kept box of its class before it overlaps it by
    more than the threshold. Cost: the (earlier kept, box) pairs of equal class, vectorised.
    """
    is_kept = np.zeros(len(boxes), bool)
    is_kept[kept] = True
    by_class = np.argsort(class_ids, kind="stable")  # class, then visiting order
    kept_sorted = is_kept[by_class]
    kept_before = np.cumsum(kept_sorted) - kept_sorted  # kept boxes ahead in by_class order
    class_sorted = class_ids[by_class]
    base = kept_before[np.searchsorted(class_sorted, class_sorted, side="left")]  # ... in lower classes
    counts = kept_before - base  # earlier kept boxes of the same class
    suppressed = np.zeros(len(boxes), bool)
    total = int(counts.sum())
    if total:
        kept_by_class = by_class[kept_sorted]
        ramp = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        earlier = kept_by_class[np.repeat(base, counts) + ramp]
        later = np.repeat(by_class, counts)
        overlaps = iou_pairs(boxes[earlier], boxes[later])
        suppressed[later[overlaps > iou_threshold]] = True
    return bool(np.array_equal(suppressed, ~is_kept))


def _nms_in_order(boxes: np.ndarray, class_ids: np.ndarray, iou_threshold: float,
                  max_detections: int) -> np.ndarray:
    """Positions kept by greedy NMS of boxes in visiting order (at most ``max_detections``)."""
    kept = _opencv_proposal(boxes, class_ids, iou_threshold)[:max_detections]
    end = int(kept[-1]) + 1 if len(kept) == max_detections else len(boxes)
    if is_greedy_result(boxes[:end], class_ids[:end], kept, iou_threshold):
        return kept
    return _greedy_in_order(boxes, class_ids, iou_threshold, max_detections)


def class_wise_nms(boxes: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, iou_threshold: float,
                   max_detections: int) -> np.ndarray:
    """Indices kept by greedy per-class NMS, best score first (ties in input order), at most ``max_detections``.

    Equal to greedy_nms (the module docstring says how it runs). Scores must not be NaN.
    """
    count = max(2 * max_detections, 2 * MIN_PREFIX)
    while True:
        order = _best_first(scores, count)
        kept = _nms_in_order(boxes[order], class_ids[order], iou_threshold, max_detections)
        if len(kept) == max_detections or len(order) == len(scores):
            return order[kept]
        count = _next_count(count, len(order), len(kept), max_detections)


def postprocess(scores: np.ndarray, boxes: BoxSource, config: PostprocessConfig,
                background_index: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Final (boxes xyxy [K, 4] float32, scores [K] float32, class ids [K] int64) of one image."""
    classes = class_mask(scores.shape[1], background_index, config.class_allowlist)
    limits = class_limits(config.thresholds(scores.shape[1]), classes)
    count = 2 * max(config.max_detections, MIN_PREFIX)
    while True:
        priors, class_ids, values, complete = best_candidates(scores, limits, config.top_k_candidates, count)
        if len(priors) == 0 and complete:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
        candidate_boxes = boxes(priors) if callable(boxes) else boxes[priors]
        kept = _nms_in_order(candidate_boxes, class_ids, config.nms_iou_threshold, config.max_detections)
        if len(kept) == config.max_detections or complete:
            return (candidate_boxes[kept].astype(np.float32), values[kept].astype(np.float32),
                    class_ids[kept].astype(np.int64))
        count = _next_count(count, len(priors), len(kept), config.max_detections)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis; the arithmetic of exp(x - max) / sum, in one buffer."""
    exp = logits - logits.max(axis=-1, keepdims=True)
    np.exp(exp, out=exp)
    exp /= exp.sum(axis=-1, keepdims=True)
    return exp


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), in one buffer."""
    result = np.negative(logits)
    np.exp(result, out=result)
    result += 1.0
    return np.divide(1.0, result, out=result)


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
