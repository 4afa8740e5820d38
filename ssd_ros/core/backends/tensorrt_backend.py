"""Native TensorRT backend (Jetson and NVIDIA GPUs): builds an engine from ONNX once, then caches it.

Supported TensorRT: 8.6 (JetPack 6.0), 10.x (JetPack 6.1+/pip ``tensorrt-cu12``) and 11.x (pip
``tensorrt``); anything else raises ModelLoadError at load time (the module itself imports on
every version: nothing removed in 11 is touched at import).

- TensorRT 8.6 / 10 (weakly typed): the FP32 graph is built with the FP16 / INT8 builder flags as
  asked. INT8 replays the calibration cache ``<model>.calib`` written by ``ssd-ros export
  --tensorrt --int8`` (or calibrates with a given calibrator); its hash is part of the cache key.
- TensorRT 11 (strongly typed only: no precision flags, no calibrators): the engine has the ONNX
  graph's own precision. ``precision`` is checked against the graph (onnx_graph.py): fp16 needs an
  FP16 (AutoCast) graph, int8 a symmetric int8 Q/DQ graph; otherwise ModelLoadError says how to
  make one. Empty precision: fp16 on 8.6/10, the graph's own on 11.

Batching: a dynamic batch axis gets one optimization profile min=1, opt=max=``max_batch_size``;
``run`` splits larger batches into chunks of at most that size. ``set_input_shape``,
``set_tensor_address`` and ``execute_async_v3`` are checked and fail with an error naming the
shape or call. GPU buffers are allocated once for the largest batch through cuda-python
(cuda_runtime.py). Engines are cached by engine_cache.py, keyed on everything they depend on.
``model_path`` may also be a serialized ``.engine`` (loaded as is).
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import tensorrt as trt

from ssd_ros.core.backends import cuda_runtime, onnx_graph
from ssd_ros.core.backends.base import Backend, fixed_batch
from ssd_ros.core.backends.engine_cache import (
    DEFAULT_MAX_BATCH_SIZE,
    EngineKey,
    cache_dir,
    engine_path,
    file_sha256,
    is_fresh,
    write_engine,
)
from ssd_ros.core.errors import ModelLoadError

PRECISIONS = onnx_graph.PRECISIONS
SUPPORTED = "TensorRT 8.6, 10.x or 11.x"
_LOGGER = trt.Logger(trt.Logger.WARNING)


def version() -> tuple[int, int]:
    major, minor = (int(part) for part in trt.__version__.split(".")[:2])
    return major, minor


def require_supported_version() -> None:
    major, minor = version()
    if (major, minor) < (8, 6) or major == 9 or major > 11:
        raise ModelLoadError(f"the tensorrt backend supports {SUPPORTED}; this is TensorRT {trt.__version__}: "
                             "on x86 `pip install 'tensorrt-cu12>=10,<11'` (or tensorrt 11), on a Jetson JetPack 6")


def strongly_typed_only() -> bool:
    """TensorRT 11 removed weak typing: precision comes from the graph, not from builder flags."""
    return version()[0] >= 11


def default_precision(model_path: Path) -> str:
    return onnx_graph.graph_precision(model_path) if strongly_typed_only() else "fp16"


def calibrator_base() -> type:
    """TensorRT's entropy calibrator base class (8.6 / 10 only; removed in 11)."""
    if strongly_typed_only():
        raise ModelLoadError(f"TensorRT {trt.__version__} has no INT8 calibrators (removed in 11): INT8 comes from "
                             f"symmetric Q/DQ nodes in the ONNX graph; {onnx_graph.INT8_HINT}")
    return trt.IInt8EntropyCalibrator2


def image_calibrator(batches: Iterator[np.ndarray], cache_file: Path) -> Any:
    """An INT8 calibrator fed ``batches`` ([1, C, H, W] float32 each) from GPU memory; writes ``cache_file``."""

    class ImageCalibrator(calibrator_base()):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.stream = cuda_runtime.Stream()
            self.buffer: cuda_runtime.DeviceBuffer | None = None

        def get_batch_size(self) -> int:
            return 1

        def get_batch(self, names):
            batch = next(batches, None)
            if batch is None:
                return None
            batch = np.ascontiguousarray(batch, dtype=np.float32)
            if self.buffer is None:
                self.buffer = cuda_runtime.DeviceBuffer(batch.nbytes)
            self.buffer.upload(batch, self.stream)
            self.stream.synchronize()
            return [self.buffer.pointer]

        def read_calibration_cache(self):
            return None  # always calibrate on the images given now

        def write_calibration_cache(self, cache) -> None:
            cache_file.write_bytes(bytes(cache))

    return ImageCalibrator()


