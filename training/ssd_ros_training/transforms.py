"""The SSD training recipe as torchvision.transforms.v2 pipelines on (image, BoundingBoxes) pairs.

Contract: input a uint8 CHW tv_tensors.Image and a target dict with ``boxes`` (tv_tensors.
BoundingBoxes, XYXY, pixels) and ``labels``; output a float image in 0..1 and the transformed
target with boxes clamped to the image and those under 2 pixels (or cropped away) removed.
Resizing to the model input happens inside torchvision's SSD (GeneralizedRCNNTransform), so
training and export see the same geometry; multi-scale training changes that size per batch
(engine.py), scale jitter here changes the object scale within the frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2


@dataclass(frozen=True)
class AugmentConfig:
    """The recipe's knobs; the defaults are the SSD paper's recipe plus small rotation and scale jitter."""

    zoom_out: float = 2.5  # largest zoom-out (canvas / image side) applied to half the images; 1 = off
    iou_crop: bool = True  # SSD's IoU-constrained random crop
    scale_jitter: tuple[float, float] = (0.85, 1.15)  # content scale range (with a random shift), canvas kept
    rotation: float = 5.0  # degrees, applied together with the scale jitter
    affine_probability: float = 0.3  # share of images that get the rotation / scale jitter
    vertical_flip: bool = False  # for top-down imagery (microscopy, aerial), where up/down carries no meaning
    fill: tuple[int, int, int] = (123, 117, 104)  # mean colour for zoom-out and affine padding


def train_transforms(config: AugmentConfig | None = None) -> v2.Compose:
    """Photometric distortion, zoom-out, IoU-constrained crop, flips, small rotation, scale jitter."""
    config = config or AugmentConfig()
    fill = {tv_tensors.Image: config.fill, "others": 0}
    steps: list = [v2.RandomPhotometricDistort(p=0.5)]
    if config.zoom_out > 1.0:
        steps.append(v2.RandomZoomOut(fill=fill, side_range=(1.0, config.zoom_out), p=0.5))
    if config.iou_crop:
        steps.append(v2.RandomIoUCrop())
    steps.append(v2.RandomHorizontalFlip(p=0.5))
    if config.vertical_flip:
        steps.append(v2.RandomVerticalFlip(p=0.5))
    low, high = config.scale_jitter
    if config.rotation > 0 or (low, high) != (1.0, 1.0):
        affine = v2.RandomAffine(degrees=config.rotation, scale=(low, high), translate=(0.1, 0.1), fill=fill)
        steps.append(v2.RandomApply([affine], p=config.affine_probability))
    steps += [v2.ClampBoundingBoxes(), v2.SanitizeBoundingBoxes(min_size=2), v2.ToDtype(torch.float32, scale=True)]
    return v2.Compose(steps)


def eval_transforms() -> v2.Compose:
    return v2.Compose([v2.ToDtype(torch.float32, scale=True)])
