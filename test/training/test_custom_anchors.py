"""Configurable input size and anchor scales: the priors ssd_ros decodes with are the anchors torchvision
trains with, and they travel through the checkpoint and the exported ONNX to the Detector."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from detection_asserts import assert_detectors_match_checkpoint  # noqa: E402
from ssd_ros_training.engine import TrainConfig, train  # noqa: E402
from ssd_ros_training.export import export_onnx  # noqa: E402
from ssd_ros_training.models import ModelConfig, build_model, raw_model_spec  # noqa: E402
from torchvision.models.detection.image_list import ImageList  # noqa: E402

from ssd_ros.core import Detector  # noqa: E402
from ssd_ros.core.priors import prior_boxes  # noqa: E402
from ssd_ros.datasets import load_dataset  # noqa: E402

CUSTOM_SCALES = (0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9)


def torchvision_anchors(model, width: int, height: int) -> np.ndarray:
    """The anchors torchvision's SSD matches and decodes against, as normalised cx, cy, w, h."""
    model.eval()
    images = torch.zeros(1, 3, height, width)
    with torch.no_grad():
        features = list(model.backbone(images).values())
        (anchors,) = model.anchor_generator(ImageList(images, [(height, width)]), features)
    x1, y1, x2, y2 = anchors.unbind(1)
    return torch.stack([(x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height],
                       1).numpy()


@pytest.mark.parametrize("config", [
    ModelConfig(width_mult=0.5),
    ModelConfig(width_mult=0.5, input_size=(256, 192), anchor_scales=CUSTOM_SCALES),
    ModelConfig(arch="ssd300_vgg16", input_size=(400, 300)),
], ids=["ssdlite-default", "ssdlite-256x192-custom-scales", "ssd300-400x300"])
def test_core_priors_equal_the_trained_anchors(config):
    model = build_model(config, 3)
    spec = raw_model_spec(config, ("background", "a", "b"), model)
    width, height = config.size()
    assert (spec.input.width, spec.input.height) == (width, height)
    ours = prior_boxes(spec.priors, width, height)
    np.testing.assert_allclose(ours, torchvision_anchors(model, width, height), atol=2e-6)
    if config.anchor_scales:
        assert spec.priors.scales == CUSTOM_SCALES


def test_bad_anchor_scales_and_input_sizes_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="anchor_scales needs 7 positive values"):
        build_model(ModelConfig(anchor_scales=(0.1, 0.2)), 3)
    small = ModelConfig(arch="ssd300_vgg16", input_size=(320, 256))
    with pytest.raises(ValueError, match=r"input size 320x256 does not fit .* use a larger --input-size"):
        raw_model_spec(small, ("background", "a"), build_model(small, 2))


@pytest.fixture(scope="module")
def custom_checkpoint(tiny_voc, start_weights, tmp_path_factory):
    torch.set_num_threads(2)
    out = tmp_path_factory.mktemp("custom")
    result = train(TrainConfig(data=str(tiny_voc), out=str(out), width_mult=0.5, input_size=(256, 192),
                               anchor_scales=CUSTOM_SCALES, epochs=1, batch_size=8, lr=1e-4, val_every=1, workers=0,
                               threads=2, warmup_iterations=2, weights=str(start_weights), tensorboard=False))
    return result.last_checkpoint


def test_custom_model_exports_and_runs_in_the_detector_like_torch(custom_checkpoint, tiny_voc, tmp_path):
    images = [cv2.imread(str(a.image_path))[:, :, ::-1].copy() for a in load_dataset(tiny_voc, "voc", "val")][:3]
    spec = export_onnx(custom_checkpoint, tmp_path / "custom.onnx", images)
    assert (spec.input.width, spec.input.height) == (256, 192)
    onnx_detector = Detector.load(tmp_path / "custom.onnx")
    assert onnx_detector.spec.provenance["model_config"]["anchor_scales"] == list(CUSTOM_SCALES)
    torch_detector = Detector.load(custom_checkpoint, backend="torch")  # raw head + the checkpoint's priors
    assert_detectors_match_checkpoint([onnx_detector, torch_detector], custom_checkpoint, images, (256, 192))
