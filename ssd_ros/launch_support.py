"""What the launch files declare and start, as plain data (no ``launch`` import).

The launch files in launch/ are thin: they turn these tables into ``DeclareLaunchArgument`` actions
and call :func:`detector_node_setup` from an ``OpaqueFunction`` to build the detector ``Node``.
Keeping the content here means it is checked on machines where the ``launch`` packages cannot be
installed: every argument has a description (and ``choices`` where the set is fixed), every
parameter the launch files set is declared by the node with the same type, every file they
reference is installed, and :func:`detector_node_setup` gives the ``DetectorCommand``
(ssd_ros/node_command.py) whose ``ros_arguments()`` are the exact ``ros2 run`` command line a launch
file's Node action executes, which the tests start for real.

Parameter defaults have one home, the node's parameter table (:mod:`ssd_ros.ros.params`): a launch
argument that maps to a parameter (model, backend, score_threshold, ...) defaults to empty, which
means "not given", and only a given one is passed to the node, over ``params_file``. So a user's
params file is honoured for every parameter, and a command-line argument still overrides it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ssd_ros.node_command import NODE_NAME, DetectorCommand
from ssd_ros.resources import share_path
from ssd_ros.topics import LABEL_INFO, raw_topic, sibling_topic

PACKAGE = "ssd_ros"
EXECUTABLE = "detector"
BOOLEAN_CHOICES = ("true", "false")
LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")


@dataclass(frozen=True)
class LaunchArgument:
    name: str
    default: str | None  # None: the argument is required
    description: str
    choices: tuple[str, ...] | None = None


def _text(value: Any) -> str:
    """A parameter value as launch-argument text (launch arguments are strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if value == "" else str(value)


# launch argument -> node parameter it sets, with the parameter's type
ARGUMENT_PARAMETERS = {
    "model": ("model_path", str),
    "model_config": ("model_config", str),
    "backend": ("backend", str),
    "device": ("device", str),
    "precision": ("precision", str),
    "score_threshold": ("score_threshold", float),
    "image_transport": ("image_transport", str),
    "use_sim_time": ("use_sim_time", bool),
}
NOT_GIVEN = ""


def _parameter_argument(name: str, what: str, config_file: str, choices: tuple[str, ...] | None = None,
                        node_default: Any = None) -> LaunchArgument:
    """A launch argument for a parameter: empty (not given) leaves the value to params_file."""
    from ssd_ros.ros.params import config_file_values

    parameter = ARGUMENT_PARAMETERS[name][0]
    value = node_default if node_default is not None else config_file_values(config_file)[parameter]
    description = (f"{what} Empty: {parameter} from params_file; the default params_file (config/{config_file}) "
                   f"and the node give {_text(value)}.")
    return LaunchArgument(name, NOT_GIVEN, description, (NOT_GIVEN, *choices) if choices else None)


def detector_arguments(config_file: str = "detector.yaml") -> list[LaunchArgument]:
    """Arguments every launch file that starts the detector declares; ``config_file`` is its params_file."""
    from ssd_ros.ros.params import BACKENDS, PRECISIONS, TRANSPORTS

    return [
        LaunchArgument("image", "/camera/image_raw", "Camera image topic the detector subscribes to "
                       "(sensor_msgs/Image, or <image>/compressed with image_transport:=compressed)."),
        LaunchArgument("detections", "detections", "Topic for the vision_msgs/Detection2DArray output."),
        _parameter_argument("model", "SSD model file (.onnx; '' in the file: the embedded default model).",
                            config_file),
        _parameter_argument("model_config", "YAML sidecar for a third-party model ('' in the file: the "
                            "description inside the ONNX file).", config_file),
        _parameter_argument("backend", "Inference backend.", config_file, BACKENDS),
        _parameter_argument("device", "Device for the backend (cpu, cuda, cuda:N; CPU/GPU/AUTO for openvino).",
                            config_file),
        _parameter_argument("precision", "Inference precision (fp32, fp16, bf16, int8; '' in the file: the "
                            "backend's default).", config_file, PRECISIONS[1:]),
        _parameter_argument("score_threshold", "Minimum score of a published detection, 0..1 (changeable at "
                            "runtime with ros2 param set).", config_file),
        _parameter_argument("image_transport", "raw: sensor_msgs/Image; compressed: sensor_msgs/CompressedImage "
                            "on <image>/compressed.", config_file, TRANSPORTS),
        LaunchArgument("params_file", str(share_path(f"config/{config_file}")), "Parameter file for the "
                       "detector (ros__parameters under /** or the node's name); parameters it leaves out keep "
                       "the node's defaults, and the arguments above override it when given."),
        LaunchArgument("namespace", "", "Namespace of the detector node and its relative topics."),
        LaunchArgument("node_name", NODE_NAME, "Name of the detector node."),
        _parameter_argument("use_sim_time", "Use /clock (true when replaying a bag with --clock).", config_file,
                            BOOLEAN_CHOICES, node_default=False),
        LaunchArgument("log_level", "info", "Logging level of the detector node.", LOG_LEVELS),
    ]


def parameter_value(text: str, kind: type) -> Any:
    """A launch argument's text as a parameter value of type ``kind``; ValueError says what was expected."""
    if kind is bool:
        if text.lower() not in BOOLEAN_CHOICES:
            raise ValueError(f"expected true or false, got {text!r}")
        return text.lower() == "true"
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"expected a number, got {text!r}") from None
    return kind(text)


