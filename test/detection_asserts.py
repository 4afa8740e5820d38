"""Comparing our detections with a reference implementation's, honestly about float ties."""
from __future__ import annotations

import numpy as np


def assert_same_detections(ours, boxes, scores, labels, score_tol=1e-5, box_tol=1e-3) -> None:
    """Same detections: each of ours has a reference twin (label equal, score and box within tolerance).

    Float32 softmax differs from torch's by ~1e-7, so detections whose scores tie to that precision
    may swap places, and at the max_detections cut one may swap for the other: only such near-ties
    at the cut may stay unmatched.
    """
    assert len(ours) == len(scores) > 0
    unmatched = set(range(len(scores)))
    ours_unmatched = []
    for box, score, label in zip(ours.boxes, ours.scores, ours.class_ids, strict=True):
        twins = [j for j in unmatched if labels[j] == label and abs(scores[j] - score) <= score_tol
                 and np.abs(boxes[j] - box).max() <= box_tol]
        if twins:
            unmatched.remove(min(twins, key=lambda j: abs(scores[j] - score)))
        else:
            ours_unmatched.append(float(score))
    cut = float(min(scores.min(), ours.scores.min()))
    leftovers = ours_unmatched + [float(scores[j]) for j in unmatched]
    assert all(abs(value - cut) <= score_tol for value in leftovers), (
        f"{len(ours_unmatched)} of our detections have no torchvision twin: {leftovers[:5]}")


def assert_detectors_match_checkpoint(detectors, checkpoint, images, size) -> None:
    """Each detector finds what the torchvision model in ``checkpoint`` finds on ``images`` resized to
    ``size`` (width, height): the model's own size, so every path sees identical pixels. Post-processing
    uses the checkpoint model's own thresholds; a reference with no detection would prove nothing."""
    import cv2
    import torch
    from ssd_ros_training.export import load_checkpoint

    from ssd_ros.core import PostprocessConfig

    model, _ = load_checkpoint(checkpoint)
    post = PostprocessConfig(score_threshold=model.score_thresh, nms_iou_threshold=model.nms_thresh,
                             top_k_candidates=model.topk_candidates, max_detections=model.detections_per_img)
    for image in images:
        frame = cv2.resize(image, size)
        with torch.inference_mode():
            reference = model([torch.from_numpy(frame).permute(2, 0, 1).float() / 255])[0]
        assert len(reference["boxes"]) > 0
        for detector in detectors:
            assert_same_detections(detector.detect(frame, "rgb", post), reference["boxes"].numpy(),
                                   reference["scores"].numpy(), reference["labels"].numpy(), score_tol=1e-4,
                                   box_tol=1e-2)
