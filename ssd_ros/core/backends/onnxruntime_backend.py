"""ONNX Runtime backend: CPU by default; CUDA and TensorRT execution providers where installed.

Graph optimisation level ALL: on these CPUs it is what makes ORT fast (about 3x over EXTENDED,
through blocked layouts with AVX-512 kernels). ``device``: "cpu", "cuda", "cuda:N" or "tensorrt"
(ORT's TensorRT provider, FP16 when precision is "fp16").

TensorRT provider: without its engine cache ORT rebuilds the TensorRT engine at every session start
(minutes on a Jetson). ``tensorrt_provider_options`` turns the engine and timing caches on, in a
folder of the engine cache (``engine_cache_dir``/onnxruntime/<model>-<digest>) keyed on the model's
hash, the onnxruntime version, the precision and the batch profile (ORT's own cache names do not
cover all of them), and gives the dynamic batch axis one profile 1..``max_batch_size``.

``spin_wait``: ORT's CPU threads busy-wait for work after each run by default. That suits back-to-back
inference (evaluation, benchmarks), but at camera rates the threads spin most of the time between
frames: measured here at 30 Hz, 44 ms of CPU per frame with spinning against 10 ms without, for a 5 ms
model. The detector node turns it off unless asked (parameter ``cpu_spin_wait``).

Threads: ``num_threads`` 0 means one per physical core this process may use, divided among the
``parallel_runs`` the caller keeps in flight at once (cpu_threads.py), set explicitly so ORT neither
pins its threads to cores nor ignores a container's CPU limit.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ssd_ros.core.backends import onnx_graph
from ssd_ros.core.backends.base import Backend, fixed_batch
from ssd_ros.core.backends.cpu_threads import threads_per_run
from ssd_ros.core.backends.engine_cache import DEFAULT_MAX_BATCH_SIZE, cache_dir, file_sha256
from ssd_ros.core.errors import ModelLoadError


def tensorrt_provider_options(model_path: Path, device_id: int, precision: str | None,
                              engine_cache_dir: str | None, max_batch_size: int) -> dict[str, object]:
    """Options of ORT's TensorrtExecutionProvider: engine + timing cache on, FP16 as asked, batch profile."""
    options: dict[str, object] = {"device_id": device_id, "trt_fp16_enable": precision == "fp16"}
    shape = onnx_graph.input_shape(model_path)
    low, opt, high = onnx_graph.batch_profile(shape, max_batch_size)
    parts = {"model": file_sha256(model_path), "onnxruntime": ort.__version__, "precision": precision or "fp32",
             "batch": [low, opt, high], "device_id": device_id}
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
    folder = cache_dir(engine_cache_dir) / "onnxruntime" / f"{model_path.stem}-{digest}"
    folder.mkdir(parents=True, exist_ok=True)
    options.update({"trt_engine_cache_enable": True, "trt_engine_cache_path": str(folder),
                    "trt_timing_cache_enable": True, "trt_timing_cache_path": str(folder)})
    if shape[0] < 0:
        name = onnx_graph.load_graph(model_path).input[0].name
        sample = "x".join(str(d) for d in shape[1:])
        options.update({f"trt_profile_{which}_shapes": f"{name}:{batch}x{sample}"
                        for which, batch in (("min", low), ("opt", opt), ("max", high))})
    return options


def providers_for(device: str, precision: str | None, available: list[str],
                  tensorrt_options: dict[str, object] | None = None) -> list:
    kind, _, index = device.lower().partition(":")
    device_id = int(index) if index.isdigit() else 0
    if kind == "cpu":
        wanted: list = ["CPUExecutionProvider"]
    elif kind == "cuda":
        wanted = [("CUDAExecutionProvider", {"device_id": device_id}), "CPUExecutionProvider"]
    elif kind == "tensorrt":
        trt_options = tensorrt_options or {"device_id": device_id, "trt_fp16_enable": precision == "fp16"}
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
    concurrent_runs = True  # InferenceSession.run is thread-safe; concurrent runs share its thread pool

    def __init__(self, model_path: Path, device: str, num_threads: int, precision: str | None,
                 spin_wait: bool = True, engine_cache_dir: str | None = None,
                 max_batch_size: int = DEFAULT_MAX_BATCH_SIZE, parallel_runs: int = 1) -> None:
        if precision not in (None, "", "fp32", "fp16"):
            raise ModelLoadError(f"onnxruntime: precision {precision!r} is not supported here; use fp32 "
                                 "(fp16 with device tensorrt), or export an INT8 model with ssd-ros export --int8")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Always an explicit count: left at 0, ORT ignores the affinity mask and pins its threads (cpu_threads.py)
        options.intra_op_num_threads = num_threads if num_threads > 0 else threads_per_run(parallel_runs)
        if not spin_wait:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        available = ort.get_available_providers()
        tensorrt_options = None
        if device.lower().startswith("tensorrt") and "TensorrtExecutionProvider" in available:
            index = device.partition(":")[2]
            tensorrt_options = tensorrt_provider_options(model_path, int(index) if index.isdigit() else 0,
                                                         precision, engine_cache_dir, max_batch_size)
        providers = providers_for(device, precision, available, tensorrt_options)
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
         engine_cache_dir: str | None = None, max_batch_size: int = DEFAULT_MAX_BATCH_SIZE, parallel_runs: int = 1,
         **_options) -> Backend:
    return OnnxRuntimeBackend(model_path, device, num_threads, precision, spin_wait, engine_cache_dir, max_batch_size,
                              parallel_runs)
