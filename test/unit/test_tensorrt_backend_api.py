"""The TensorRT backend against the real ``tensorrt`` Python module of whichever major is installed.

Every TensorRT name the backend touches on that major must exist, the names TensorRT 11 removed
must not be reached on 11, and the module must import. Here (no GPU) ``import tensorrt`` cannot
work: TensorRT's native libraries (tensorrt-cu12-libs / tensorrt-cu13-libs) are on PyPI only as
stubs that download from pypi.nvidia.com, which these machines cannot reach (measured 2026-12:
the 1 MB bindings wheels of 8.6.1, 10.3.0 and 11.4.0 download, the libraries do not, and the
bindings need libnvinfer.so to import). `make gpu-check` runs this file in its TensorRT 10 and 11
environments; a Jetson runs it against JetPack's 8.6 / 10.3.
"""
from __future__ import annotations

import importlib.util

import pytest

from ssd_ros.core import ModelLoadError

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("tensorrt") is None,
    reason="tensorrt is not installed (its libraries come from pypi.nvidia.com, unreachable here); "
           "make gpu-check runs this test on TensorRT 10 and 11")

EVERY_MAJOR = ["Logger", "Builder.create_network", "Builder.create_optimization_profile",
               "Builder.create_builder_config",
               "Builder.build_serialized_network", "IBuilderConfig.set_memory_pool_limit",
               "IBuilderConfig.add_optimization_profile", "MemoryPoolType.WORKSPACE", "IOptimizationProfile.set_shape",
               "OnnxParser.parse", "OnnxParser.get_error", "OnnxParser.num_errors", "Runtime.deserialize_cuda_engine",
               "ICudaEngine.num_io_tensors", "ICudaEngine.get_tensor_name", "ICudaEngine.get_tensor_mode",
               "ICudaEngine.get_tensor_shape", "ICudaEngine.get_tensor_dtype", "ICudaEngine.get_tensor_profile_shape",
               "ICudaEngine.create_execution_context", "IExecutionContext.set_input_shape",
               "IExecutionContext.get_tensor_shape", "IExecutionContext.set_tensor_address",
               "IExecutionContext.execute_async_v3", "TensorIOMode.INPUT", "nptype"]
WEAKLY_TYPED = ["BuilderFlag.FP16", "BuilderFlag.INT8", "IInt8EntropyCalibrator2", "IBuilderConfig.int8_calibrator",
                "IBuilderConfig.set_calibration_profile"]
ONLY_8 = ["NetworkDefinitionCreationFlag.EXPLICIT_BATCH"]


def has(path: str) -> bool:
    import tensorrt as trt

    value = trt
    for part in path.split("."):
        if not hasattr(value, part):
            return False
        value = getattr(value, part)
    return True


def test_every_name_the_backend_uses_exists_on_this_major():
    import tensorrt as trt

    from ssd_ros.core.backends import tensorrt_backend

    tensorrt_backend.require_supported_version()
    major = tensorrt_backend.version()[0]
    needed = EVERY_MAJOR + (WEAKLY_TYPED if major < 11 else []) + (ONLY_8 if major < 10 else [])
    assert [name for name in needed if not has(name)] == [], f"TensorRT {trt.__version__}"
    if major >= 11:
        assert tensorrt_backend.strongly_typed_only()
        assert not any(has(name) for name in WEAKLY_TYPED), "11 removed these; the backend must not reach them"


def test_calibrators_exist_exactly_where_tensorrt_has_them():
    import tensorrt as trt

    from ssd_ros.core.backends import tensorrt_backend

    if tensorrt_backend.strongly_typed_only():
        with pytest.raises(ModelLoadError, match=r"no INT8 calibrators.*symmetric Q/DQ"):
            tensorrt_backend.calibrator_base()
    else:
        assert tensorrt_backend.calibrator_base() is trt.IInt8EntropyCalibrator2
