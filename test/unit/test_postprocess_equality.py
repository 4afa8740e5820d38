"""The fast post-processing (vectorised top-k, prefix decoding, OpenCV's batched NMS proved by a check)
gives exactly the detections of the implementation it replaced, on random and adversarial cases.

``reference_postprocess`` below is that implementation (a loop over classes, argpartition per class,
every candidate decoded, pure-numpy greedy NMS: postprocess.greedy_nms, kept as the fallback) with one
change: where a class has more candidates than top_k, it keeps the top_k by a stable sort instead of
argpartition, and hands the candidates to NMS in class, then prior order. argpartition's choice among
scores tied at the cut, and the order it leaves them in, is arbitrary; the stable sort gives the rule
the module contract now states (lower prior index first). Without ties the two agree (tested).
Equality is exact: the same float32 bits for boxes and scores, the same class ids, the same order.
"""
from __future__ import annotations

import numpy as np
import pytest

from ssd_ros.core import PostprocessConfig
from ssd_ros.core.boxes import decode
from ssd_ros.core.postprocess import (
    _opencv_proposal,
    class_mask,
    class_wise_nms,
    greedy_nms,
    is_greedy_result,
    postprocess,
    select_candidates,
    softmax,
)


def reference_candidates(scores, thresholds, classes, top_k, stable=True):
    above = scores > thresholds[None, :]
    above &= classes[None, :]
    prior_parts, class_parts = [], []
    for class_id in np.flatnonzero(above.any(axis=0)):
        priors = np.flatnonzero(above[:, class_id])
        if len(priors) > top_k:
            if stable:
                priors = np.sort(priors[np.argsort(-scores[priors, class_id], kind="stable")[:top_k]])
            else:  # the replaced implementation, for the no-ties comparison
                priors = priors[np.argpartition(-scores[priors, class_id], top_k - 1)[:top_k]]
        prior_parts.append(priors)
        class_parts.append(np.full(len(priors), class_id))
    if not prior_parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, scores.dtype)
    priors, class_ids = np.concatenate(prior_parts), np.concatenate(class_parts)
    return priors, class_ids, scores[priors, class_ids]


def reference_postprocess(scores, boxes, config, background_index):
    classes = class_mask(scores.shape[1], background_index, config.class_allowlist)
    priors, class_ids, candidate_scores = reference_candidates(scores, config.thresholds(scores.shape[1]), classes,
                                                               config.top_k_candidates)
    if callable(boxes):
        unique_priors, inverse = np.unique(priors, return_inverse=True)
        candidate_boxes = boxes(unique_priors)[inverse] if len(priors) else np.zeros((0, 4), np.float32)
    else:
        candidate_boxes = boxes[priors]
    keep = greedy_nms(candidate_boxes, candidate_scores, class_ids, config.nms_iou_threshold, config.max_detections)
    return (candidate_boxes[keep].astype(np.float32), candidate_scores[keep].astype(np.float32),
            class_ids[keep].astype(np.int64))


def assert_identical(ours, theirs):
    for mine, reference, name in zip(ours, theirs, ("boxes", "scores", "class ids"), strict=True):
        assert mine.dtype == reference.dtype and mine.shape == reference.shape, name
        assert mine.tobytes() == reference.tobytes(), f"{name} differ"


def ssd_outputs(rng, priors, num_classes, size=320.0, sharpness=1.0):
    """Softmax scores and a decoding box source like the Detector's (raw offsets against priors, clipped)."""
    scores = softmax((rng.normal(0, sharpness, (priors, num_classes))).astype(np.float32))
    centres = rng.uniform(0, 1, (priors, 2))
    sizes = rng.choice([0.05, 0.1, 0.2, 0.4], (priors, 2))
    prior_boxes = np.concatenate([centres, sizes], 1).astype(np.float32)
    offsets = rng.normal(0, 1.5, (priors, 4)).astype(np.float32)
    scale = np.float32(size)

    def boxes(indices):
        return np.clip(decode(offsets[indices], prior_boxes[indices], (0.1, 0.2)) * scale, 0.0, scale)
    return scores, boxes


RANDOM_CASES = [(seed, classes, threshold, max_detections, top_k)
                for seed in range(4)
                for classes, threshold in ((2, 0.3), (21, 0.01), (21, 0.3), (91, 0.01))
                for max_detections, top_k in ((100, 400), (1, 400), (7, 50), (1000, 30))]


