"""Prior (default) boxes of raw-head SSD models.

Contract: ``prior_boxes(spec, input_width, input_height)`` returns float32 [N, 4] priors as
centre-x, centre-y, width, height, normalised to 0..1 of the model input, in the order the
model's head emits its N predictions. ``boxes_per_cell(spec)`` and ``prior_count(spec)`` give the
count without building them; ``feature_maps_for(spec, (w, h), (new_w, new_h))`` drafts the
feature maps of the same head at another input size (see below).

Two schemes:
- ``min_sizes`` (UltraFace, pytorch-ssd): per feature map [h, w] and box sizes in input pixels;
  centre ((i + 0.5) / w, (j + 0.5) / h) for row j, column i, or with ``steps`` (the map's stride
  in input pixels) ((i + 0.5) * step / input_w, (j + 0.5) * step / input_h), which differs where
  the input is not a multiple of the stride (pytorch-ssd's ``shrinkage``); size (s / input_w,
  s / input_h); order: map, row, column, size.
- ``torchvision`` (torchvision.models.detection.anchor_utils.DefaultBoxGenerator): scales from
  min_ratio..max_ratio (or explicit), per map the boxes [s_k, s_k], [s'_k, s'_k] with
  s'_k = sqrt(s_k * s_k+1), then [s_k*sqrt(r), s_k/sqrt(r)] and its transpose per aspect ratio;
  centres on the grid (or at ``steps``); order: map, row, column, box.

Feature maps at another input size: a map's stride is ``steps[k]`` when given, else the stride s
(a power of two when one fits, else a whole number) for which ceil(input / s) gives the map's
size on both axes; the map at the new size is ceil(new input / s) on each axis. That is how
strided convolutions with padding shrink an input; heads built otherwise (valid convolutions,
SSD300's last 3x3 -> 1x1 map) differ, so the result is a draft to check against the graph's
output rows (``ssd-ros model inspect`` does).
"""
from __future__ import annotations

import math

import numpy as np

from ssd_ros.core.spec import PriorSpec


def _grid_centres(rows: int, cols: int, step_y: float, step_x: float) -> np.ndarray:
    """[rows*cols, 2] centres (cx, cy), row-major, for a grid whose cells are 1/step wide."""
    cy, cx = np.meshgrid((np.arange(rows) + 0.5) / step_y, (np.arange(cols) + 0.5) / step_x, indexing="ij")
    return np.stack([cx.ravel(), cy.ravel()], axis=1)


def _min_size_priors(spec: PriorSpec, input_width: int, input_height: int) -> np.ndarray:
    blocks = []
    for k, ((rows, cols), sizes) in enumerate(zip(spec.feature_maps, spec.min_sizes, strict=True)):
        if spec.steps is not None:
            centres = _grid_centres(rows, cols, input_height / spec.steps[k], input_width / spec.steps[k])
        else:
            centres = _grid_centres(rows, cols, rows, cols)
        wh = np.array([[size / input_width, size / input_height] for size in sizes])
        blocks.append(np.concatenate([np.repeat(centres, len(sizes), axis=0), np.tile(wh, (len(centres), 1))], 1))
    return np.concatenate(blocks)


def torchvision_scales(spec: PriorSpec) -> list[float]:
    if spec.scales is not None:
        return list(spec.scales)
    count = len(spec.feature_maps)
    if count == 1:
        return [spec.min_ratio, 1.0]
    return [spec.min_ratio + (spec.max_ratio - spec.min_ratio) * k / (count - 1) for k in range(count)] + [1.0]


def _torchvision_priors(spec: PriorSpec, input_width: int, input_height: int) -> np.ndarray:
    scales = torchvision_scales(spec)
    blocks = []
    for k, ((rows, cols), ratios) in enumerate(zip(spec.feature_maps, spec.aspect_ratios, strict=True)):
        s_k, s_prime = scales[k], math.sqrt(scales[k] * scales[k + 1])
        wh = [[s_k, s_k], [s_prime, s_prime]]
        for ratio in ratios:
            root = math.sqrt(ratio)
            wh += [[s_k * root, s_k / root], [s_k / root, s_k * root]]
        wh_array = np.array(wh, dtype=np.float32)
        if spec.clip:
            wh_array = np.clip(wh_array, 0.0, 1.0)
        if spec.steps is not None:
            step_x, step_y = input_width / spec.steps[k], input_height / spec.steps[k]
        else:
            step_x, step_y = cols, rows
        centres = _grid_centres(rows, cols, step_y, step_x).astype(np.float32)
        blocks.append(np.concatenate([np.repeat(centres, len(wh_array), axis=0),
                                      np.tile(wh_array, (len(centres), 1))], 1))
    return np.concatenate(blocks)


def prior_boxes(spec: PriorSpec, input_width: int, input_height: int) -> np.ndarray:
    if spec.scheme == "min_sizes":
        priors = _min_size_priors(spec, input_width, input_height)
        if spec.clip:
            priors = np.clip(priors, 0.0, 1.0)
    else:
        priors = _torchvision_priors(spec, input_width, input_height)
    return priors.astype(np.float32)


def boxes_per_cell(spec: PriorSpec) -> list[int]:
    """Priors per feature-map cell, per map."""
    if spec.scheme == "min_sizes":
        return [len(sizes) for sizes in spec.min_sizes]
    return [2 + 2 * len(ratios) for ratios in spec.aspect_ratios]


def prior_count(spec: PriorSpec) -> int:
    return sum(rows * cols * count for (rows, cols), count in zip(spec.feature_maps, boxes_per_cell(spec),
                                                                   strict=True))


def map_stride(size: int, cells: int) -> float:
    """The stride s with ceil(size / s) == cells: a power of two when one fits, else the smallest whole one,
    else size / cells."""
    low, high = size / cells, (size / (cells - 1) if cells > 1 else math.inf)  # ceil(size / s) == cells
    fits = [2 ** e for e in range(12) if low <= 2 ** e < high]
    if fits:
        return float(fits[0])
    whole = math.ceil(low)
    return float(whole) if whole < high else low


def feature_maps_for(spec: PriorSpec, size: tuple[int, int], new_size: tuple[int, int]) -> list[tuple[int, int]]:
    """[rows, cols] per map for the same head at ``new_size`` (width, height), from the maps at ``size``."""
    (width, height), (new_width, new_height) = size, new_size
    maps = []
    for k, (rows, cols) in enumerate(spec.feature_maps):
        if spec.steps is not None:
            stride_y = stride_x = float(spec.steps[k])
        else:
            stride_y, stride_x = map_stride(height, rows), map_stride(width, cols)
        maps.append((math.ceil(new_height / stride_y - 1e-9), math.ceil(new_width / stride_x - 1e-9)))
    return maps
