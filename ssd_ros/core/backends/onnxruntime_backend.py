"""ONNX Runtime backend: CPU by default; CUDA and TensorRT execution providers where installed.

Graph optimisation level ALL: on these CPUs it is what makes ORT fast (about 3x over EXTENDED,
through blocked layouts with AVX-512 kernels). ``device``: "cpu", "cuda", "cuda:N" or "tensorrt"
(ORT's TensorRT provider, FP16 when precision is "fp16").

``spin_wait``: ORT's CPU threads busy-wait for work after each run by default. That suits back-to-back
inference (evaluation, benchmarks), but at camera rates the threads spin most of the time between
frames: measured here at 30 Hz, 44 ms of CPU per frame with spinning against 10 ms without, for a 5 ms
model. The detector node turns it off unless asked (parameter ``cpu_spin_wait``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from ssd_ros.core.backends.base import Backend, fixed_batch
from ssd_ros.core.errors import ModelLoadError


def providers_for(device: str, precision: str | None, available: list[str]) -> list:
    kind, _, index = device.lower().partition(":")
    device_id = int(index) if index.isdigit() else 0
    if kind == "cpu":
        wanted: list = ["CPUExecutionProvider"]
    elif kind == "cuda":
        wanted = [("CUDAExecutionProvider", {"device_id": device_id}), "CPUExecutionProvider"]
    elif kind == "tensorrt":
        trt_options = {"device_id": device_id, "trt_fp16_enable": precision == "fp16"}
        wanted = [("TensorrtExecutionProvider", trt_options), ("CUDAExecutionProvider", {"device_id": device_id}),
                  "CPUExecutionProvider"]
    else:
        raise ModelLoadError(f"onnxruntime: unknown device {device!r}; use cpu, cuda, cuda:N or tensorrt")
    first = wanted[0] if isinstance(wanted[0], str) else wanted[0][0]
    if first not in available:
        raise ModelLoadError(f"onnxruntime: device {device!r} needs {first}, but this onnxruntime only has "
                             f"{', '.join(available)}; install onnxruntime-gpu (with CUDA/TensorRT) or use device cpu")
    return wanted


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"

    def __init__(self, model_path: Path, device: str, num_threads: int, precision: str | None,
                 spin_wait: bool = True) -> None:
        if precision not in (None, "", "fp32", "fp16"):
            raise ModelLoadError(f"onnxruntime: precision {precision!r} is not supported here; use fp32 "
                                 "(fp16 with device tensorrt), or export an INT8 model with ssd-ros export --int8")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        if num_threads > 0:
            options.intra_op_num_threads = num_threads
        if not spin_wait:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        providers = providers_for(device, precision, ort.get_available_providers())
        try:
            self.session = ort.InferenceSession(str(model_path), sess_options=options, providers=providers)
        except Exception as error:  # ORT raises its own exception types for corrupt or unsupported graphs
            raise ModelLoadError(f"onnxruntime cannot load {model_path}: {error}. Check the file is a complete "
                                 "ONNX model (re-export or re-download it)") from None
        self.device = self.session.get_providers()[0]
        (model_input,) = self.session.get_inputs()[:1]
        self.input_name = model_input.name
        self.batch_size = fixed_batch(model_input.shape[0] if model_input.shape else None)
        self.output_names = tuple(output.name for output in self.session.get_outputs())

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        outputs = self.session.run(None, {self.input_name: batch})
        return dict(zip(self.output_names, outputs, strict=True))


def load(model_path: Path, device: str, num_threads: int, precision: str | None, spin_wait: bool = True,
         **_options) -> Backend:
    return OnnxRuntimeBackend(model_path, device, num_threads, precision, spin_wait)
