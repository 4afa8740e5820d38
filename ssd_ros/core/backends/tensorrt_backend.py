"""Native TensorRT backend (Jetson and NVIDIA GPUs): builds an engine from ONNX once, then caches it.

``model_path`` is an ONNX file (the engine is built with FP16/INT8 as asked and cached, see
engine_cache.py) or a serialized ``.engine``. INT8 needs the calibration cache written by
``ssd-ros export --tensorrt --int8`` next to the ONNX file (``<model>.calib``). GPU buffers are
PyTorch CUDA tensors (NVIDIA's Jetson PyTorch wheels provide them). Written for the TensorRT 8.6+
tensor-name API (JetPack 6 ships TensorRT 8.6/10).
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import tensorrt as trt

from ssd_ros.core.backends.base import Backend, fixed_batch
from ssd_ros.core.backends.engine_cache import EngineKey, cache_dir, engine_path, file_sha256, is_fresh, write_key
from ssd_ros.core.errors import ModelLoadError

PRECISIONS = ("fp32", "fp16", "int8")
_LOGGER = trt.Logger(trt.Logger.WARNING)


def gpu_name() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except ImportError:
        pass
    model_file = Path("/proc/device-tree/model")  # Jetson boards name themselves here
    return model_file.read_text().strip("\x00 \n") if model_file.exists() else "unknown-gpu"


def onnx_input_shape(model_path: Path) -> tuple[int, ...]:
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    initializers = {init.name for init in graph.initializer}
    (model_input,) = [i for i in graph.input if i.name not in initializers][:1]
    return tuple(d.dim_value if d.dim_value > 0 else 1 for d in model_input.type.tensor_type.shape.dim)


class _CalibrationCacheReader(trt.IInt8EntropyCalibrator2):
    """INT8 calibrator that replays a calibration cache made at export time (no images at run time)."""

    def __init__(self, cache_file: Path) -> None:
        super().__init__()
        self.cache = cache_file.read_bytes()

    def get_batch_size(self) -> int:
        return 1

    def get_batch(self, names):
        return None

    def read_calibration_cache(self) -> bytes:
        return self.cache

    def write_calibration_cache(self, cache) -> None:
        pass


def build_engine(model_path: Path, precision: str, calibrator: trt.IInt8Calibrator | None = None) -> bytes:
    """A serialized engine; INT8 calibrates with ``calibrator`` or replays ``<model>.calib``."""
    builder = trt.Builder(_LOGGER)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, _LOGGER)
    if not parser.parse(model_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelLoadError(f"TensorRT cannot parse {model_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 1 << 30)
    model_input = network.get_input(0)
    profile = None
    if any(dimension < 0 for dimension in model_input.shape):  # a dynamic batch: build for the cached shape
        shape = onnx_input_shape(model_path)
        profile = builder.create_optimization_profile()
        profile.set_shape(model_input.name, shape, shape, shape)
        config.add_optimization_profile(profile)
    if precision in ("fp16", "int8") and builder.platform_has_fast_fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "int8":
        if calibrator is None:
            calibration = model_path.with_suffix(".calib")
            if not calibration.is_file():
                raise ModelLoadError(f"INT8 needs the calibration cache {calibration}: create it with "
                                     f"`ssd-ros export CHECKPOINT --tensorrt --int8 --calib-data DIR`, or use fp16")
            calibrator = _CalibrationCacheReader(calibration)
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = calibrator
        if profile is not None:
            config.set_calibration_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ModelLoadError(f"TensorRT failed to build an engine for {model_path} ({precision}); see its log above")
    return bytes(serialized)


class TensorRtBackend(Backend):
    name = "tensorrt"

    def __init__(self, engine_bytes: bytes, device: str) -> None:
        try:
            import torch
        except ImportError:
            raise ModelLoadError("the tensorrt backend uses PyTorch CUDA tensors for GPU buffers: install "
                                 "NVIDIA's PyTorch for your JetPack, or use backend onnxruntime with device "
                                 "tensorrt") from None
        self._torch = torch
        index = int(device.partition(":")[2] or 0) if device.startswith("cuda") else 0
        self.device = f"cuda:{index}"
        self.engine = trt.Runtime(_LOGGER).deserialize_cuda_engine(engine_bytes)
        if self.engine is None:
            raise ModelLoadError("TensorRT could not deserialize the engine (built by another TensorRT "
                                 "version or GPU?): delete it from the engine cache to rebuild")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.input_name = inputs[0]
        self.output_names = tuple(n for n in names if n not in inputs)
        self.batch_size = fixed_batch(self.engine.get_tensor_shape(self.input_name)[0])
        self._stream = torch.cuda.Stream(device=self.device)
        self._lock = threading.Lock()

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        torch = self._torch
        with self._lock, torch.cuda.stream(self._stream):
            source = torch.from_numpy(np.ascontiguousarray(batch)).to(self.device, non_blocking=True)
            self.context.set_input_shape(self.input_name, tuple(source.shape))
            self.context.set_tensor_address(self.input_name, source.data_ptr())
            outputs = {}
            for name in self.output_names:
                shape = tuple(self.context.get_tensor_shape(name))
                dtype = torch.from_numpy(np.empty(0, trt.nptype(self.engine.get_tensor_dtype(name)))).dtype
                outputs[name] = torch.empty(shape, dtype=dtype, device=self.device)
                self.context.set_tensor_address(name, outputs[name].data_ptr())
            self.context.execute_async_v3(self._stream.cuda_stream)
            self._stream.synchronize()
            return {name: tensor.cpu().numpy() for name, tensor in outputs.items()}


def load(model_path: Path, device: str, num_threads: int, precision: str | None,
         engine_cache_dir: str | None = None, **_options) -> Backend:
    if model_path.suffix == ".engine":
        return TensorRtBackend(model_path.read_bytes(), device)
    engine_file = cached_engine(model_path, precision or "fp16", engine_cache_dir)
    return TensorRtBackend(engine_file.read_bytes(), device)


def cached_engine(model_path: Path, precision: str, engine_cache_dir: str | None = None,
                  calibrator: trt.IInt8Calibrator | None = None) -> Path:
    """The cached engine for this ONNX file, precision, GPU and TensorRT; built (and cached) when missing."""
    if precision not in PRECISIONS:
        raise ModelLoadError(f"tensorrt: precision {precision!r} not supported; use {', '.join(PRECISIONS)}")
    key = EngineKey(file_sha256(model_path), trt.__version__, gpu_name(), precision, onnx_input_shape(model_path))
    directory = cache_dir(engine_cache_dir)
    engine_file = engine_path(directory, model_path, key)
    if not is_fresh(engine_file, key):
        directory.mkdir(parents=True, exist_ok=True)
        engine_file.write_bytes(build_engine(model_path, precision, calibrator))
        write_key(engine_file, key)
    return engine_file
