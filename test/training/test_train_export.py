"""Train a tiny model for a few steps on generated data, export it, and run the ONNX in the core
Detector with no sidecar: same detections as the PyTorch model's own forward."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch")

from detection_asserts import assert_detectors_match_checkpoint  # noqa: E402
from ssd_ros_training.engine import TrainConfig, train  # noqa: E402
from ssd_ros_training.export import export_onnx  # noqa: E402
from ssd_ros_training.synth import write_voc_dataset  # noqa: E402
from torchvision_reference import random_ssd  # noqa: E402

from ssd_ros.core import Detector  # noqa: E402
from ssd_ros.datasets import load_dataset  # noqa: E402


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A few training steps, starting (transfer-learning style) from a local checkpoint file.

    The start is a random model with re-estimated BatchNorm: a few steps from torchvision's
    default init leave every score at 1/C, and such exact ties make any two NMS implementations
    disagree on which box survives.
    """
    torch.set_num_threads(2)
    root = tmp_path_factory.mktemp("train")
    write_voc_dataset(root / "data", images=24, seed=3, val_fraction=0.25, test_fraction=0.0)
    start = root / "start.pth"
    torch.save(random_ssd("ssdlite320", 5, seed=0, width_mult=0.5).state_dict(), start)
    result = train(TrainConfig(data=str(root / "data"), out=str(root / "run"), width_mult=0.5, epochs=2,
                               batch_size=8, lr=1e-4, val_every=1, workers=0, threads=2, warmup_iterations=2,
                               weights=str(start), command=["ssd-ros", "train", "(test)"]))
    return root, result.best_checkpoint


def test_training_writes_checkpoints_and_a_log(trained):
    root, checkpoint = trained
    assert checkpoint == root / "run" / "best.pt" and (root / "run" / "last.pt").is_file()
    rows = (root / "run" / "log.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,loss") and len(rows) == 3
    state = torch.load(str(checkpoint), weights_only=True)
    assert state["labels"] == ["background", "circle", "square", "star", "triangle"]
    assert state["config"]["epochs"] == 2 and "val_images" in state["dataset"]


def test_exported_onnx_runs_without_sidecar_and_matches_torch(trained, tmp_path):
    root, checkpoint = trained
    dataset = load_dataset(root / "data", "voc", "val")
    images = [cv2.imread(str(a.image_path))[:, :, ::-1].copy() for a in dataset][:3]
    spec = export_onnx(checkpoint, tmp_path / "model.onnx", images)
    metadata = {p.key: p.value for p in onnx.load(str(tmp_path / "model.onnx")).metadata_props}
    assert json.loads(metadata["ssd_ros.provenance"])["command"] == "ssd-ros train (test)"
    detector = Detector.load(tmp_path / "model.onnx")  # no sidecar: everything from the metadata
    assert detector.spec == spec and detector.spec.labels[1:] == ("circle", "square", "star", "triangle")

    assert_detectors_match_checkpoint([detector], checkpoint, images, (320, 320))


def test_export_refuses_a_model_onnxruntime_does_not_reproduce(trained, tmp_path):
    _, checkpoint = trained
    image = np.zeros((240, 320, 3), np.uint8)
    with pytest.raises(RuntimeError, match="differs from PyTorch"):
        export_onnx(Path(checkpoint), tmp_path / "model.onnx", [image], tolerance=-1.0)
    assert not (tmp_path / "model.onnx").exists()
