"""The one small protocol of evaluation modes (offline, recorded, online) and what flows through it.

Contract: an ``EvaluationMode`` has a ``name`` (the report's mode), the ``model_classes`` the ground
truth is scored on (None: every ground-truth class, when the model's labels are unknown), the
report's ``context`` (model, backend, thresholds) and ``run(ModeInput) -> ModeOutput``. bag_eval.py
reads the bag and the ground truth, hands the mode a ``ModeInput`` and scores its output; it never
asks which mode it runs. ``ModeInput``: the open bag, every frame's header (``FrameKey``), the ground
truth of the frames that have one (``wanted``: their indices) and the ground truth's classes.

``ModeOutput.outputs`` maps a frame index (position on the image topic) to the detections
produced for that frame: ``FrameOutput(boxes float64 [N, 4] x1, y1, x2, y2 in pixels of the frame,
scores [N], names)``, names being class names (or an unmapped class id string, which the scoring
counts as another class). A frame missing from ``outputs`` had no output (dropped or never processed).
``unreadable`` lists frames the mode could not read (index -> reason), ``frame_sizes`` the (width,
height) of frames whose size was learnt by decoding them, ``report`` the mode's own report section
and ``warnings`` its counted problems in words.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ssd_ros.bags.reader import Bag, FrameKey
from ssd_ros.eval.ground_truth import BoxRecord


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


@dataclass(frozen=True)
class ModeInput:
    bag: Bag
    frames: list[FrameKey]
    truth_of_frame: dict[int, BoxRecord]
    truth_classes: tuple[str, ...]

    @property
    def wanted(self) -> set[int]:
        return set(self.truth_of_frame)


class EvaluationMode(Protocol):
    name: str
    model_classes: tuple[str, ...] | None
    context: dict[str, Any]

    def run(self, given: ModeInput) -> ModeOutput: ...
