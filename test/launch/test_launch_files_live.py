"""Each launch file, launched for real by launch_pytest, must answer camera frames with detections.

launch and launch_pytest are not on PyPI: `make setup` installs the upstream Jazzy wheels from
../shared/ros2-cli (developers, CI: there the module must run, never skip), a ROS 2 installation has
them, and elsewhere the module skips with the reason. test_launch_static.py and
test_launch_command_lines.py run everywhere. The launched processes inherit this session's
loopback-only DDS environment (test/conftest.py).
"""
from __future__ import annotations

import importlib.util
import shutil
import time
from pathlib import Path

import pytest
from ros_helpers import require_ros2_cli

require_ros2_cli()
import launch_pytest  # noqa: E402
import rclpy  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from vision_msgs.msg import Detection2DArray  # noqa: E402

import launch  # noqa: E402
from ssd_ros.resources import share_path  # noqa: E402
from ssd_ros.ros.conversions import frame_to_image  # noqa: E402
from ssd_ros.synthetic import render_scene  # noqa: E402

pytestmark = pytest.mark.ros


def included(launch_file: str, **arguments: str):
    return launch.actions.IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(share_path(f"launch/{launch_file}"))),
        launch_arguments=list(arguments.items()))


def answered(image_topic: str | None, detections_topic: str, timeout: float = 60.0) -> Detection2DArray:
    """Publish synthetic scenes on ``image_topic`` (None: a real camera publishes) until a detection arrives."""
    import numpy as np

    context = rclpy.context.Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node("launch_pytest_camera", context=context)
        received: list[Detection2DArray] = []
        node.create_subscription(Detection2DArray, detections_topic, received.append,
                                 QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        publisher = node.create_publisher(Image, image_topic, qos_profile_sensor_data) if image_topic else None
        executor = rclpy.executors.SingleThreadedExecutor(context=context)
        executor.add_node(node)
        frame = render_scene(np.random.default_rng(0), 320, 240)[0]
        deadline = time.monotonic() + timeout
        while not received and time.monotonic() < deadline:
            if publisher is not None:
                msg = frame_to_image(frame, Image().header)
                msg.header.frame_id = "launch_pytest"
                publisher.publish(msg)
            executor.spin_once(timeout_sec=0.2)
        assert received, f"no Detection2DArray on {detections_topic} within {timeout:.0f} s"
        return received[0]
    finally:
        context.try_shutdown()


@launch_pytest.fixture
def detect_launch():
    return launch.LaunchDescription([
        included("detect.launch.py", image="/launch_pytest/image_raw", node_name="launch_pytest_detector"),
        launch_pytest.actions.ReadyToTest(),
    ])


@pytest.mark.launch(fixture=detect_launch)
def test_detect_launch_answers_frames():
    result = answered("/launch_pytest/image_raw", "/detections")
    assert result.header.frame_id == "launch_pytest"


@launch_pytest.fixture
def multi_camera_launch():
    return launch.LaunchDescription([
        included("multi_camera.launch.py", cameras="/launch_pytest_front/image_raw,/launch_pytest_rear/image_raw"),
        launch_pytest.actions.ReadyToTest(),
    ])


@pytest.mark.launch(fixture=multi_camera_launch)
def test_multi_camera_launch_answers_each_camera_on_its_own_topic():
    for camera in ("launch_pytest_front", "launch_pytest_rear"):
        assert answered(f"/{camera}/image_raw", f"/{camera}/detections").header.frame_id == "launch_pytest"


def _jetson_ready() -> str | None:
    """Why the Jetson launch file cannot run here, or None."""
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

    if importlib.util.find_spec("tensorrt") is None:
        return "TensorRT's Python module is not installed (JetPack)"
    if not Path("/dev/video0").exists():
        return "no USB camera at /dev/video0"
    try:
        get_package_share_directory("v4l2_camera")
    except PackageNotFoundError:
        return "the v4l2_camera package is not installed (sudo apt install ros-$ROS_DISTRO-v4l2-camera)"
    if shutil.which("nvidia-smi") is None and not Path("/etc/nv_tegra_release").exists():
        return "not a Jetson or NVIDIA GPU machine"
    return None


@launch_pytest.fixture
def jetson_launch():
    return launch.LaunchDescription([
        included("jetson.launch.py", camera="usb", video_device="/dev/video0"),
        launch_pytest.actions.ReadyToTest(),
    ])


@pytest.mark.skipif(_jetson_ready() is not None, reason=f"Jetson launch test: {_jetson_ready()}")
@pytest.mark.launch(fixture=jetson_launch)
def test_jetson_launch_detects_on_the_usb_camera():
    # The first start may build the TensorRT engine (minutes on an Orin Nano) before the first answer.
    result = answered(None, "/detections", timeout=900.0)
    assert result.header.frame_id == "camera_optical_frame"


@pytest.fixture
def evaluation_bag(tmp_path) -> Path:
    synth = pytest.importorskip("ssd_ros_training.synth", reason="the training package writes the synthetic dataset")
    from ssd_ros.cli import main as ssd_ros_cli

    synth.write_voc_dataset(tmp_path / "voc", images=8, seed=21)
    assert ssd_ros_cli(["bag", "from-dataset", "--data", str(tmp_path / "voc"), "--out", str(tmp_path / "bag")]) == 0
    return tmp_path / "bag"


@launch_pytest.fixture
def evaluate_bag_launch(evaluation_bag):
    return launch.LaunchDescription([
        included("evaluate_bag.launch.py", bag=str(evaluation_bag), gt_topic="/ground_truth/detections",
                 report=str(evaluation_bag.parent / "report"), rate="10"),
        launch_pytest.actions.ReadyToTest(),
    ])


@pytest.mark.launch(fixture=evaluate_bag_launch)
def test_evaluate_bag_launch_writes_the_report(evaluation_bag):
    import json

    report = evaluation_bag.parent / "report" / "report.json"
    deadline = time.monotonic() + 300
    while not report.is_file() and time.monotonic() < deadline:
        time.sleep(0.5)
    yield
    frames = json.loads(report.read_text())["frames"]
    assert frames["read"] == frames["evaluated"] == 8, frames
