"""A model's trial run: one blank frame through the whole Detector before the model serves anyone.

Loading checks what a model's description and graph say (Detector.load); some models still cannot
run a frame: a graph whose real input size, layout or dtype differs from its description, a graph
that is not an SSD but carries SSD metadata, outputs with dynamic shapes that turn out wrong.
``trial_run`` is the safety net that catches whatever the load-time checks cannot see.

Contract: ``trial_run(detector)`` runs ``detect`` once on a black uint8 frame of exactly the
model's input size, with a zero score threshold and one candidate per class (so every class column
that scores anything reaches the output), and checks that
- the run completes (any exception of the backend, pre- or post-processing is caught);
- every detection's class id is one of the model's labels (a label list shorter than the score
  columns fails here);
- boxes and scores are finite numbers.
It returns those Detections, so that callers also convert them the way they convert real results
(the node builds its Detection2DArray from them), and raises ``ModelTrialError`` (a ModelLoadError)
naming what failed and what to do. Callers: the node before a model replaces the running one (and
on configure), ``ssd-ros detect`` and ``ssd-ros eval`` before their first frame.
"""
from __future__ import annotations

import numpy as np

from ssd_ros.core.detector import Detector
from ssd_ros.core.errors import ModelLoadError
from ssd_ros.core.types import Detections, PostprocessConfig

# Every class column above zero gives one candidate; different classes never suppress each other.
TRIAL_POSTPROCESS = PostprocessConfig(score_threshold=0.0, nms_iou_threshold=1.0, max_detections=100_000,
                                      top_k_candidates=1)


class ModelTrialError(ModelLoadError):
    """A model that loads but cannot run a frame; the message says what failed and what to check."""


def trial_run(detector: Detector, source: str = "the model") -> Detections:
    spec = detector.spec
    width, height = int(spec.input.width), int(spec.input.height)
    frame = np.zeros((height, width, 3), np.uint8)
    hint = ("check its description (input.width/height, layout, dtype, output.* names and convention, labels) "
            "against the graph, or re-export the model")
    try:
        detections = detector.detect(frame, color="rgb", post=TRIAL_POSTPROCESS)
    except Exception as error:  # whatever the backend or the post-processing raised: the model cannot run
        raise ModelTrialError(f"{source} loads but cannot run a {width}x{height} frame "
                              f"({type(error).__name__}: {_one_line(error)}); {hint}") from None
    class_ids = np.asarray(detections.class_ids)
    outside = sorted({int(c) for c in class_ids.tolist() if not 0 <= c < len(spec.labels)})
    if outside:
        raise ModelTrialError(f"{source} outputs class ids {outside[:10]} but has only {len(spec.labels)} labels "
                              f"{list(spec.labels)[:20]}: its label list does not match its score columns; {hint}")
    if not (np.isfinite(detections.boxes).all() and np.isfinite(detections.scores).all()):
        raise ModelTrialError(f"{source} outputs boxes or scores that are not finite numbers (NaN or infinity) "
                              f"on a blank {width}x{height} frame; {hint}")
    return detections


def _one_line(error: Exception, limit: int = 400) -> str:
    text = " ".join(str(error).split()) or "no message"
    return text if len(text) <= limit else text[:limit] + "..."
