"""Ground-truth boxes checked before they are scored: what can be scored, and every problem counted.

A box that cannot be scored must never turn into a quiet mAP of 0 (boxes no detection can match)
or -1 (COCOeval's "no ground truth"). ``check_boxes(boxes, width, height)`` sorts every box of one
image into exactly one outcome:
- ``NOT_FINITE``: a NaN or infinite coordinate: left out;
- ``DEGENERATE``: x2 <= x1 or y2 <= y1 (no area): left out;
- ``OUTSIDE``: no overlap with the image (0..width x 0..height): left out;
- ``CLIPPED``: partly outside the image (negative coordinates included): clipped to it and scored;
- otherwise scored as is.
With the image size unknown (None or 0), only the first two checks apply. Returns ``BoxCheck``:
the boxes to score (float64 [K, 4]), the mask of the input boxes they come from and a Counter of
problems (outcome -> boxes). Callers add the counts to their report and warn; the outcome strings
are the report's keys.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

NOT_FINITE = "ground-truth boxes with NaN or infinite coordinates (left out)"
DEGENERATE = "ground-truth boxes without area, x2 <= x1 or y2 <= y1 (left out)"
OUTSIDE = "ground-truth boxes entirely outside the image (left out)"
CLIPPED = "ground-truth boxes partly outside the image (clipped to it)"
BOX_PROBLEMS = (NOT_FINITE, DEGENERATE, OUTSIDE, CLIPPED)


@dataclass(frozen=True)
class BoxCheck:
    boxes: np.ndarray  # float64 [K, 4], the scorable boxes (clipped where needed)
    keep: np.ndarray  # bool [N]: which input boxes they are
    problems: Counter


def check_boxes(boxes: np.ndarray, width: int | None, height: int | None) -> BoxCheck:
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    problems: Counter = Counter()
    finite = np.isfinite(boxes).all(axis=1)
    problems[NOT_FINITE] = int((~finite).sum())
    with np.errstate(invalid="ignore"):
        has_area = finite & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    problems[DEGENERATE] = int((finite & ~has_area).sum())
    keep = has_area
    if width and height:
        inside = np.zeros(len(boxes), bool)
        clipped = np.zeros(len(boxes), bool)
        valid = boxes[keep]
        overlaps = (valid[:, 0] < width) & (valid[:, 2] > 0) & (valid[:, 1] < height) & (valid[:, 3] > 0)
        partly = overlaps & ((valid[:, :2] < 0).any(axis=1) | (valid[:, 2] > width) | (valid[:, 3] > height))
        inside[np.flatnonzero(keep)[overlaps]] = True
        clipped[np.flatnonzero(keep)[partly]] = True
        problems[OUTSIDE] = int((keep & ~inside).sum())
        problems[CLIPPED] = int(clipped.sum())
        keep = inside
        boxes = boxes.copy()
        boxes[keep] = np.clip(boxes[keep], 0.0, [width, height, width, height])
    return BoxCheck(boxes[keep], keep, Counter({kind: count for kind, count in problems.items() if count}))
