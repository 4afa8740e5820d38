"""GPU memory, a stream and device facts for the TensorRT backend, through cuda-python's runtime bindings.

Contract: ``runtime()`` returns cuda-python's CUDA runtime module (``cuda.bindings.runtime``;
``cuda.cudart`` on cuda-python < 12.6) or raises ModelLoadError saying what to install. Every
call goes through ``check(result, what)``, which turns a CUDA error into ModelLoadError naming
the call and CUDA's message (a machine without a usable GPU or driver fails at the first call,
clearly). ``DeviceBuffer`` owns device memory (freed on ``close``); ``Stream`` a non-blocking
stream; ``device_facts(index)`` gives (name, compute capability "major.minor") for the engine
cache key. cuda-python is what NVIDIA's own TensorRT Python samples use for buffers; it is a
declared dependency of the tensorrt backend (package.xml comment, requirements/ros-workspace.txt,
docker/Dockerfile.jetson). Host arrays are numpy; copies are asynchronous on the stream.
"""
from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from ssd_ros.core.errors import ModelLoadError

CUDA_PYTHON_HINT = ("the tensorrt backend allocates GPU memory through cuda-python, which is not installed: "
                    "pip install 'cuda-python>=12.2,<13' for CUDA 12 (JetPack 6; on a Jetson take it from the "
                    "Jetson AI Lab index, see the README), or cuda-python 13 for a CUDA 13 driver")


def runtime() -> ModuleType:
    try:
        from cuda.bindings import runtime as module  # cuda-python >= 12.6 (the only form in 13.x)
    except ImportError:
        try:
            from cuda import cudart as module  # cuda-python < 12.6
        except ImportError:
            raise ModelLoadError(CUDA_PYTHON_HINT) from None
    return module


def check(result: Any, what: str) -> Any:
    """The value(s) of a cuda-python call ``(error, *values)``; ModelLoadError when error is not success."""
    rt = runtime()
    error, *values = result if isinstance(result, tuple) else (result,)
    if error != rt.cudaError_t.cudaSuccess:
        _, message = rt.cudaGetErrorString(error)
        text = message.decode() if isinstance(message, bytes) else str(message)
        raise ModelLoadError(f"CUDA {what} failed: {getattr(error, 'name', error)} ({text}). The tensorrt backend "
                             "needs an NVIDIA GPU with a working driver; on a machine without one use backend "
                             "onnxruntime with device cpu")
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


def set_device(index: int) -> None:
    rt = runtime()
    count = check(rt.cudaGetDeviceCount(), "cudaGetDeviceCount")
    if not 0 <= index < count:
        raise ModelLoadError(f"device cuda:{index} does not exist: this machine has {count} CUDA device(s), "
                             f"cuda:0..cuda:{count - 1}")
    check(rt.cudaSetDevice(index), f"cudaSetDevice({index})")


def device_facts(index: int) -> tuple[str, str]:
    """(GPU name, compute capability "major.minor") of CUDA device ``index``."""
    rt = runtime()
    properties = check(rt.cudaGetDeviceProperties(index), f"cudaGetDeviceProperties({index})")
    name = properties.name
    name = name.split(b"\x00", 1)[0].decode() if isinstance(name, bytes) else str(name)
    return name.strip(), f"{properties.major}.{properties.minor}"


class Stream:
    def __init__(self) -> None:
        rt = runtime()
        self.handle = check(rt.cudaStreamCreateWithFlags(rt.cudaStreamNonBlocking), "cudaStreamCreateWithFlags")

    def synchronize(self) -> None:
        check(runtime().cudaStreamSynchronize(self.handle), "cudaStreamSynchronize")

    def close(self) -> None:
        if self.handle is not None:
            check(runtime().cudaStreamDestroy(self.handle), "cudaStreamDestroy")
            self.handle = None

    @property
    def address(self) -> int:
        return int(self.handle)


class DeviceBuffer:
    """``nbytes`` of device memory; ``upload``/``download`` copy numpy arrays asynchronously on a stream."""

    def __init__(self, nbytes: int) -> None:
        self.nbytes = int(nbytes)
        self.pointer: int | None = int(check(runtime().cudaMalloc(max(self.nbytes, 1)), f"cudaMalloc({nbytes})"))

    def upload(self, array: np.ndarray, stream: Stream) -> None:
        array = np.ascontiguousarray(array)
        if array.nbytes > self.nbytes:
            raise ValueError(f"{array.nbytes} bytes do not fit a device buffer of {self.nbytes}")
        rt = runtime()
        check(rt.cudaMemcpyAsync(self.pointer, array.ctypes.data, array.nbytes,
                                 rt.cudaMemcpyKind.cudaMemcpyHostToDevice, stream.handle), "cudaMemcpyAsync (upload)")

    def download(self, array: np.ndarray, stream: Stream) -> None:
        """Fill the C-contiguous ``array`` from the start of the buffer (complete after ``stream.synchronize()``)."""
        if not array.flags.c_contiguous or array.nbytes > self.nbytes:
            raise ValueError("download needs a C-contiguous array no larger than the buffer")
        rt = runtime()
        check(rt.cudaMemcpyAsync(array.ctypes.data, self.pointer, array.nbytes,
                                 rt.cudaMemcpyKind.cudaMemcpyDeviceToHost, stream.handle), "cudaMemcpyAsync (download)")

    def close(self) -> None:
        if self.pointer is not None:
            check(runtime().cudaFree(self.pointer), "cudaFree")
            self.pointer = None
