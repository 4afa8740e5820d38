"""torchvision SSD models for any class count, input size and anchor scales, from scratch or a local checkpoint.

Contract:
- ``ModelConfig`` is everything that shapes the network and its default boxes: the torchvision
  architecture, MobileNetV3 width (SSDlite only), the input size (width, height) in pixels that
  torchvision's transform stretches every image to (None: the architecture's own, 320x320 or
  300x300) and the DefaultBoxGenerator ``anchor_scales`` (fractions of the input side, one per
  feature map plus one; None: torchvision's). It goes into every checkpoint.
- ``build_model(config, num_classes)`` returns torchvision's SSD configured that way;
  ``raw_model_spec(config, labels, model)`` the ssd_ros ModelSpec of its raw head outputs with the
  priors the anchor generator makes (feature-map sizes measured on the built backbone), so export
  and the core's torch backend decode with exactly the anchors the model was trained with.
- ``--weights`` takes a torchvision COCO detection checkpoint file (e.g. the downloaded
  ssdlite320_mobilenet_v3_large_coco-*.pth) or an ImageNet backbone file, loaded with
  ``weights_only=True``: every tensor whose name and shape fit is copied, the class-dependent head
  layers stay freshly initialised for the new classes.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
from torchvision.models.detection.ssd import SSD

from ssd_ros.core.backends.torch_backend import build_torchvision_ssd
from ssd_ros.core.checkpoint import read_checkpoint
from ssd_ros.core.spec import ModelSpec
from ssd_ros.core.torchvision_ssd import ARCHITECTURES, canonical_architecture, torchvision_spec


@dataclass(frozen=True)
class ModelConfig:
    arch: str = "ssdlite320_mobilenet_v3_large"
    width_mult: float = 1.0
    input_size: tuple[int, int] | None = None  # (width, height) pixels
    anchor_scales: tuple[float, ...] | None = None

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> ModelConfig:
        """The config stored by ssd-ros train (older checkpoints: arch and width_mult only)."""
        stored = checkpoint.get("model_config") or {"arch": checkpoint["arch"],
                                                     "width_mult": checkpoint.get("width_mult", 1.0)}
        size, scales = stored.get("input_size"), stored.get("anchor_scales")
        return cls(canonical_architecture(stored["arch"]), float(stored.get("width_mult", 1.0)),
                   tuple(size) if size else None, tuple(scales) if scales else None)

    def size(self) -> tuple[int, int]:
        facts = ARCHITECTURES[canonical_architecture(self.arch)]
        return self.input_size or (facts.size, facts.size)


def build_model(config: ModelConfig, num_classes: int) -> SSD:
    name = canonical_architecture(config.arch)
    facts = ARCHITECTURES[name]
    if config.width_mult != 1.0 and not name.startswith("ssdlite"):
        raise ValueError(f"width_mult applies to ssdlite320 only, not {name}")
    model = build_torchvision_ssd(name, num_classes, config.width_mult)
    width, height = config.size()
    if config.input_size is not None:
        if width < 32 or height < 32:
            raise ValueError(f"input size {width}x{height} is too small: use at least 32x32 pixels")
        model.transform.fixed_size = (width, height)  # torchvision's fixed_size is (width, height)
        model.transform.min_size, model.transform.max_size = (min(width, height),), max(width, height)
    if config.anchor_scales is not None or config.input_size is not None:
        maps = len(facts.feature_maps)
        scales = list(config.anchor_scales or facts.scales or []) or None  # facts.scales: torchvision's own
        if scales is not None and (len(scales) != maps + 1 or any(s <= 0 for s in scales)):
            raise ValueError(f"{name} has {maps} feature maps: anchor_scales needs {maps + 1} positive values "
                             f"(one per map plus one), got {config.anchor_scales}")
        # torchvision's steps assume its own input size: a chosen size puts centres on the feature grid
        steps = list(facts.steps) if facts.steps and config.input_size is None else None
        ratios = [list(r) for r in facts.aspect_ratios]
        model.anchor_generator = (DefaultBoxGenerator(ratios, scales=scales, steps=steps) if scales else
                                  DefaultBoxGenerator(ratios, facts.min_ratio, facts.max_ratio, steps=steps))
    return model


def feature_map_sizes(model: SSD, width: int, height: int) -> tuple[tuple[int, int], ...]:
    """[height, width] of each backbone output for this input size (eval mode: BN statistics untouched)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            features = model.backbone(torch.zeros(1, 3, height, width))
    except RuntimeError as error:
        raise ValueError(f"input size {width}x{height} does not fit this backbone ({error}): "
                         "use a larger --input-size") from None
    finally:
        model.train(was_training)
    return tuple((int(f.shape[-2]), int(f.shape[-1])) for f in features.values())


def raw_model_spec(config: ModelConfig, labels: tuple[str, ...] | list[str], model: SSD) -> ModelSpec:
    base = torchvision_spec(config.arch, tuple(labels))
    assert base.priors is not None
    width, height = config.size()
    generator = model.anchor_generator
    priors = replace(base.priors, feature_maps=feature_map_sizes(model, width, height),
                     scales=tuple(generator.scales) if generator.scales else None,
                     steps=tuple(generator.steps) if generator.steps else None)
    return replace(base, input=replace(base.input, width=width, height=height), priors=priors)


def load_matching_weights(module: nn.Module, path: Path, prefix: str = "") -> tuple[int, int]:
    """Copy every tensor of the checkpoint whose name and shape match; (loaded, skipped) counts."""
    checkpoint = read_checkpoint(path, "--weights file")
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
