"""torchvision SSD models for any class count, from scratch or from a local checkpoint.

``--weights`` takes a torchvision COCO detection checkpoint file (e.g. the downloaded
ssdlite320_mobilenet_v3_large_coco-*.pth): its backbone (and any head layer whose shape fits) is
loaded with ``weights_only=True``; the class-dependent head layers are re-initialised for the new
classes. ``--backbone-weights`` takes an ImageNet backbone checkpoint the same way.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ssd_ros.core.backends.torch_backend import build_torchvision_ssd as build_model

__all__ = ["build_model", "load_matching_weights"]


def load_matching_weights(module: nn.Module, path: Path, prefix: str = "") -> tuple[int, int]:
    """Copy every tensor of the checkpoint whose name and shape match; (loaded, skipped) counts."""
    checkpoint = torch.load(str(path), map_location="cpu", weights_only=True)
    state = checkpoint.get("state_dict", checkpoint.get("model", checkpoint)) if isinstance(checkpoint, dict) else {}
    own = module.state_dict()
    matched = {}
    for name, tensor in state.items():
        key = name[len(prefix):] if prefix and name.startswith(prefix) else name
        if key in own and own[key].shape == tensor.shape:
            matched[key] = tensor
    if not matched:
        raise ValueError(f"{path}: no tensor matches the model (wrong architecture or file?)")
    module.load_state_dict(matched, strict=False)
    return len(matched), len(state) - len(matched)
