"""The ROS-free detection core: model description, priors, box coding, pre/post-processing, backends.

Nothing here imports rclpy or a message package (test/unit/test_core_is_ros_free.py enforces it);
heavy libraries (onnxruntime, openvino, tensorrt, torch) are imported only by the backend in use.
"""
from ssd_ros.core.backends import available_backends
from ssd_ros.core.detector import Detector
from ssd_ros.core.errors import ModelLoadError
from ssd_ros.core.preprocess import ImageError
from ssd_ros.core.spec import ModelSpec, ModelSpecError, load_model_spec
from ssd_ros.core.trial import ModelTrialError, trial_run
from ssd_ros.core.types import Detections, PostprocessConfig

__all__ = [
    "Detections",
    "Detector",
    "ImageError",
    "ModelLoadError",
    "ModelSpec",
    "ModelSpecError",
    "ModelTrialError",
    "PostprocessConfig",
    "available_backends",
    "load_model_spec",
    "trial_run",
]
