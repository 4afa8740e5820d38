"""PyTorch backend for torchvision SSD checkpoints (eager mode; mainly a reference and for debugging).

Checkpoints are read through ssd_ros.core.checkpoint (the format's one home; ``weights_only=True``).
The backend returns the raw head outputs
(``scores`` logits, ``boxes`` offsets) for inputs pre-processed by ssd_ros, so the usual
post-processing applies.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ssd_ros.core.backends.base import Backend
from ssd_ros.core.checkpoint import CheckpointError, checkpoint_spec, read_checkpoint, state_dict_of
from ssd_ros.core.spec import ModelSpec
from ssd_ros.core.torchvision_ssd import canonical_architecture

if TYPE_CHECKING:  # torchvision is imported only when a model is built
    from torchvision.models.detection.ssd import SSD


def read_model_checkpoint(model_path: Path) -> dict:
    checkpoint = read_checkpoint(model_path, "torch backend model", ("arch", "labels"))
    if not ({"state_dict", "model"} & set(checkpoint)):
        raise CheckpointError(f"{model_path} lacks ['state_dict']: the torch backend reads checkpoints with arch, "
                              "labels and state_dict (as written by ssd-ros train)")
    return checkpoint


def spec_from_checkpoint(model_path: Path) -> ModelSpec:
    return checkpoint_spec(read_model_checkpoint(model_path), str(model_path))


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
        checkpoint = read_model_checkpoint(model_path)
        self.model = build_torchvision_ssd(checkpoint["arch"], len(checkpoint["labels"]),
                                           float(checkpoint.get("width_mult", 1.0)))
        self.model.load_state_dict(state_dict_of(checkpoint))
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
