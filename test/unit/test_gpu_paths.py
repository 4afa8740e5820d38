"""The GPU paths' pure parts on real ONNX graphs and the real cuda-python module, without a GPU:
strongly typed precision rules (TensorRT 11), the dynamic batch profile, ORT's TensorRT provider
cache options, and the clear error a machine without a GPU gets. The engine build and inference
themselves run in `make gpu-check` (tools/gpu_check.py)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ssd_ros.core import ModelLoadError
from ssd_ros.core.backends import onnx_graph
from ssd_ros.resources import default_model_path


def conv_model(path: Path, cast_fp16: bool = False) -> Path:
    """A small conv net with a dynamic batch axis (what the exporters write)."""
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "w")
    nodes = [helper.make_node("Conv", ["images", "w"], ["features"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["features"], ["scores"])]
    if cast_fp16:
        nodes[1:1] = [helper.make_node("Cast", ["features"], ["half"], to=TensorProto.FLOAT16),
                      helper.make_node("Cast", ["half"], ["back"], to=TensorProto.FLOAT)]
        nodes[-1].input[0] = "back"
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, 16, 16])
    scores = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 4, 16, 16])
    graph = helper.make_graph(nodes, "g", [image], [scores], [weight])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def quantized(tmp_path: Path, symmetric: bool) -> Path:
    quantization = pytest.importorskip("onnxruntime.quantization")
    source = conv_model(tmp_path / "fp32.onnx")
    target = tmp_path / ("sym.onnx" if symmetric else "asym.onnx")

    class Reader(quantization.CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter([{"images": np.random.default_rng(i).random((1, 3, 16, 16), np.float32)}
                               for i in range(4)])

        def get_next(self):
            return next(self.items, None)

    activation = quantization.QuantType.QInt8 if symmetric else quantization.QuantType.QUInt8
    options = {"ActivationSymmetric": True, "WeightSymmetric": True} if symmetric else {}
    quantization.quantize_static(str(source), str(target), Reader(), quant_format=quantization.QuantFormat.QDQ,
                                 activation_type=activation, weight_type=quantization.QuantType.QInt8,
                                 extra_options=options)
    return target


def test_the_default_model_gets_a_dynamic_batch_profile():
    shape = onnx_graph.input_shape(default_model_path())
    assert shape[0] == -1 and all(d > 0 for d in shape[1:]), "the exporters write a dynamic batch axis"
    assert onnx_graph.batch_profile(shape, 4) == (1, 4, 4)
    assert onnx_graph.batch_profile((2, *shape[1:]), 4) == (2, 2, 2)
    with pytest.raises(ModelLoadError, match=r"max_batch_size must be at least 1"):
        onnx_graph.batch_profile(shape, 0)


def test_dynamic_height_is_refused_with_a_fix(tmp_path):
    model = conv_model(tmp_path / "m.onnx")
    loaded = onnx.load(str(model))
    loaded.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "H"
    with pytest.raises(ModelLoadError, match=r"needs a fixed input size.*re-export"):
        onnx_graph.input_shape(loaded)


def test_strongly_typed_precision_follows_the_graph(tmp_path):
    fp32 = conv_model(tmp_path / "m.onnx")
    fp16 = conv_model(tmp_path / "h.onnx", cast_fp16=True)
    assert onnx_graph.graph_precision(fp32) == "fp32" and onnx_graph.graph_precision(fp16) == "fp16"
    assert onnx_graph.strongly_typed_precision(fp32, None) == "fp32"
    assert onnx_graph.strongly_typed_precision(fp16, "fp16") == "fp16"
    with pytest.raises(ModelLoadError, match=r"FP16 must be in the ONNX graph.*modelopt.onnx.autocast"):
        onnx_graph.strongly_typed_precision(fp32, "fp16")
    with pytest.raises(ModelLoadError, match=r"INT8 comes from Q/DQ nodes.*has none"):
        onnx_graph.strongly_typed_precision(fp32, "int8")


def test_int8_on_strongly_typed_tensorrt_needs_symmetric_qdq(tmp_path):
    asymmetric = quantized(tmp_path, symmetric=False)  # what `ssd-ros export --int8` writes (uint8)
    assert onnx_graph.graph_precision(asymmetric) == "int8" and onnx_graph.asymmetric_quantizers(asymmetric)
    with pytest.raises(ModelLoadError, match=r"symmetric int8 quantization.*ssd-ros export\s+--int8"):
        onnx_graph.strongly_typed_precision(asymmetric, "int8")
    symmetric = quantized(tmp_path, symmetric=True)
    assert onnx_graph.asymmetric_quantizers(symmetric) == []
    assert onnx_graph.strongly_typed_precision(symmetric, None) == "int8"
    with pytest.raises(ModelLoadError, match=r"is int8 and builds as int8"):
        onnx_graph.strongly_typed_precision(symmetric, "fp32")


def test_onnxruntime_tensorrt_provider_gets_engine_cache_and_batch_profile(tmp_path):
    from ssd_ros.core.backends.onnxruntime_backend import providers_for, tensorrt_provider_options

    model = default_model_path()
    options = tensorrt_provider_options(model, 1, "fp16", str(tmp_path), 4)
    folder = Path(str(options["trt_engine_cache_path"]))
    assert options["trt_engine_cache_enable"] is True and options["trt_timing_cache_enable"] is True
    assert folder.is_dir() and folder.parent == tmp_path / "onnxruntime" and options["trt_fp16_enable"] is True
    assert (options["device_id"], options["trt_timing_cache_path"]) == (1, str(folder))
    assert options["trt_profile_min_shapes"] == "images:1x3x320x320"
    assert options["trt_profile_max_shapes"] == options["trt_profile_opt_shapes"] == "images:4x3x320x320"
    other = [tensorrt_provider_options(model, 1, "fp32", str(tmp_path), 4),
             tensorrt_provider_options(model, 1, "fp16", str(tmp_path), 8)]
    assert len({folder, *(Path(str(o["trt_engine_cache_path"])) for o in other)}) == 3, \
        "precision and batch profile each get their own ORT engine cache"
    providers = providers_for("tensorrt:1", "fp16", ["TensorrtExecutionProvider", "CUDAExecutionProvider",
                                                     "CPUExecutionProvider"], options)
    assert providers[0] == ("TensorrtExecutionProvider", options)
    with pytest.raises(ModelLoadError, match=r"needs TensorrtExecutionProvider.*install onnxruntime-gpu"):
        providers_for("tensorrt", "fp16", ["CPUExecutionProvider"], options)


def _gpu_present() -> bool:
    if importlib.util.find_spec("cuda") is None:
        return False
    from ssd_ros.core.backends import cuda_runtime

    try:
        return cuda_runtime.check(cuda_runtime.runtime().cudaGetDeviceCount(), "count") > 0
    except ModelLoadError:
        return False


@pytest.mark.skipif(importlib.util.find_spec("cuda") is None, reason="cuda-python is not installed here")
@pytest.mark.skipif(_gpu_present(), reason="this machine has a GPU: make gpu-check runs the real paths")
def test_without_a_gpu_the_cuda_calls_fail_with_one_clear_error():
    from ssd_ros.core.backends import cuda_runtime

    with pytest.raises(ModelLoadError, match=r"CUDA cudaGetDeviceCount failed: cuda\w+ \(.+\)\. The tensorrt backend "
                                             r"needs an NVIDIA GPU.*backend\s+onnxruntime"):
        cuda_runtime.set_device(0)
    with pytest.raises(ModelLoadError, match=r"CUDA cudaMalloc"):
        cuda_runtime.DeviceBuffer(1024)
