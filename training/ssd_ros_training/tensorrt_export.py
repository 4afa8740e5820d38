"""``ssd-ros export --tensorrt --fp16|--int8``: build the TensorRT engine the node will use, at export time.

Contract: ``build_tensorrt_engine(onnx, precision, calibration_paths, cache_dir)`` builds the
engine through the core TensorRT backend (ssd_ros.core.backends.tensorrt_backend.cached_engine)
into the engine cache under the same key the node computes, so the node starts without building.
INT8 calibrates on the given images, pre-processed exactly as the Detector does
(calibration.py), and writes the calibration cache ``<onnx>.calib`` that the backend replays when
it has to rebuild (after a TensorRT upgrade, on another board). The engine's batch profile is
1..``max_batch_size`` (default: the node's default, 4). On TensorRT 11, which has no calibrators,
INT8 needs a symmetric Q/DQ ONNX and the core backend says so. ``require_tensorrt()`` raises
TensorRtMissing with what to install when the tensorrt module does not import; nothing here
imports tensorrt before that check.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from ssd_ros.errors import UserError

TENSORRT_HINT = ("--tensorrt needs NVIDIA TensorRT's Python module ('import tensorrt' failed) and a CUDA GPU: on a "
                 "Jetson install JetPack (sudo apt install nvidia-jetpack), elsewhere `pip install tensorrt`; or "
                 "leave out --tensorrt (the node builds the engine itself on first start with backend tensorrt)")


class TensorRtMissing(UserError, RuntimeError):
    """TensorRT (or its Python module) is not installed where the engine is to be built."""


def require_tensorrt() -> None:
    if importlib.util.find_spec("tensorrt") is None:
        raise TensorRtMissing(TENSORRT_HINT)


def build_tensorrt_engine(onnx_path: Path, precision: str, calibration_paths: list[Path] | None = None,
                          cache_dir: str | None = None, max_batch_size: int | None = None) -> Path:
    require_tensorrt()
    from ssd_ros.core.backends import tensorrt_backend
    from ssd_ros.core.backends.engine_cache import DEFAULT_MAX_BATCH_SIZE
    from ssd_ros.core.spec import load_model_spec
    from ssd_ros_training.calibration import preprocessed_batches

    if precision not in ("fp16", "int8"):
        raise ValueError(f"TensorRT precision {precision!r}: use fp16 or int8")
    calibrator = None
    if precision == "int8" and not tensorrt_backend.strongly_typed_only():
        if not calibration_paths:
            raise ValueError("--tensorrt --int8 needs calibration images: pass --calib-data DIR")
        batches = preprocessed_batches(load_model_spec(onnx_path), calibration_paths)
        calibrator = tensorrt_backend.image_calibrator(batches, onnx_path.with_suffix(".calib"))
    return tensorrt_backend.cached_engine(onnx_path, precision, cache_dir, calibrator,
                                          max_batch_size=max_batch_size or DEFAULT_MAX_BATCH_SIZE)
