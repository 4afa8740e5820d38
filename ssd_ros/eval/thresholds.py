"""Per-class score thresholds measured by an evaluation, written as a params file the detector node takes.

Contract: ``write_thresholds(path, metrics, note)`` writes a ROS 2 parameters YAML
(``/**: ros__parameters: class_score_thresholds: ['<class>=<threshold>', ...]``) holding, for every
scored class with ground truth and at least one hit, the score threshold of its highest F1 at IoU
.5 (metrics.best_f1_point), with F1, precision and recall as comments. Give it to the node with
``ros2 launch ssd_ros detect.launch.py params_file:=FILE`` or ``--params-file FILE``, or merge the
line into your own params file; the node validates the class names against its model. Classes
without a measured point keep the node's ``score_threshold``. Written atomically (temp + rename).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

from ssd_ros.eval.errors import EvaluationError
from ssd_ros.eval.metrics import EvaluationResult


class ThresholdsFileError(EvaluationError, OSError):
    """The --write-thresholds file cannot be written; the message says why."""


def class_score_thresholds(metrics: EvaluationResult) -> list[str]:
    """The node's ``class_score_thresholds`` entries: ``'<class>=<threshold>'``."""
    return [f"{name}={point['score_threshold']:g}" for name, point in metrics.f1_best.items()]


def write_thresholds(path: Path, metrics: EvaluationResult, note: str) -> None:
    if not metrics.f1_best:
        raise ThresholdsFileError("no class has a measured F1 point (no ground truth or no detection hit one): "
                                  f"{path} not written")
    header = [f"# ssd_detector per-class score thresholds: highest F1 at IoU .5, {note}.",
              "# Use: ros2 launch ssd_ros detect.launch.py params_file:=THIS_FILE (other parameters keep their "
              "defaults)",
              *(f"#   {name}: F1 {point['f1']:.3f}, precision {point['precision']:.3f}, recall {point['recall']:.2f}"
                for name, point in metrics.f1_best.items())]
    document = {"/**": {"ros__parameters": {"class_score_thresholds": class_score_thresholds(metrics)}}}
    text = "\n".join(header) + "\n" + yaml.safe_dump(document, sort_keys=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(handle, "w") as output:
            output.write(text)
        os.replace(temporary, path)
    except OSError as error:
        raise ThresholdsFileError(f"cannot write --write-thresholds {path}: {error.strerror or error}") from None
