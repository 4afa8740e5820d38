"""The result of one evaluation, whatever its source: a labelled dataset or a bag (offline, recorded, online).

Contract: ``Evaluation`` is what reports are made of (report.py writes the same JSON, Markdown and
plots for every source, so ``ssd-ros eval --data`` and ``--bag`` give one layout):
- ``mode``: "dataset", "offline", "recorded" or "online"; ``source``: where frames and ground truth
  came from (dataset folder, format and split; or bag, image topic and matching);
- ``frames``: read = evaluated + unmatched + unreadable, and evaluated_without_output;
- ``ground_truth``: its source, matching outcomes, boxes evaluated, box problems counted by kind,
  boxes of classes the model does not know; ``detections``: evaluated and of classes the ground
  truth lacks; ``classes``: the classes scored;
- ``metrics`` (COCOeval, metrics.py), and for recorded/online runs where some frames got no output
  the metrics on the frames that had one; ``mode_report``: the mode's own section (timing, latency,
  frame accounting); ``warnings``; ``latencies_ms`` (online).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ssd_ros.eval.metrics import EvaluationResult


@dataclass
class Evaluation:
    mode: str
    source: dict[str, Any]
    frames: dict[str, int]
    unreadable_examples: list[dict[str, Any]]
    ground_truth: dict[str, Any]
    detections: dict[str, Any]
    classes: tuple[str, ...]
    metrics: EvaluationResult
    metrics_frames_with_output: EvaluationResult | None
    mode_report: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