def detector_node_setup(values: dict[str, str], extra_parameters: dict[str, Any] | None = None,
                        extra_remappings: list[tuple[str, str]] | None = None) -> DetectorCommand:
    """The detector node for resolved launch-argument ``values`` (argument name -> text)."""
    parameters = {}
    for argument, (parameter, kind) in ARGUMENT_PARAMETERS.items():
        if values.get(argument, NOT_GIVEN) != NOT_GIVEN:
            try:
                parameters[parameter] = parameter_value(values[argument], kind)
            except ValueError as error:
                raise ValueError(f"launch argument {argument}:={values[argument]}: {error}") from None
    parameters.update(extra_parameters or {})
    remappings = [("detections", values["detections"])] if "detections" in values else []
    if "image" in values and "image_topics" not in parameters:
        remappings.insert(0, ("image", values["image"]))
    remappings += extra_remappings or []
    return DetectorCommand(
        name=values.get("node_name", NODE_NAME),
        namespace=values.get("namespace", ""),
        params_files=(Path(values["params_file"]),),
        parameters=parameters,
        remappings=remappings,
        log_level=values.get("log_level", "info"),
    )


def multi_camera_arguments() -> list[LaunchArgument]:
    arguments = [arg for arg in detector_arguments() if arg.name not in ("image", "detections")]
    return [LaunchArgument("cameras", "/camera_left/image_raw,/camera_right/image_raw",
                           "Comma-separated camera image topics; each gets <camera namespace>/detections."),
            *arguments]


def multi_camera_parameters(cameras: str) -> dict[str, Any]:
    topics = [topic.strip() for topic in cameras.split(",") if topic.strip()]
    if not topics:
        raise ValueError("cameras must name at least one image topic, e.g. cameras:=/front/image_raw,/rear/image_raw")
    return {"image_topics": topics}


CAMERA_TOPIC = "camera/image_raw"
USB_DRIVERS = ("v4l2_camera", "usb_cam")


def jetson_arguments() -> list[LaunchArgument]:
    detector = [arg for arg in detector_arguments("jetson.yaml") if arg.name != "image"]
    return [
        LaunchArgument("camera", "usb", "Camera type: a USB (UVC) camera or a CSI camera on the Jetson's "
                       "MIPI connector.", ("usb", "csi")),
        LaunchArgument("usb_driver", "v4l2_camera", "ROS driver for a USB camera.", USB_DRIVERS),
        LaunchArgument("video_device", "/dev/video0", "USB camera device."),
        LaunchArgument("sensor_id", "0", "CSI sensor index (nvarguscamerasrc sensor-id)."),
        LaunchArgument("width", "1280", "Camera image width in pixels."),
        LaunchArgument("height", "720", "Camera image height in pixels."),
        LaunchArgument("fps", "30", "Camera frame rate in frames per second (v4l2_camera time_per_frame, usb_cam "
                       "framerate, the CSI pipeline's framerate)."),
        LaunchArgument("frame_id", "camera_optical_frame", "frame_id stamped on the camera images."),
        LaunchArgument("image", CAMERA_TOPIC, "Image topic between camera driver and detector."),
        *detector,
    ]


@dataclass(frozen=True)
class CameraNodeSetup:
    package: str
    executable: str
    name: str
    parameters: dict[str, Any]
    remappings: list[tuple[str, str]]


def csi_pipeline(sensor_id: int, width: int, height: int, fps: int) -> str:
    """GStreamer pipeline for gscam: Argus capture into NVMM, converted by the VIC (nvvidconv, not the
    CPU) to system-memory UYVY, which gscam publishes as ``yuv422`` and the detector decodes itself."""
    return (f"nvarguscamerasrc sensor-id={sensor_id} ! "
            f"video/x-raw(memory:NVMM),width={width},height={height},framerate={fps}/1 ! "
            "nvvidconv ! video/x-raw,format=UYVY")


