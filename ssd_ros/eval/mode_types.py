"""What every evaluation mode (offline, recorded, online) hands to the scoring: detections per frame.

Contract: ``ModeOutput.outputs`` maps a frame index (position on the image topic) to the detections
produced for that frame: ``FrameOutput(boxes float64 [N, 4] x1, y1, x2, y2 in pixels of the frame,
scores [N], names)``, names being class names (or an unmapped class id string, which the scoring
counts as another class). A frame missing from ``outputs`` had no output (dropped or never processed).
``unreadable`` lists frames the mode could not read (index -> reason), ``frame_sizes`` the (width,
height) of frames whose size was learnt by decoding them, ``report`` the mode's own report section
and ``warnings`` its counted problems in words.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FrameOutput:
    boxes: np.ndarray
    scores: np.ndarray
    names: tuple[str, ...]


@dataclass
class ModeOutput:
    outputs: dict[int, FrameOutput] = field(default_factory=dict)
    unreadable: dict[int, str] = field(default_factory=dict)
    frame_sizes: dict[int, tuple[int, int]] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)  # online: header stamp to receipt, per output
