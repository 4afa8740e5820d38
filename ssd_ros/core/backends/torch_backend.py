"""PyTorch backend for torchvision SSD checkpoints (eager mode; mainly a reference and for debugging).

A checkpoint is a ``torch.save`` dict with ``arch`` (a torchvision SSD name, see torchvision_ssd.py),
``labels`` (class names, background first) and ``state_dict`` (or ``model``); it is loaded with
``weights_only=True``. An optional ``model_spec`` (a ModelSpec document, written by ssd-ros train)
describes a non-default input size or anchor scales. The backend returns the raw head outputs
(``scores`` logits, ``boxes`` offsets) for inputs pre-processed by ssd_ros, so the usual
post-processing applies.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ssd_ros.core.backends.base import Backend
from ssd_ros.core.errors import ModelLoadError
from ssd_ros.core.spec import ModelSpec
from ssd_ros.core.torchvision_ssd import canonical_architecture, torchvision_spec

if TYPE_CHECKING:  # torchvision is imported only when a model is built
    from torchvision.models.detection.ssd import SSD


def read_checkpoint(model_path: Path) -> dict:
    try:
        checkpoint = torch.load(str(model_path), map_location="cpu", weights_only=True)
    except Exception as error:
        raise ModelLoadError(f"cannot read PyTorch checkpoint {model_path}: {error}") from None
    missing = [key for key in ("arch", "labels") if key not in checkpoint]
    if missing or not ({"state_dict", "model"} & set(checkpoint)):
        raise ModelLoadError(f"{model_path} lacks {missing or ['state_dict']}: the torch backend reads "
                             "checkpoints with arch, labels and state_dict (as written by ssd-ros train)")
    return checkpoint


def spec_from_checkpoint(model_path: Path) -> ModelSpec:
    checkpoint = read_checkpoint(model_path)
    if "model_spec" in checkpoint:  # ssd-ros train stores it: input size and anchors may differ from torchvision's
        return ModelSpec.from_dict(checkpoint["model_spec"], str(model_path))
    return torchvision_spec(checkpoint["arch"], tuple(checkpoint["labels"]))


def build_torchvision_ssd(arch: str, num_classes: int, width_mult: float = 1.0) -> SSD:
    from torchvision.models import detection

    name = canonical_architecture(arch)
    options = {"width_mult": width_mult} if name.startswith("ssdlite") and width_mult != 1.0 else {}
    return getattr(detection, name)(weights=None, weights_backbone=None, num_classes=num_classes, **options)


class TorchBackend(Backend):
    name = "torch"
    input_name = "images"
    output_names = ("scores", "boxes")
    batch_size = None

    def __init__(self, model_path: Path, device: str, num_threads: int) -> None:
        checkpoint = read_checkpoint(model_path)
        self.model = build_torchvision_ssd(checkpoint["arch"], len(checkpoint["labels"]),
                                           float(checkpoint.get("width_mult", 1.0)))
        self.model.load_state_dict(checkpoint["state_dict"] if "state_dict" in checkpoint else checkpoint["model"])
        self.device = device if device != "cpu" else "cpu"
        self.model.eval().to(self.device)
        if num_threads > 0:
            torch.set_num_threads(num_threads)

    @torch.inference_mode()
    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        images = torch.from_numpy(batch).to(self.device)
        features = list(self.model.backbone(images).values())
        head = self.model.head(features)
        return {"scores": head["cls_logits"].cpu().numpy(), "boxes": head["bbox_regression"].cpu().numpy()}


def load(model_path: Path, device: str, num_threads: int, precision: str | None, **_options) -> Backend:
    return TorchBackend(model_path, device, num_threads)
