"""Prior (default) boxes of raw-head SSD models.

Contract: ``prior_boxes(spec, input_width, input_height)`` returns float32 [N, 4] priors as
centre-x, centre-y, width, height, normalised to 0..1 of the model input, in the order the
model's head emits its N predictions.

Two schemes:
- ``min_sizes`` (UltraFace, pytorch-ssd): per feature map [h, w] and box sizes in input pixels;
  centre ((i + 0.5) / w, (j + 0.5) / h) for row j, column i; size (s / input_w, s / input_h);
  order: map, row, column, size.
- ``torchvision`` (torchvision.models.detection.anchor_utils.DefaultBoxGenerator): scales from
  min_ratio..max_ratio (or explicit), per map the boxes [s_k, s_k], [s'_k, s'_k] with
  s'_k = sqrt(s_k * s_k+1), then [s_k*sqrt(r), s_k/sqrt(r)] and its transpose per aspect ratio;
  centres on the grid (or at ``steps``); order: map, row, column, box.
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
    for (rows, cols), sizes in zip(spec.feature_maps, spec.min_sizes, strict=True):
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