@pytest.mark.parametrize(("seed", "num_classes", "threshold", "max_detections", "top_k"), RANDOM_CASES)
def test_postprocess_equals_reference_on_random_outputs(seed, num_classes, threshold, max_detections, top_k):
    rng = np.random.default_rng(seed)
    scores, boxes = ssd_outputs(rng, 3234, num_classes, sharpness=1.0 + seed)
    config = PostprocessConfig(score_threshold=threshold, max_detections=max_detections, top_k_candidates=top_k,
                               nms_iou_threshold=(0.45, 0.5, 0.6, 0.3)[seed])
    ours = postprocess(scores, boxes, config, background_index=0)
    assert_identical(ours, reference_postprocess(scores, boxes, config, 0))
    assert_identical(postprocess(scores, boxes(np.arange(3234)), config, 0), ours)  # decoded boxes as an array
    assert len(ours[0]) > 0 or threshold == 0.3


@pytest.mark.parametrize("seed", range(6))
def test_postprocess_equals_reference_with_ties_duplicates_and_degenerate_boxes(seed):
    """Scores on a coarse grid (ties everywhere, also at the top-k cut), boxes on an integer grid (identical
    boxes, IoUs exactly at the threshold), zero-area boxes (clipped outside the input), per-class
    thresholds, an allow-list, no background class."""
    rng = np.random.default_rng(100 + seed)
    priors, num_classes = 600, 6
    scores = (rng.integers(0, 8, (priors, num_classes)) / 8).astype(np.float32)
    corners = rng.integers(0, 6, (priors, 2)).astype(np.float32) * 2
    sizes = rng.choice([0, 2, 4], (priors, 2)).astype(np.float32)
    boxes = np.concatenate([corners, corners + sizes], 1)
    for threshold in (0.0, 0.3):
        for iou in (0.0, 0.25, 1 / 3, 0.5, 1.0):
            config = PostprocessConfig(score_threshold=threshold, nms_iou_threshold=iou,
                                       max_detections=(5, 60)[seed % 2], top_k_candidates=(3, 40, 400)[seed % 3],
                                       class_score_thresholds=((2, 0.5),),
                                       class_allowlist=frozenset({0, 1, 2, 4, 5}) if seed >= 3 else None)
            assert_identical(postprocess(scores, boxes, config, None),
                             reference_postprocess(scores, boxes, config, None))


def test_postprocess_of_nothing_and_of_one_class():
    scores = np.full((50, 2), 0.5, np.float32)
    boxes = np.zeros((50, 4), np.float32)
    empty = postprocess(scores, boxes, PostprocessConfig(score_threshold=0.9), background_index=0)
    assert [part.shape for part in empty] == [(0, 4), (0,), (0,)]
    assert [part.dtype for part in empty] == [np.float32, np.float32, np.int64]
    assert_identical(postprocess(np.zeros((0, 21), np.float32), np.zeros((0, 4), np.float32), PostprocessConfig(), 0),
                     empty)
    # one class, 50 identical boxes with equal scores: the first prior is kept, the rest suppressed
    unit_boxes = boxes + np.float32([0, 0, 1, 1])
    kept = postprocess(scores, unit_boxes, PostprocessConfig(score_threshold=0.1), background_index=0)
    assert kept[2].tolist() == [1]
    # zero-area boxes overlap nothing (IoU 0): all 50 kept, unlike OpenCV alone
    kept = postprocess(scores, boxes, PostprocessConfig(score_threshold=0.1), background_index=0)
    assert len(kept[0]) == 50


def test_top_k_ties_at_the_cut_go_to_the_lower_prior_and_without_ties_the_old_selection_agrees():
    scores = np.array([[0.0, 0.5], [0.0, 0.9], [0.0, 0.5], [0.0, 0.5], [0.0, 0.7]], np.float32)
    priors, class_ids, values = select_candidates(scores, np.float32(0.1), np.array([False, True]), top_k=3)
    assert (priors.tolist(), class_ids.tolist(), values.tolist()) == ([1, 4, 0], [1, 1, 1],
                                                                      pytest.approx([0.9, 0.7, 0.5]))
    rng = np.random.default_rng(7)
    distinct = rng.permutation(3234 * 21).reshape(3234, 21).astype(np.float32) / (3234 * 21)
    thresholds = np.full(21, 0.2, np.float32)
    classes = np.arange(21) > 0
    ours = select_candidates(distinct, thresholds, classes, 300)
    old = reference_candidates(distinct, thresholds, classes, 300, stable=False)
    assert sorted(zip(ours[0].tolist(), ours[1].tolist(), strict=True)) == \
        sorted(zip(old[0].tolist(), old[1].tolist(), strict=True))


