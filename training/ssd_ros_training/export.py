"""Export a trained checkpoint to a self-describing ONNX model the core Detector runs as is.

The graph takes the normalised input [B, 3, H, W] and ends in decoding: ``scores`` [B, N, C]
(softmax, class 0 = background) and ``boxes`` [B, N, 4] (x1, y1, x2, y2 in 0..1 of the input), the
pytorch-ssd / jetson-inference convention. The priors decoded in the graph come from the
checkpoint's raw ModelSpec, i.e. the anchors the model was trained with (input size and anchor
scales included). Its ModelSpec (labels, input size, mean/std, arch) and provenance (training
command, model config, dataset, validation mAP) go into ``metadata_props``. Before the file is
written for good, onnxruntime must reproduce PyTorch's outputs on real images.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torchvision.models.detection.ssd import SSD

from ssd_ros.core.boxes import MAX_LOG_SCALE
from ssd_ros.core.checkpoint import MODEL_KEYS, CheckpointError, checkpoint_spec, read_checkpoint
from ssd_ros.core.priors import prior_boxes
from ssd_ros.core.spec import ModelSpec, OutputSpec
from ssd_ros_training.models import ModelConfig, build_model

OPSET = 17
PROVENANCE_KEY = "ssd_ros.provenance"


class DecodedSSD(nn.Module):
    """torchvision SSD backbone + head with softmax and prior decoding inside the graph."""

    priors: torch.Tensor  # a registered buffer

    def __init__(self, model: SSD, raw_spec: ModelSpec) -> None:
        super().__init__()
        assert raw_spec.priors is not None
        self.backbone, self.head = model.backbone, model.head
        priors = prior_boxes(raw_spec.priors, raw_spec.input.width, raw_spec.input.height)
        self.register_buffer("priors", torch.from_numpy(priors))
        self.variances = raw_spec.priors.variances

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outputs = self.head(list(self.backbone(images).values()))
        scores = torch.softmax(outputs["cls_logits"], dim=-1)
        offsets = outputs["bbox_regression"]
        centres = offsets[..., :2] * self.variances[0] * self.priors[:, 2:] + self.priors[:, :2]
        sizes = torch.exp(torch.clamp(offsets[..., 2:] * self.variances[1], max=MAX_LOG_SCALE)) * self.priors[:, 2:]
        return scores, torch.cat([centres - sizes / 2, centres + sizes / 2], dim=-1)


def load_checkpoint(path: Path) -> tuple[SSD, dict]:
    checkpoint = read_checkpoint(path, "checkpoint to export", MODEL_KEYS)
    try:
        model = build_model(ModelConfig.from_checkpoint(checkpoint), len(checkpoint["labels"]))
        model.load_state_dict(checkpoint["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"checkpoint to export {path} does not fit its own architecture ({type(error).__name__}: "
                              f"{' '.join(str(error).split())[:300]})") from None
    return model.eval(), checkpoint


def raw_spec_of(checkpoint: dict) -> ModelSpec:
    """The raw-head ModelSpec the model was trained with (older checkpoints: torchvision's defaults)."""
    return checkpoint_spec(checkpoint, "checkpoint model_spec")


def decoded_spec(checkpoint: dict) -> ModelSpec:
    provenance = {key: checkpoint[key] for key in ("command", "dataset", "validation", "epoch", "width_mult",
                                                   "model_config") if key in checkpoint}
    return replace(raw_spec_of(checkpoint), output=OutputSpec(convention="decoded", box_format="xyxy",
                                                              normalized=True, score_activation="none"),
                   priors=None, provenance=provenance)


def write_metadata(path: Path, spec: ModelSpec, source: Path | None = None) -> None:
    """Replace the ssd_ros metadata of the ONNX file at ``path`` by ``spec`` (read from ``source`` or path)."""
    import onnx

    model = onnx.load(str(source or path))
    kept = [(p.key, p.value) for p in model.metadata_props if not p.key.startswith("ssd_ros.")]
    del model.metadata_props[:]
    for key, value in [*kept, *spec.to_onnx_metadata().items(),
                       (PROVENANCE_KEY, json.dumps(dict(spec.provenance), sort_keys=True))]:
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))


def export_onnx(checkpoint_path: Path, out: Path, check_images: list[np.ndarray] | None = None,
                tolerance: float = 1e-4) -> ModelSpec:
    model, checkpoint = load_checkpoint(checkpoint_path)
    raw_spec = raw_spec_of(checkpoint)
    graph = DecodedSSD(model, raw_spec).eval()
    example = torch.zeros(1, 3, raw_spec.input.height, raw_spec.input.width)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(graph, (example,), str(out), input_names=["images"], output_names=["scores", "boxes"],
                      opset_version=OPSET, dynamo=False,
                      dynamic_axes={"images": {0: "batch"}, "scores": {0: "batch"}, "boxes": {0: "batch"}})
    spec = decoded_spec(checkpoint)
    write_metadata(out, spec)
    check_parity(graph, out, check_images or [], tolerance)
    return spec


def check_parity(graph: nn.Module, onnx_path: Path, images: list[np.ndarray], tolerance: float) -> None:
    """onnxruntime must reproduce the PyTorch graph on the given RGB frames, or the export is removed."""
    from ssd_ros.core import Detector

    detector = Detector.load(onnx_path)
    for image in images:
        batch, _ = detector._preprocess(image, "rgb")
        with torch.inference_mode():
            torch_scores, torch_boxes = graph(torch.from_numpy(batch))
        outputs = detector.backend.run(batch)
        error = max(float(np.abs(outputs["scores"] - torch_scores.numpy()).max()),
                    float(np.abs(outputs["boxes"] - torch_boxes.numpy()).max()))
        if error > tolerance:
            onnx_path.unlink()
            raise RuntimeError(f"exported model differs from PyTorch by {error:.2e} (> {tolerance}); "
                               "export removed")
