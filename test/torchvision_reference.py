"""torchvision SSD models as references for parity tests and benchmarks (needs torch + torchvision).

A test helper (test/ is put on sys.path by pytest; benchmarks and tools/gpu_check.py add it).

- ``random_ssd(arch, num_classes, seed)``: a torchvision SSD with random weights whose BatchNorm
  statistics are re-estimated on random images. Without that, torchvision's default init makes
  SSDlite activations collapse to denormals (~1e-27): outputs become meaningless, timings wrong
  and parity trivially true. SSD300's random class logits are instead huge (scores saturate at
  1.0 and tie), so the classification head is scaled to logits of standard deviation ~2.
  ``assert_outputs_are_normal`` checks both.
- ``save_checkpoint``: the model as a checkpoint (ssd_ros.core.checkpoint) the torch backend reads.
- ``export_raw_onnx``: the backbone and head as ONNX (outputs ``scores`` logits [B,N,C] and
  ``boxes`` offsets [B,N,4]) with the matching ModelSpec in its metadata, for the other backends.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ssd_ros.core.backends.torch_backend import build_torchvision_ssd
from ssd_ros.core.checkpoint import write_checkpoint
from ssd_ros.core.spec import ModelSpec
from ssd_ros.core.torchvision_ssd import canonical_architecture, torchvision_spec

if TYPE_CHECKING:
    from torchvision.models.detection.ssd import SSD

TARGET_LOGIT_STD = 2.0


def labels_for(num_classes: int) -> tuple[str, ...]:
    return ("background", *(f"class_{index}" for index in range(1, num_classes)))


class RawHead(nn.Module):
    """Backbone + head of a torchvision SSD: normalised input -> (class logits, box offsets)."""

    def __init__(self, model: SSD) -> None:
        super().__init__()
        self.backbone, self.head = model.backbone, model.head

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outputs = self.head(list(self.backbone(images).values()))
        return outputs["cls_logits"], outputs["bbox_regression"]


def random_ssd(arch: str, num_classes: int, seed: int, calibration_batches: int = 3,
               width_mult: float = 1.0) -> nn.Module:
    torch.manual_seed(seed)
    model = build_torchvision_ssd(arch, num_classes, width_mult)
    spec = torchvision_spec(arch, labels_for(num_classes))
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over the calibration batches
    raw = RawHead(model).train()
    mean = torch.tensor(spec.input.mean).view(1, 3, 1, 1)
    std = torch.tensor(spec.input.std).view(1, 3, 1, 1)
    with torch.no_grad():
        for _ in range(calibration_batches):
            pixels = torch.randint(0, 256, (2, 3, spec.input.height, spec.input.width)).float()
            raw((pixels - mean) / std)
        raw.eval()
        logits, _ = raw((pixels - mean) / std)
        spread = float(logits.std())
        if spread > TARGET_LOGIT_STD:
            for layer in model.head.classification_head.module_list:
                last_conv = [m for m in layer.modules() if isinstance(m, nn.Conv2d)][-1]
                last_conv.weight.mul_(TARGET_LOGIT_STD / spread)
                assert last_conv.bias is not None  # torchvision's SSD head convolutions have biases
                last_conv.bias.mul_(TARGET_LOGIT_STD / spread)
    return model.eval()


def assert_outputs_are_normal(logits: np.ndarray, offsets: np.ndarray) -> None:
    for name, values in (("class logits", logits), ("box offsets", offsets)):
        spread = float(np.std(values))
        if not 1e-3 < spread < 10 or not np.isfinite(values).all():
            raise AssertionError(f"{name} have std {spread:g}: the random model's activations collapsed or "
                                 "exploded, comparisons with it would be meaningless")


def save_checkpoint(model: SSD, arch: str, path: Path) -> Path:
    num_classes = model.head.classification_head.num_columns
    return write_checkpoint({"arch": canonical_architecture(arch), "labels": list(labels_for(num_classes)),
                             "state_dict": model.state_dict()}, path)


def export_raw_onnx(model: SSD, arch: str, path: Path, opset: int = 17) -> ModelSpec:
    import onnx

    num_classes = model.head.classification_head.num_columns
    spec = torchvision_spec(arch, labels_for(num_classes))
    example = torch.zeros(1, 3, spec.input.height, spec.input.width)
    torch.onnx.export(RawHead(model).eval(), (example,), str(path), input_names=["images"],
                      output_names=["scores", "boxes"], opset_version=opset, dynamo=False,
                      dynamic_axes={"images": {0: "batch"}, "scores": {0: "batch"}, "boxes": {0: "batch"}})
    exported = onnx.load(str(path))
    for key, value in spec.to_onnx_metadata().items():
        exported.metadata_props.add(key=key, value=value)
    onnx.save(exported, str(path))
    return spec
