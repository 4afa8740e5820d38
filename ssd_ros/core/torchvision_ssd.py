"""ModelSpecs of torchvision's SSD architectures (no torch import: plain facts about them).

Contract: ``torchvision_spec(arch, labels)`` describes the raw head outputs of torchvision's model
(``scores`` = class logits [B, N, C], ``boxes`` = offsets [B, N, 4] with BoxCoder weights
(10, 10, 5, 5), i.e. variances (0.1, 0.2)), the input as torchvision's GeneralizedRCNNTransform
prepares it (fixed size, stretched; mean/std converted to 0..255 pixel units) and its
DefaultBoxGenerator priors, so our pre/post-processing reproduces ``SSD.forward`` in eval mode.
"""
from __future__ import annotations

from ssd_ros.core.spec import InputSpec, ModelSpec, OutputSpec, PriorSpec

ARCHITECTURES = {
    "ssd300_vgg16": {
        "size": 300,
        "mean": (0.48235, 0.45882, 0.40784),
        "std": (1.0 / 255.0, 1.0 / 255.0, 1.0 / 255.0),
        "feature_maps": (38, 19, 10, 5, 3, 1),
        "aspect_ratios": ((2,), (2, 3), (2, 3), (2, 3), (2,), (2,)),
        "scales": (0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05),
        "steps": (8, 16, 32, 64, 100, 300),
    },
    "ssdlite320_mobilenet_v3_large": {
        "size": 320,
        "mean": (0.5, 0.5, 0.5),
        "std": (0.5, 0.5, 0.5),
        "feature_maps": (20, 10, 5, 3, 2, 1),
        "aspect_ratios": ((2, 3),) * 6,
        "min_ratio": 0.2,
        "max_ratio": 0.95,
    },
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
    size = int(facts["size"])  # type: ignore[call-overload]
    mean = tuple(255.0 * m for m in facts["mean"])  # type: ignore[union-attr]
    std = tuple(255.0 * s for s in facts["std"])  # type: ignore[union-attr]
    priors = PriorSpec(
        scheme="torchvision",
        feature_maps=tuple((f, f) for f in facts["feature_maps"]),  # type: ignore[union-attr]
        variances=(0.1, 0.2),
        clip=True,
        aspect_ratios=tuple(tuple(float(r) for r in ratios) for ratios in facts["aspect_ratios"]),  # type: ignore[union-attr]
        min_ratio=float(facts.get("min_ratio", 0.15)),  # type: ignore[arg-type]
        max_ratio=float(facts.get("max_ratio", 0.9)),  # type: ignore[arg-type]
        scales=tuple(facts["scales"]) if "scales" in facts else None,  # type: ignore[arg-type]
        steps=tuple(facts["steps"]) if "steps" in facts else None,  # type: ignore[arg-type]
    )
    return ModelSpec(
        input=InputSpec(width=size, height=size, mean=mean, std=std),  # type: ignore[arg-type]
        labels=tuple(labels),
        output=OutputSpec(convention="raw", score_activation="softmax"),
        background_index=0,
        priors=priors,
        architecture=name,
    )
