"""The embedded default model meets its bar on synthetic scenes it never saw (another seed)."""
from __future__ import annotations

import pytest

from ssd_ros.core import Detector
from ssd_ros.datasets import load_dataset
from ssd_ros.eval.dataset import evaluate_on_dataset
from ssd_ros.resources import default_model_path

synth = pytest.importorskip("ssd_ros_training.synth")


def test_default_model_reaches_map50_of_0_9_on_a_held_out_seed(tmp_path):
    synth.write_voc_dataset(tmp_path, images=300, seed=2)  # training used seed 1
    detector = Detector.load(default_model_path())
    assert detector.spec.labels == ("background", "circle", "square", "star", "triangle")
    result = evaluate_on_dataset(detector, load_dataset(tmp_path, "voc"))
    assert result.metrics.images == 300
    assert result.metrics.map_50 >= 0.9, result.metrics
