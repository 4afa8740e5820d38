"""Shared fixtures of the training tests: a tiny synthetic VOC dataset and a start checkpoint.

The start checkpoint is a random SSDlite (width 0.5, 4 shape classes) with re-estimated
BatchNorm: a few steps from torchvision's default init leave every score at 1/C, and such exact
ties make any two NMS implementations disagree on which box survives.
"""
from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="session")
def tiny_voc(tmp_path_factory) -> Path:
    from ssd_ros_training.synth import write_voc_dataset

    root = tmp_path_factory.mktemp("tiny_voc")
    write_voc_dataset(root, images=24, seed=3, val_fraction=0.25, test_fraction=0.0)
    return root


@pytest.fixture(scope="session")
def start_weights(tmp_path_factory) -> Path:
    from torchvision_reference import random_ssd

    path = tmp_path_factory.mktemp("weights") / "start.pth"
    torch.save(random_ssd("ssdlite320", 5, seed=0, width_mult=0.5).state_dict(), path)
    return path
