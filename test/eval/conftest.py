"""Fixtures of the evaluation tests: a small synthetic dataset, the default model on it, bags made from it.

The dataset is 20 synthetic 320x240 scenes (ssd_ros.synthetic, seed 11: not the training seed) on
which the embedded default model has a real, non-trivial mAP; ``direct_metrics`` is that mAP from
evaluating the dataset directly (Detector + pycocotools), the reference every bag mode must reproduce.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from ssd_ros.core import Detector, PostprocessConfig
from ssd_ros.resources import default_model_path

SCORE_THRESHOLD = 0.01  # the eval command's default


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory) -> Path:
    synth = pytest.importorskip("ssd_ros_training.synth", reason="the training package writes the synthetic dataset")
    root = tmp_path_factory.mktemp("synthetic_voc")
    synth.write_voc_dataset(root, images=20, seed=11)
    return root


@pytest.fixture(scope="session")
def detector() -> Detector:
    return Detector.load(default_model_path())


@pytest.fixture(scope="session")
def postprocess() -> PostprocessConfig:
    return PostprocessConfig(score_threshold=SCORE_THRESHOLD, max_detections=100)


@pytest.fixture(scope="session")
def direct_metrics(synthetic_dataset, detector, postprocess):
    from ssd_ros.datasets import load_dataset
    from ssd_ros.eval.dataset import evaluate_on_dataset

    metrics = evaluate_on_dataset(detector, load_dataset(synthetic_dataset, "voc"), postprocess).metrics
    assert 0.3 < metrics.map < 0.99, "the default model should have a real, non-trivial mAP on synthetic scenes"
    return metrics


@pytest.fixture(scope="session")
def dataset_bag(synthetic_dataset, tmp_path_factory):
    """``dataset_bag(storage, compressed)``: the dataset written by `ssd-ros bag from-dataset` (cached)."""
    from eval_helpers import run_cli

    made: dict[tuple[str, bool], Path] = {}

    def make(storage: str = "sqlite3", compressed: bool = False) -> Path:
        if (storage, compressed) not in made:
            out = tmp_path_factory.mktemp("bags") / f"{storage}{'_compressed' if compressed else ''}"
            args = ["bag", "from-dataset", "--data", str(synthetic_dataset), "--out", str(out), "--storage", storage]
            assert run_cli(args + (["--compressed"] if compressed else [])) == 0
            made[(storage, compressed)] = out
        return made[(storage, compressed)]

    return make
