"""ModelSpecs of torchvision's SSD architectures (no torch import: plain facts about them).

Contract: ``torchvision_spec(arch, labels)`` describes the raw head outputs of torchvision's model
(``scores`` = class logits [B, N, C], ``boxes`` = offsets [B, N, 4] with BoxCoder weights
(10, 10, 5, 5), i.e. variances (0.1, 0.2)), the input as torchvision's GeneralizedRCNNTransform
prepares it (fixed size, stretched; mean/std converted to 0..255 pixel units) and its
DefaultBoxGenerator priors, so our pre/post-processing reproduces ``SSD.forward`` in eval mode.
"""
from __future__ import annotations

from dataclasses import dataclass

from ssd_ros.core.spec import InputSpec, ModelSpec, OutputSpec, PriorSpec


@dataclass(frozen=True)
class ArchitectureFacts:
    size: int
    mean: tuple[float, float, float]  # torchvision's image_mean / image_std, on 0..1 pixels
    std: tuple[float, float, float]
    feature_maps: tuple[int, ...]
    aspect_ratios: tuple[tuple[float, ...], ...]
    min_ratio: float = 0.15
    max_ratio: float = 0.9
    scales: tuple[float, ...] | None = None
    steps: tuple[int, ...] | None = None


ARCHITECTURES = {
    "ssd300_vgg16": ArchitectureFacts(
        size=300, mean=(0.48235, 0.45882, 0.40784), std=(1.0 / 255.0, 1.0 / 255.0, 1.0 / 255.0),
        feature_maps=(38, 19, 10, 5, 3, 1), aspect_ratios=((2,), (2, 3), (2, 3), (2, 3), (2,), (2,)),
        scales=(0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05), steps=(8, 16, 32, 64, 100, 300)),
    "ssdlite320_mobilenet_v3_large": ArchitectureFacts(
        size=320, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), feature_maps=(20, 10, 5, 3, 2, 1),
        aspect_ratios=((2, 3),) * 6, min_ratio=0.2, max_ratio=0.95),
}
ALIASES = {"ssd300": "ssd300_vgg16", "ssdlite320": "ssdlite320_mobilenet_v3_large"}


def canonical_architecture(arch: str) -> str:
    name = ALIASES.get(arch, arch)
    if name not in ARCHITECTURES:
        known = ", ".join([*ARCHITECTURES, *ALIASES])
        raise ValueError(f"unknown architecture {arch!r}; known: {known}")
    return name


def torchvision_spec(arch: str, labels: tuple[str, ...] | list[str]) -> ModelSpec:
    name = canonical_architecture(arch)
    facts = ARCHITECTURES[name]
    mean = (255.0 * facts.mean[0], 255.0 * facts.mean[1], 255.0 * facts.mean[2])
    std = (255.0 * facts.std[0], 255.0 * facts.std[1], 255.0 * facts.std[2])
    priors = PriorSpec(
        scheme="torchvision",
        feature_maps=tuple((size, size) for size in facts.feature_maps),
        variances=(0.1, 0.2),
        clip=True,
        aspect_ratios=tuple(tuple(float(r) for r in ratios) for ratios in facts.aspect_ratios),
        min_ratio=facts.min_ratio,
        max_ratio=facts.max_ratio,
        scales=facts.scales,
        steps=facts.steps,
    )
    return ModelSpec(
        input=InputSpec(width=facts.size, height=facts.size, mean=mean, std=std),
        labels=tuple(labels),
        output=OutputSpec(convention="raw", score_activation="softmax"),
        background_index=0,
        priors=priors,
        architecture=name,
    )
