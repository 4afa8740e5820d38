"""Models that load but are wrong, built for tests: real ONNX graphs run by onnxruntime, never mocks.

- ``default_model_sidecar(path, **changes)``: the embedded default model's own description as a YAML
  sidecar, with top-level fields or ``input`` fields changed (e.g. fewer labels, another input size).
- ``dynamic_ssd(path, columns, priors)``: a small SSD-shaped graph (scores [B, priors, columns] after
  softmax, boxes [B, priors, 4] in 0..1) whose output shapes are symbolic, so nothing but running it
  tells how many score columns it has. Its weights are seeded; the answer depends on the input.
- ``classifier(path)``: a graph that is not an SSD at all (one [B, 10] output named ``scores`` and
  another named ``boxes``), for "SSD metadata on a non-SSD graph".
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import onnx
import yaml
from onnx import TensorProto, helper, numpy_helper

from ssd_ros.core.spec import read_onnx_metadata
from ssd_ros.resources import default_model_path


def default_description() -> dict:
    import json

    return json.loads(read_onnx_metadata(default_model_path())["ssd_ros.model_spec"])


def default_model_sidecar(path: Path, input_changes: dict | None = None, **changes) -> Path:
    document = copy.deepcopy(default_description())
    document.update(changes)
    document["input"].update(input_changes or {})
    path.write_text(yaml.safe_dump(document))
    return path


def _save(path: Path, nodes, inputs, outputs, initializers) -> Path:
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, initializer=initializers)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def dynamic_ssd(path: Path, columns: int, priors: int = 64, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    weights = {
        "score_weights": rng.normal(0, 1, (3, priors * columns)).astype(np.float32),
        "box_weights": rng.normal(0, 1, (3, priors * 4)).astype(np.float32),
        "score_shape": np.array([-1, priors, columns], np.int64),
        "box_shape": np.array([-1, priors, 4], np.int64),
        "halves": np.array([2, 2], np.int64),
    }
    nodes = [
        helper.make_node("GlobalAveragePool", ["images"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["features"]),
        helper.make_node("MatMul", ["features", "score_weights"], ["logits_flat"]),
        helper.make_node("Reshape", ["logits_flat", "score_shape"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["scores"], axis=-1),
        helper.make_node("MatMul", ["features", "box_weights"], ["box_flat"]),
        helper.make_node("Sigmoid", ["box_flat"], ["box_unit"]),
        helper.make_node("Reshape", ["box_unit", "box_shape"], ["corners"]),
        # x1, y1 = min, x2, y2 = max of two corner pairs: valid xyxy boxes in 0..1
        helper.make_node("Split", ["corners", "halves"], ["first", "second"], axis=2),
        helper.make_node("Min", ["first", "second"], ["low"]),
        helper.make_node("Max", ["first", "second"], ["high"]),
        helper.make_node("Concat", ["low", "high"], ["boxes"], axis=2),
    ]
    inputs = [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, "height", "width"])]
    outputs = [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", "priors", "classes"]),
               helper.make_tensor_value_info("boxes", TensorProto.FLOAT, ["batch", "priors", 4])]
    return _save(path, nodes, inputs, outputs, [numpy_helper.from_array(v, k) for k, v in weights.items()])


def classifier(path: Path) -> Path:
    weights = np.random.default_rng(1).normal(0, 1, (3, 10)).astype(np.float32)
    nodes = [helper.make_node("GlobalAveragePool", ["images"], ["pooled"]),
             helper.make_node("Flatten", ["pooled"], ["features"]),
             helper.make_node("MatMul", ["features", "weights"], ["scores"]),
             helper.make_node("Identity", ["scores"], ["boxes"])]
    inputs = [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, "height", "width"])]
    outputs = [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", "classes"]),
               helper.make_tensor_value_info("boxes", TensorProto.FLOAT, ["batch", "classes"])]
    return _save(path, nodes, inputs, outputs, [numpy_helper.from_array(weights, "weights")])


def describe(model: Path, labels: list[str], width: int = 64, height: int = 48) -> Path:
    """A YAML sidecar: decoded convention, the given labels (background first) and input size."""
    sidecar = model.with_suffix(".yaml")
    sidecar.write_text(yaml.safe_dump({
        "input": {"width": width, "height": height, "mean": [127.5] * 3, "std": [127.5] * 3},
        "labels": labels, "output": {"convention": "decoded"}}))
    return sidecar