def cache_replay_calibrator(cache_file: Path) -> Any:
    """An INT8 calibrator that replays a calibration cache made at export time (no images at run time)."""

    class CacheReplay(calibrator_base()):  # type: ignore[misc]
        def __init__(self) -> None:
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

    return CacheReplay()


def _profile(builder: Any, name: str, shape: tuple[int, ...], batches: tuple[int, ...]) -> Any:
    profile = builder.create_optimization_profile()
    low, opt, high = ((batch, *shape[1:]) for batch in batches)
    profile.set_shape(name, low, opt, high)
    return profile


def build_engine(model_path: Path, precision: str, max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
                 calibrator: Any = None) -> bytes:
    """A serialized engine for ``model_path`` at ``precision`` with batch profile 1..``max_batch_size``."""
    require_supported_version()
    shape = onnx_graph.input_shape(model_path)
    batches = onnx_graph.batch_profile(shape, max_batch_size)
    builder = trt.Builder(_LOGGER)
    if strongly_typed_only():
        onnx_graph.strongly_typed_precision(model_path, precision)  # the graph must carry the precision
        network = builder.create_network(0)  # 11: explicit batch and strong typing are the only mode
    elif version()[0] < 10:
        network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    else:
        network = builder.create_network(0)  # 10: explicit batch always (the flag is deprecated)
    parser = trt.OnnxParser(network, _LOGGER)
    if not parser.parse(model_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelLoadError(f"TensorRT cannot parse {model_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 1 << 30)
    model_input = network.get_input(0)
    dynamic = any(dimension < 0 for dimension in model_input.shape)
    if dynamic:
        config.add_optimization_profile(_profile(builder, model_input.name, shape, batches))
    if not strongly_typed_only():
        if precision in ("fp16", "int8"):
            config.set_flag(trt.BuilderFlag.FP16)
        if precision == "int8":
            if calibrator is None:
                calibration = model_path.with_suffix(".calib")
                if not calibration.is_file():
                    raise ModelLoadError(f"INT8 needs the calibration cache {calibration}: create it with "
                                         "`ssd-ros export CHECKPOINT --tensorrt --int8 --calib-data DIR`, or use fp16")
                calibrator = cache_replay_calibrator(calibration)
            config.set_flag(trt.BuilderFlag.INT8)
            config.int8_calibrator = calibrator
            if dynamic:  # calibration runs at the profile's opt shape: give it batch 1, as the calibrator feeds
                config.set_calibration_profile(_profile(builder, model_input.name, shape, (1, 1, 1)))
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ModelLoadError(f"TensorRT failed to build an engine for {model_path} ({precision}); see its log above")
    return bytes(serialized)


class TensorRtBackend(Backend):
    name = "tensorrt"

    def __init__(self, engine_bytes: bytes, device: str) -> None:
        require_supported_version()
        self.device_index = device_index(device)
        self.device = f"cuda:{self.device_index}"
        cuda_runtime.set_device(self.device_index)
        self.engine = trt.Runtime(_LOGGER).deserialize_cuda_engine(engine_bytes)
        if self.engine is None:
            raise ModelLoadError("TensorRT could not deserialize the engine (built by another TensorRT "
                                 "version or GPU?): delete it from the engine cache to rebuild")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.input_name = inputs[0]
        self.output_names = tuple(n for n in names if n not in inputs)
        input_shape = tuple(self.engine.get_tensor_shape(self.input_name))
        self.batch_size = fixed_batch(input_shape[0])
        if self.batch_size is None:  # the largest batch of the (first) optimization profile
            self.max_batch = int(self.engine.get_tensor_profile_shape(self.input_name, 0)[2][0])
        else:
            self.max_batch = self.batch_size
        self._sample_shape = input_shape[1:]
        self._dtypes = {n: np.dtype(trt.nptype(self.engine.get_tensor_dtype(n))) for n in names}
        self._stream = cuda_runtime.Stream()
        self._set_batch(self.max_batch)  # size every buffer for the largest batch
        self._buffers = {n: cuda_runtime.DeviceBuffer(self._nbytes(n)) for n in names}
        for n, buffer in self._buffers.items():
            if not self.context.set_tensor_address(n, buffer.pointer):
                raise ModelLoadError(f"TensorRT rejected the device address of tensor {n!r}")
        self._lock = threading.Lock()

    def _set_batch(self, batch: int) -> None:
        shape = (batch, *self._sample_shape)
        if not self.context.set_input_shape(self.input_name, shape):
            raise ModelLoadError(f"TensorRT rejected input shape {list(shape)} for {self.input_name!r}: the engine's "
                                 f"profile allows batch 1..{getattr(self, 'max_batch', batch)}")

    def _nbytes(self, name: str) -> int:
        shape = tuple(self.context.get_tensor_shape(name))
        if any(d < 0 for d in shape):
            raise ModelLoadError(f"TensorRT could not infer the shape of output {name!r} ({list(shape)})")
        return int(np.prod(shape)) * self._dtypes[name].itemsize

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        if len(batch) > self.max_batch:
            chunks = [self.run(batch[start:start + self.max_batch]) for start in range(0, len(batch), self.max_batch)]
            return {name: np.concatenate([chunk[name] for chunk in chunks]) for name in self.output_names}
        with self._lock:
            self._set_batch(len(batch))
            self._buffers[self.input_name].upload(batch.astype(self._dtypes[self.input_name], copy=False),
                                                  self._stream)
            outputs = {name: np.empty(tuple(self.context.get_tensor_shape(name)), self._dtypes[name])
                       for name in self.output_names}
            if not self.context.execute_async_v3(self._stream.address):
                raise ModelLoadError(f"TensorRT execute_async_v3 failed for a batch of {len(batch)}; see its log")
            for name, array in outputs.items():
                self._buffers[name].download(array, self._stream)
            self._stream.synchronize()
            return outputs

    def close(self) -> None:
        for buffer in getattr(self, "_buffers", {}).values():
            buffer.close()
        if hasattr(self, "_stream"):
            self._stream.close()


def device_index(device: str) -> int:
    kind, _, index = device.lower().partition(":")
    if kind not in ("cuda", "gpu", "") or (index and not index.isdigit()):
        raise ModelLoadError(f"tensorrt: device {device!r} is not a CUDA device; use cuda or cuda:N")
    return int(index or 0)


def load(model_path: Path, device: str, num_threads: int, precision: str | None,
         engine_cache_dir: str | None = None, max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
         **_options) -> Backend:
    require_supported_version()
    if model_path.suffix == ".engine":
        return TensorRtBackend(model_path.read_bytes(), device)
    engine_file = cached_engine(model_path, precision or default_precision(model_path), engine_cache_dir,
                                max_batch_size=max_batch_size, device=device)
    return TensorRtBackend(engine_file.read_bytes(), device)


def engine_key(model_path: Path, precision: str, max_batch_size: int, device: str = "cuda") -> EngineKey:
    index = device_index(device)
    cuda_runtime.set_device(index)
    gpu, capability = cuda_runtime.device_facts(index)
    shape = onnx_graph.input_shape(model_path)
    calibration = model_path.with_suffix(".calib")
    calibration_sha256 = (file_sha256(calibration) if precision == "int8" and not strongly_typed_only()
                          and calibration.is_file() else "")
    return EngineKey(file_sha256(model_path), trt.__version__, gpu, capability, precision, shape,
                     onnx_graph.batch_profile(shape, max_batch_size), calibration_sha256)


def cached_engine(model_path: Path, precision: str, engine_cache_dir: str | None = None, calibrator: Any = None,
                  max_batch_size: int = DEFAULT_MAX_BATCH_SIZE, device: str = "cuda",
                  on_build: Callable[[Path], None] | None = None) -> Path:
    """The cached engine for this ONNX file and everything else in its key; built (and cached) when missing.

    With a ``calibrator`` (export time) the engine is always built, and keyed on the calibration
    cache the calibrator wrote, which is what the node's key will hash.
    """
    require_supported_version()
    if precision not in PRECISIONS:
        raise ModelLoadError(f"tensorrt: precision {precision!r} not supported; use {', '.join(PRECISIONS)}")
    directory = cache_dir(engine_cache_dir)
    key = engine_key(model_path, precision, max_batch_size, device)
    engine_file = engine_path(directory, model_path, key)
    if calibrator is None and is_fresh(engine_file, key):
        return engine_file
    engine = build_engine(model_path, precision, max_batch_size, calibrator)
    if calibrator is not None:  # the calibration cache was (re)written during the build
        key = engine_key(model_path, precision, max_batch_size, device)
        engine_file = engine_path(directory, model_path, key)
    write_engine(engine_file, engine, key)
    if on_build is not None:
        on_build(engine_file)
    return engine_file
