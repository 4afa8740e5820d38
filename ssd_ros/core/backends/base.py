"""The backend interface: run a model input batch, get named outputs.

Contract: ``Backend.run(batch)`` takes the model input as produced by the pre-processing
([B, 3, H, W] or [B, H, W, 3]) and returns every graph output by name as a numpy array with the
batch as first axis. ``batch_size`` is the graph's fixed batch size, or None if it accepts any.
Backends are created by name through ``create_backend``, which imports the backend's module (and
its library) only then; a missing library raises ModelLoadError saying what to install. The name
"auto" returns the backend auto.py picks for the model and machine. Backend-specific options pass
through ``create_backend(**options)``; each backend's ``load`` takes the ones it knows and ignores
the rest (e.g. ``parallel_runs``, the runs a caller keeps in flight at once, which only onnxruntime
uses: the only backend with ``concurrent_runs``).
"""
from __future__ import annotations

import importlib
import importlib.util
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from ssd_ros.core.errors import ModelLoadError
from ssd_ros.core.model_file import check_model_file, check_torch_checkpoint_file

# backend name -> (module, library it needs, install hint)
BACKENDS = {
    "onnxruntime": ("ssd_ros.core.backends.onnxruntime_backend", "onnxruntime",
                    "pip install onnxruntime (onnxruntime-gpu for CUDA / TensorRT execution providers)"),
    "openvino": ("ssd_ros.core.backends.openvino_backend", "openvino", "pip install openvino"),
    "tensorrt": ("ssd_ros.core.backends.tensorrt_backend", "tensorrt",
                 "install TensorRT with its Python bindings (JetPack on a Jetson: sudo apt install nvidia-jetpack; "
                 "x86: pip install tensorrt) and cuda-python (see the README's Jetson section)"),
    "torch": ("ssd_ros.core.backends.torch_backend", "torch", "pip install torch torchvision"),
    # the fastest of onnxruntime and OpenVINO for the model and machine, measured once (auto.py)
    "auto": ("ssd_ros.core.backends.auto", "onnxruntime", "pip install onnxruntime openvino"),
}


class Backend(ABC):
    name: str
    device: str
    input_name: str
    output_names: tuple[str, ...]
    batch_size: int | None
    selection: str = ""  # how this backend was chosen (backend auto: what, and why); empty when named
    concurrent_runs: bool = False  # run() may be called from several threads at once

    @abstractmethod
    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Named outputs for one input batch."""


def available_backends() -> list[str]:
    """Backends whose library is installed (checked without importing it)."""
    return [name for name, (_, library, _) in BACKENDS.items() if importlib.util.find_spec(library) is not None]


def create_backend(name: str, model_path: str | Path, device: str = "cpu", num_threads: int = 0,
                   precision: str | None = None, **options) -> Backend:
    if name not in BACKENDS:
        raise ModelLoadError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    module_name, library, hint = BACKENDS[name]
    if importlib.util.find_spec(library) is None:
        raise ModelLoadError(f"backend {name!r} needs the '{library}' Python package, which is not installed: {hint}")
    model_path = Path(model_path)
    check_model_file(model_path)
    if name == "torch":
        check_torch_checkpoint_file(model_path)  # before importing torch (hundreds of MB, never given back)
    module = importlib.import_module(module_name)
    return module.load(model_path, device=device, num_threads=num_threads, precision=precision, **options)


def fixed_batch(dimension) -> int | None:
    """The batch size of a graph input dimension: an int if fixed, None if symbolic."""
    return dimension if isinstance(dimension, int) and dimension > 0 else None
