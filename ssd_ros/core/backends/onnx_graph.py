"""What a TensorRT build needs to know about an ONNX graph, read with the ``onnx`` package only.

Contract:
- ``input_shape(model)``: the first graph input's shape, -1 where the batch is dynamic. Height,
  width and channels must be fixed; otherwise ModelLoadError says to re-export with a fixed size.
- ``batch_profile(shape, max_batch_size)``: (min, opt, max) batch of the optimization profile:
  (1, max, max) for a dynamic batch axis, (n, n, n) for a fixed batch of n.
- ``graph_precision(model)``: "int8" when the graph has Q/DQ nodes, "fp16" when it holds float16
  tensors (e.g. a ModelOpt AutoCast export), else "fp32".
- ``strongly_typed_precision(model, requested)``: for TensorRT 11+, which builds strongly typed
  networks only (the precision is the graph's own; builder precision flags no longer exist): the
  precision the engine will have, or ModelLoadError when the graph cannot give what was asked,
  naming how to make a graph that can. INT8 needs symmetric Q/DQ: int8 zero points, all 0
  (onnxruntime's default static quantization, and ``ssd-ros export --int8``, give asymmetric
  uint8, which TensorRT does not accept).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

from ssd_ros.core.errors import ModelLoadError

PRECISIONS = ("fp32", "fp16", "int8")
FP16_HINT = ("convert it with NVIDIA ModelOpt AutoCast (pip install nvidia-modelopt; python -m "
             "modelopt.onnx.autocast --onnx_path MODEL.onnx --output_path MODEL_fp16.onnx) and load the converted "
             "file, or use precision fp32")
INT8_HINT = ("quantize it with symmetric int8 Q/DQ (onnxruntime.quantization.quantize_static with "
             "activation_type=QuantType.QInt8, weight_type=QuantType.QInt8 and extra_options={'ActivationSymmetric': "
             "True, 'WeightSymmetric': True}, or NVIDIA ModelOpt's ONNX INT8 quantization), or use precision fp16/fp32")


def load_graph(model: str | Path | onnx.ModelProto) -> onnx.GraphProto:
    if isinstance(model, onnx.ModelProto):
        return model.graph
    return onnx.load(str(model), load_external_data=False).graph


def input_shape(model: str | Path | onnx.ModelProto) -> tuple[int, ...]:
    graph = load_graph(model)
    initializers = {init.name for init in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if not inputs:
        raise ModelLoadError("the ONNX graph has no input; re-export the model")
    dims = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else -1
                 for d in inputs[0].type.tensor_type.shape.dim)
    if not dims or any(d < 0 for d in dims[1:]):
        raise ModelLoadError(f"TensorRT needs a fixed input size, but input {inputs[0].name!r} has shape "
                             f"{list(dims)} (-1: dynamic): re-export the model with a fixed height and width")
    return dims


def batch_profile(shape: tuple[int, ...], max_batch_size: int) -> tuple[int, int, int]:
    if max_batch_size < 1:
        raise ModelLoadError(f"max_batch_size must be at least 1, got {max_batch_size}")
    if shape[0] > 0:
        return shape[0], shape[0], shape[0]
    return 1, max_batch_size, max_batch_size


def _initializer_arrays(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    arrays = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:  # Constant nodes feed zero points in some exporters
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            arrays[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return arrays


def graph_precision(model: str | Path | onnx.ModelProto) -> str:
    graph = load_graph(model)
    if any(node.op_type in ("QuantizeLinear", "DequantizeLinear") for node in graph.node):
        return "int8"
    float16 = TensorProto.FLOAT16
    if any(init.data_type == float16 for init in graph.initializer):
        return "fp16"
    for node in graph.node:
        if node.op_type == "Cast" and any(a.name == "to" and a.i == float16 for a in node.attribute):
            return "fp16"
    if any(v.type.tensor_type.elem_type == float16 for v in (*graph.value_info, *graph.output)):
        return "fp16"
    return "fp32"


def asymmetric_quantizers(model: str | Path | onnx.ModelProto) -> list[str]:
    """Q/DQ nodes whose quantization is not symmetric int8 (uint8, or a non-zero zero point)."""
    graph = load_graph(model)
    arrays = _initializer_arrays(graph)
    offenders = []
    for node in graph.node:
        if node.op_type not in ("QuantizeLinear", "DequantizeLinear"):
            continue
        zero_point = arrays.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        if zero_point is None:
            # QuantizeLinear without a zero point outputs uint8; DequantizeLinear takes its input's type
            quantized = arrays.get(node.input[0]) if node.op_type == "DequantizeLinear" else None
            if quantized is None or quantized.dtype != np.int8:
                offenders.append(f"{node.name or node.output[0]} (no int8 zero point)")
        elif zero_point.dtype != np.int8 or np.any(zero_point != 0):
            offenders.append(f"{node.name or node.output[0]} (zero point {zero_point.dtype} "
                             f"{np.unique(zero_point)[:3].tolist()})")
    return offenders


def strongly_typed_precision(model: str | Path | onnx.ModelProto, requested: str | None) -> str:
    own = graph_precision(model)
    name = model if not isinstance(model, onnx.ModelProto) else "the model"
    if requested and requested not in PRECISIONS:
        raise ModelLoadError(f"tensorrt: precision {requested!r} not supported; use {', '.join(PRECISIONS)}")
    if requested == "int8" or (not requested and own == "int8"):
        if own != "int8":
            raise ModelLoadError(f"TensorRT 11+ builds strongly typed networks: INT8 comes from Q/DQ nodes in the "
                                 f"ONNX graph, and {name} has none: {INT8_HINT}")
        offenders = asymmetric_quantizers(model)
        if offenders:
            raise ModelLoadError(f"TensorRT needs symmetric int8 quantization (int8 zero points, all 0), but {name} "
                                 f"has {len(offenders)} other Q/DQ nodes, e.g. {offenders[0]} (ssd-ros export "
                                 f"--int8 writes asymmetric uint8 for onnxruntime on CPU): {INT8_HINT}")
        return "int8"
    if requested == "fp16" and own != "fp16":
        raise ModelLoadError(f"TensorRT 11+ builds strongly typed networks: FP16 must be in the ONNX graph, and "
                             f"{name} is {own}: {FP16_HINT}")
    if requested == "fp32" and own != "fp32":
        raise ModelLoadError(f"TensorRT 11+ builds strongly typed networks: {name} is {own} and builds as {own}; "
                             f"set precision {own} (or empty), or load the fp32 model")
    return requested or own
