"""The SSD training recipe as torchvision.transforms.v2 pipelines on (image, BoundingBoxes) pairs.

Contract: input a uint8 CHW tv_tensors.Image and a target dict with ``boxes`` (tv_tensors.
BoundingBoxes, XYXY, pixels) and ``labels``; output a float image in 0..1 and the transformed
target, degenerate boxes removed. Resizing to the model input happens inside torchvision's SSD
(GeneralizedRCNNTransform), so training and export see the same geometry.
"""
from __future__ import annotations

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2


def train_transforms(mean_fill: tuple[int, int, int] = (123, 117, 104), rotation_degrees: float = 5.0) -> v2.Compose:
    """Photometric distortion, zoom-out, IoU-constrained crop, flip, small rotation, scale jitter."""
    return v2.Compose([
        v2.RandomPhotometricDistort(p=0.5),
        v2.RandomZoomOut(fill={tv_tensors.Image: mean_fill, "others": 0}, side_range=(1.0, 2.5), p=0.5),
        v2.RandomIoUCrop(),
        v2.RandomHorizontalFlip(p=0.5),
        v2.RandomApply([v2.RandomAffine(degrees=rotation_degrees, scale=(0.85, 1.15))], p=0.3),
        v2.ClampBoundingBoxes(),
        v2.SanitizeBoundingBoxes(min_size=2),
        v2.ToDtype(torch.float32, scale=True),
    ])


def eval_transforms() -> v2.Compose:
    return v2.Compose([v2.ToDtype(torch.float32, scale=True)])