# Pairs whose float32 IoU is 0.50000006 (> 0.5: suppressed) while OpenCV's double IoU is <= 0.5 (kept)
FLOAT32_VS_DOUBLE = np.array([[87.787674, 215.22887, 95.36388, 297.35907],
                              [87.787674, 215.22887, 91.575775, 297.35907],
                              [4.5145674, 105.1283, 223.94978, 178.03119],
                              [4.5145674, 105.1283, 114.23217, 178.03119]], np.float32)


def test_opencv_alone_differs_at_the_margins_and_the_check_catches_it():
    classes = np.array([1, 1, 2, 2])
    proposal = _opencv_proposal(FLOAT32_VS_DOUBLE, classes, 0.5)
    assert proposal.tolist() == [0, 1, 2, 3]  # OpenCV keeps all four
    assert not is_greedy_result(FLOAT32_VS_DOUBLE, classes, proposal, 0.5)
    assert is_greedy_result(FLOAT32_VS_DOUBLE, classes, np.array([0, 2]), 0.5)
    scores = np.array([0.9, 0.8, 0.7, 0.6], np.float32)
    assert class_wise_nms(FLOAT32_VS_DOUBLE, scores, classes, 0.5, 100).tolist() == [0, 2]
    # two zero-area boxes: OpenCV calls them IoU 1, the contract 0
    flat = np.array([[5, 5, 5, 9], [5, 5, 5, 9]], np.float32)
    assert class_wise_nms(flat, scores[:2], np.array([1, 1]), 0.5, 100).tolist() == [0, 1]


@pytest.mark.parametrize("seed", range(30))
def test_class_wise_nms_equals_greedy_nms(seed):
    """Random boxes, sizes and class counts; every fifth case with quantised scores and grid boxes."""
    rng = np.random.default_rng(1000 + seed)
    count = int(rng.integers(1, 2000))
    classes = rng.integers(0, int(rng.choice([1, 3, 21, 91])), count)
    if seed % 5 == 0:
        corners = rng.integers(0, 5, (count, 2)).astype(np.float32) * 4
        boxes = np.concatenate([corners, corners + rng.choice([0, 4, 8], (count, 2))], 1).astype(np.float32)
        scores = (rng.integers(1, 5, count) / 4).astype(np.float32)
    else:
        centres = rng.uniform(0, 300, (count, 2))
        sizes = rng.uniform(0, 120, (count, 2))
        boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], 1).astype(np.float32)
        scores = rng.uniform(0, 1, count).astype(np.float32)
    for iou in (0.0, 0.3, 0.45, 0.5, 0.9):
        reference = greedy_nms(boxes, scores, classes, iou, count).tolist()  # a cut keeps the first ones
        for max_detections in (1, 10, 100, 10_000):
            assert class_wise_nms(boxes, scores, classes, iou, max_detections).tolist() == reference[:max_detections]
    if seed % 5:  # away from the margins OpenCV's proposal is the greedy result itself (the fast path)
        order = np.argsort(-scores, kind="stable")
        assert is_greedy_result(boxes[order], classes[order], _opencv_proposal(boxes[order], classes[order], 0.45),
                                0.45)


def test_is_greedy_result_rejects_every_other_kept_set():
    rng = np.random.default_rng(3)
    corners = rng.integers(0, 4, (12, 2)).astype(np.float32) * 3
    boxes = np.concatenate([corners, corners + 5], 1)
    classes = rng.integers(0, 2, 12)
    truth = greedy_nms(boxes, -np.arange(12.0), classes, 0.3, 100)
    for bits in range(1 << 12):
        kept = np.flatnonzero([(bits >> position) & 1 for position in range(12)])
        assert is_greedy_result(boxes, classes, kept, 0.3) == (sorted(truth.tolist()) == kept.tolist())
