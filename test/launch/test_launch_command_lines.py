"""The node command line each launch file would execute, started for real: it must produce detections.

launch_ros turns a launch file's Node action into `<install>/lib/ssd_ros/detector --ros-args ...`
with the params file, parameters and remaps. ssd_ros.launch_support builds exactly those values (the
launch files call it), and its ros_arguments() are the `ros2 run` arguments; here the
console script runs with them over real DDS and must answer a camera frame.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from ssd_ros import launch_support
from ssd_ros.processes import interrupt_and_wait
from ssd_ros.resources import default_model_path

rclpy = pytest.importorskip("rclpy", reason="rclpy is not importable: run `make setup` (or source ROS 2)")
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from vision_msgs.msg import Detection2DArray  # noqa: E402

from ssd_ros.ros.conversions import frame_to_image  # noqa: E402

pytestmark = pytest.mark.ros


def detector_executable() -> list[str]:
    """The installed console script (what `ros2 run ssd_ros detector` finds), else the module."""
    script = shutil.which("detector")
    return [script] if script else [sys.executable, "-m", "ssd_ros.ros.detector_node"]


@pytest.mark.parametrize("launch_file", ["detect.launch.py", "multi_camera.launch.py", "jetson.launch.py"])
def test_launch_node_command_line_produces_detections(launch_file, graph, tmp_path):
    model = default_model_path()
    if launch_file == "detect.launch.py":
        values = {arg.name: arg.default for arg in launch_support.detector_arguments()}
        values.update(image="/cam/image_raw", model=str(model), namespace="robot")
        setup = launch_support.detector_node_setup(values)
        image_topic, detections_topic = "/cam/image_raw", "/robot/detections"
    elif launch_file == "jetson.launch.py":
        # Everything as jetson.launch.py passes it (config/jetson.yaml, its remaps), except the three
        # arguments that need an NVIDIA GPU, which this machine lacks.
        values = {arg.name: arg.default for arg in launch_support.jetson_arguments()}
        values.update(model=str(model), backend="onnxruntime", device="cpu", precision="fp32")
        setup = launch_support.detector_node_setup(values)
        assert setup.params_files[0].name == "jetson.yaml"
        image_topic, detections_topic = "/camera/image_raw", "/detections"
    else:
        values = {arg.name: arg.default for arg in launch_support.multi_camera_arguments()}
        values.update(cameras="/front/image_raw,/rear/image_raw", model=str(model))
        setup = launch_support.detector_node_setup(values,
                                                   launch_support.multi_camera_parameters(values["cameras"]))
        image_topic, detections_topic = "/rear/image_raw", "/rear/detections"
    command = [*detector_executable(), *setup.ros_arguments()]

    log = tmp_path / "node.log"
    process = subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "active:" not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        node = graph.node("launch_test_camera")
        publisher = node.create_publisher(Image, image_topic, qos_profile_sensor_data)
        received: list[Detection2DArray] = []
        node.create_subscription(Detection2DArray, detections_topic, received.append,
                                 QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        frame = np.zeros((240, 320, 3), np.uint8)
        end = time.monotonic() + 30
        while not received and time.monotonic() < end:
            msg = frame_to_image(frame, Image().header)
            msg.header.frame_id = "launch_test"
            publisher.publish(msg)
            graph.spin_for(0.5)
        assert received, f"no Detection2DArray on {detections_topic}:\n{log.read_text()}"
        assert received[0].header.frame_id == "launch_test"
    finally:
        assert interrupt_and_wait(process) == 0, log.read_text()


def test_evaluate_bag_command_lines_replay_a_bag_into_the_node_and_write_the_report(tmp_path):
    """evaluate_bag.launch.py's two processes, started for real: the detector, then ssd-ros eval against it."""
    import json

    synth = pytest.importorskip("ssd_ros_training.synth", reason="the training package writes the synthetic dataset")
    from ssd_ros.cli import main as ssd_ros_cli

    dataset, bag = tmp_path / "voc", tmp_path / "bag"
    synth.write_voc_dataset(dataset, images=8, seed=21)
    assert ssd_ros_cli(["bag", "from-dataset", "--data", str(dataset), "--out", str(bag)]) == 0
    values = {arg.name: arg.default for arg in launch_support.evaluate_bag_arguments()}
    values.update(bag=str(bag), gt_topic="/ground_truth/detections", report=str(tmp_path / "report"), rate="10")
    setup = launch_support.evaluation_node_setup(values)
    node_log = tmp_path / "node.log"
    node = subprocess.Popen([*detector_executable(), *setup.ros_arguments()],
                            stdout=node_log.open("w"), stderr=subprocess.STDOUT)
    try:
        script = shutil.which("ssd-ros")
        evaluation = [script] if script else [sys.executable, "-m", "ssd_ros.cli"]
        result = subprocess.run([*evaluation, *launch_support.evaluation_command(values)], capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\nnode:\n{node_log.read_text()}"
    finally:
        assert interrupt_and_wait(node) == 0, node_log.read_text()
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["frames"]["read"] == 8 and report["frames"]["evaluated"] == 8, report["frames"]
    assert report["metrics"]["map_50"] > 0.5, report["metrics"]
