"""Threshold, top-k and class-wise NMS: golden values, and parity with torchvision.ops.batched_nms."""
from __future__ import annotations

import numpy as np
import pytest

from ssd_ros.core import PostprocessConfig
from ssd_ros.core.boxes import decode, iou_matrix, to_xyxy
from ssd_ros.core.postprocess import class_wise_nms, postprocess, select_candidates


def test_nms_golden_values():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 10]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6], np.float32)
    same_class = np.array([1, 1, 1, 2])
    # box 1 overlaps box 0 with IoU 81/119 = 0.68 (suppressed at 0.5, kept at 0.7); box 3 is another class
    assert class_wise_nms(boxes, scores, same_class, 0.5, 100).tolist() == [0, 2, 3]
    assert class_wise_nms(boxes, scores, same_class, 0.7, 100).tolist() == [0, 1, 2, 3]
    assert class_wise_nms(boxes, scores, same_class, 0.5, 2).tolist() == [0, 2]


def test_candidates_respect_threshold_background_allowlist_and_top_k():
    scores = np.array([[0.1, 0.8, 0.05], [0.2, 0.6, 0.7], [0.9, 0.55, 0.3]], np.float32)
    classes = np.array([False, True, True])
    priors, class_ids, values = select_candidates(scores, 0.5, classes, top_k=2)
    assert sorted(zip(priors.tolist(), class_ids.tolist(), strict=True)) == [(0, 1), (1, 1), (1, 2)]
    assert sorted(values.tolist()) == pytest.approx([0.6, 0.7, 0.8])
    priors, class_ids, _ = select_candidates(scores, 0.5, classes, top_k=1)
    assert sorted(zip(priors.tolist(), class_ids.tolist(), strict=True)) == [(0, 1), (1, 2)]
    boxes = np.array([[0, 0, 1, 1], [5, 5, 6, 6], [9, 9, 10, 10]], np.float32)
    config = PostprocessConfig(score_threshold=0.5, class_allowlist=frozenset({2}))
    kept_boxes, kept_scores, kept_ids = postprocess(scores, boxes, config, background_index=0)
    assert kept_ids.tolist() == [2] and kept_scores.tolist() == pytest.approx([0.7])
    assert kept_boxes.tolist() == [[5, 5, 6, 6]]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_class_wise_nms_equals_torchvision_batched_nms(seed):
    torch = pytest.importorskip("torch")
    from torchvision.ops import batched_nms

    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 300, (600, 2))
    sizes = rng.uniform(5, 80, (600, 2))
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], 1).astype(np.float32)
    scores = rng.uniform(0, 1, 600).astype(np.float32)
    classes = rng.integers(1, 6, 600)
    ours = class_wise_nms(boxes, scores, classes, 0.45, 10_000)
    theirs = batched_nms(torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(classes), 0.45)
    assert ours.tolist() == theirs.tolist()


def test_decode_golden_values_and_box_formats():
    priors = np.array([[0.5, 0.5, 0.2, 0.4]], np.float32)
    assert decode(np.zeros((1, 4), np.float32), priors, (0.1, 0.2))[0].tolist() == pytest.approx(
        [0.4, 0.3, 0.6, 0.7])
    # dx = 1 moves the centre by 0.1 * width; dw = ln(2) / 0.2 doubles the width
    shifted = decode(np.array([[1.0, 0.0, np.log(2) / 0.2, 0.0]], np.float32), priors, (0.1, 0.2))
    assert shifted[0].tolist() == pytest.approx([0.32, 0.3, 0.72, 0.7], abs=1e-6)
    huge = decode(np.array([[0, 0, 1e4, 1e4]], np.float32), priors, (0.1, 0.2))
    assert np.isfinite(huge).all()
    box = np.array([[10.0, 20.0, 4.0, 6.0]])
    assert to_xyxy(box, "cxcywh").tolist() == [[8.0, 17.0, 12.0, 23.0]]
    assert to_xyxy(np.array([[1.0, 2.0, 3.0, 4.0]]), "yxyx").tolist() == [[2.0, 1.0, 4.0, 3.0]]
    assert iou_matrix(np.array([[0, 0, 2, 2.0]]), np.array([[1, 1, 3, 3.0], [5, 5, 6, 6.0]]))[0].tolist() == \
        pytest.approx([1 / 7, 0.0])