def jetson_camera_setup(values: dict[str, str]) -> CameraNodeSetup:
    """The camera driver node: every driver publishes YUV 4:2:2 as captured (no CPU colour conversion
    in the driver; the detector converts only what it uses), and its image and camera_info topics,
    whatever the driver calls them, are remapped next to ``image``."""
    width, height, fps = int(values["width"]), int(values["height"]), int(values["fps"])
    if fps < 1:
        raise ValueError(f"fps must be a positive whole number of frames per second, got {values['fps']!r}")
    info = values["image"].rpartition("/")[0] + "/camera_info" if "/" in values["image"] else "camera_info"
    if values["camera"] == "csi":  # gscam advertises camera/image_raw and camera/camera_info
        return CameraNodeSetup("gscam", "gscam_node", "csi_camera", {
            "gscam_config": csi_pipeline(int(values["sensor_id"]), width, height, fps),
            "image_encoding": "yuv422", "camera_name": "csi_camera", "frame_id": values["frame_id"],
            "sync_sink": False, "use_gst_timestamps": False},
            [("camera/image_raw", values["image"]), ("camera/camera_info", info)])
    to_detector = [("image_raw", values["image"]), ("camera_info", info)]
    if values["usb_driver"] == "usb_cam":  # pixel_format yuyv publishes yuv422_yuy2 unconverted
        return CameraNodeSetup("usb_cam", "usb_cam_node_exe", "usb_camera", {
            "video_device": values["video_device"], "image_width": width, "image_height": height,
            "framerate": float(fps), "pixel_format": "yuyv", "frame_id": values["frame_id"]}, to_detector)
    # v4l2_camera: time_per_frame is [numerator, denominator] seconds per frame; output_encoding equal to
    # the YUYV capture's encoding means no conversion (its default, rgb8, converts on the CPU)
    return CameraNodeSetup("v4l2_camera", "v4l2_camera_node", "usb_camera", {
        "video_device": values["video_device"], "image_size": [width, height], "time_per_frame": [1, fps],
        "pixel_format": "YUYV", "output_encoding": "yuv422_yuy2", "camera_frame_id": values["frame_id"]},
        to_detector)


EVALUATION_DETECTIONS_TOPIC = "/ssd_eval/detections"


def evaluate_bag_arguments() -> list[LaunchArgument]:
    detector = [arg for arg in detector_arguments("eval.yaml") if arg.name not in ("image", "detections")]
    return [
        LaunchArgument("bag", None, "rosbag2 folder (sqlite3 or mcap), .mcap/.db3 file or ROS 1 .bag to replay."),
        LaunchArgument("image_topic", "/camera/image_raw", "Camera topic in the bag (sensor_msgs/Image, or a "
                       "CompressedImage topic with image_transport:=compressed); replayed under the same name."),
        LaunchArgument("gt", "", "Ground truth files: COCO JSON, VOC folder or YOLO folder (empty: use gt_topic)."),
        LaunchArgument("gt_topic", "", "Ground truth as a vision_msgs/Detection2DArray topic in the bag."),
        LaunchArgument("match", "auto", "Pair ground truth with frames by header stamp or by position; auto: "
                       "stamp for gt_topic, index for gt.", ("auto", "stamp", "index")),
        LaunchArgument("rate", "", "Replay rate in Hz; empty: as recorded."),
        LaunchArgument("report", "evaluation_report", "Folder for report.json, report.md and the plots."),
        LaunchArgument("record_bag", "", "Also record the run (frames, outputs, ground truth) into this bag."),
        LaunchArgument("min_map", "", "Log an error and exit the evaluation with code 1 when mAP@0.5 is below "
                       "this; empty: no bar."),
        *detector,
    ]


def evaluation_node_setup(values: dict[str, str]) -> DetectorCommand:
    """The detector of evaluate_bag.launch.py: fed the replayed frames, answering on a fixed topic."""
    # with compressed transport the node subscribes to <image>/compressed itself
    camera = raw_topic(values["image_topic"]) if values["image_transport"] == "compressed" else values["image_topic"]
    return detector_node_setup({**values, "image": camera, "detections": EVALUATION_DETECTIONS_TOPIC},
                               extra_remappings=[(LABEL_INFO, sibling_topic(EVALUATION_DETECTIONS_TOPIC, LABEL_INFO))])


def evaluation_command(values: dict[str, str]) -> list[str]:
    """The ``ssd-ros`` arguments evaluate_bag.launch.py runs against its already running detector."""
    if not values.get("bag"):
        raise ValueError("bag is required, e.g. bag:=run_07")
    if not values.get("gt") and not values.get("gt_topic"):
        raise ValueError("give the ground truth: gt:=labels.json (COCO, VOC or YOLO) or gt_topic:=/labels")
    command = ["eval", "--bag", values["bag"], "--image-topic", values["image_topic"], "--online", "--running-node",
               "--detections-topic", EVALUATION_DETECTIONS_TOPIC, "--report", values["report"]]
    for argument, option in (("gt", "--gt"), ("gt_topic", "--gt-topic"), ("rate", "--rate"),
                             ("record_bag", "--record-bag"), ("min_map", "--min-map")):
        if values.get(argument):
            command += [option, values[argument]]
    if values.get("match", "auto") != "auto":
        command += ["--match", values["match"]]
    return command
