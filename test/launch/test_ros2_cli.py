"""The user's journey through the real ROS 2 tools: colcon build, ros2 launch, ros2 param, ros2 topic.

Everything here runs the upstream ``colcon`` and ``ros2`` command lines in subprocesses, on a
``colcon build`` of a clean copy of this checkout in a temporary workspace (the README's command:
``colcon build --base-paths src src/ssd_ros/ssd_ros_msgs``), from a shell that has only sourced the
workspace: none of this project's Fast DDS settings, only loopback discovery and the test's domain.
Ctrl-C is sent the way a terminal sends it, to the whole process group, and the launch must end
without a traceback.

Where the ``ros2`` command line is not installed (no ../shared/ros2-cli beside the checkout and no
ROS 2 sourced) the module skips; in CI it must run (test/conftest.py ``require_ros2_cli``).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import yaml
from rclpy.qos import qos_profile_sensor_data
from ros_helpers import REPO_ROOT, require_ros2_cli
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from ssd_ros.ros.conversions import frame_to_image
from ssd_ros.ros.params import PARAMETERS_BY_NAME
from ssd_ros.synthetic import render_scene

pytestmark = [pytest.mark.ros, pytest.mark.slow]
require_ros2_cli()

# A valid value other than the default for every parameter a user's params file may set. A new
# parameter must be added here (or, with the reason, to NOT_SET_BY_FILE) for the first test to pass.
CUSTOM_VALUES = {
    "model_path": "<default model, by absolute path>",
    "backend": "openvino", "device": "CPU", "num_threads": 1, "cpu_spin_wait": True, "precision": "fp32",
    "engine_cache_dir": "/tmp/ssd_ros_test_engines", "score_threshold": 0.3, "nms_iou_threshold": 0.4,
    "max_detections": 50, "top_k_candidates": 300, "classes": ["circle"], "class_score_thresholds": ["square=0.6"],
    "label_as_id": True,
    "publish_debug_image": False, "max_image_pixels": 5_000_000, "image_topics": ["front/image_raw"],
    "detection_topics": ["front/ssd"], "image_transport": "compressed", "max_batch_size": 2,
    "inference_workers": 2, "diagnostics_period": 0.5,
}
NOT_SET_BY_FILE = {
    "model_config": "needs a third-party model; the sidecar path is a plain string like model_path",
    "autostart": "false would leave the node unconfigured, so nothing else could be checked",
}


# ros2 param waits 1 s for the node by default: too short for discovery on a loaded 2-core machine.
WAIT = ("--timeout", "15")


def scrubbed_environment() -> dict[str, str]:
    """A user's shell: no Fast DDS variable of ours; loopback discovery and the test's domain stay."""
    return {name: value for name, value in os.environ.items()
            if not name.startswith(("FASTRTPS_", "FASTDDS_", "COLCON_", "AMENT_", "CMAKE_PREFIX"))}


def sourced(setup_script: Path, base: dict[str, str]) -> dict[str, str]:
    """The environment after ``source setup_script`` in bash."""
    output = subprocess.run(["bash", "-c", f"source '{setup_script}' && env -0"], env=base, check=True,
                            capture_output=True).stdout
    return dict(entry.split("=", 1) for entry in output.decode().split("\0") if "=" in entry)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A colcon workspace holding a clean copy of this checkout, built; and the shell that sourced it."""
    root = tmp_path_factory.mktemp("ros_ws")
    source = root / "src" / "ssd_ros"
    source.mkdir(parents=True)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO_ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (REPO_ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, source / name)
    base = scrubbed_environment()
    venv = Path(sys.prefix)
    if not os.environ.get("ROS_DISTRO"):  # the PyPI-wheel environment stands in for /opt/ros/jazzy
        base.update(AMENT_PREFIX_PATH=str(venv), CMAKE_PREFIX_PATH=str(venv),
                    PATH=f"{venv / 'bin'}{os.pathsep}{base['PATH']}")
    build = subprocess.run(["colcon", "build", "--base-paths", "src", "src/ssd_ros/ssd_ros_msgs",
                            "--event-handlers", "console_direct-"], cwd=root, env=base, capture_output=True,
                           text=True, timeout=600)
    assert build.returncode == 0, f"colcon build failed:\n{build.stdout[-4000:]}\n{build.stderr[-4000:]}"
    return root, sourced(root / "install" / "local_setup.bash", base)


def ros2(env: dict[str, str], *args: str, timeout: float = 60.0, check: bool = True) -> str:
    result = subprocess.run(["ros2", *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, f"ros2 {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n" \
                                       f"{result.stderr}"
    return result.stdout + result.stderr


@contextmanager
def launched(env: dict[str, str], log: Path, *args: str, ready_text: str = "active:",
             ready_count: int = 1) -> Iterator[subprocess.Popen]:
    """``ros2 launch ARGS`` in a session of its own; ends with Ctrl-C as a terminal sends it (to the group)."""
    with log.open("w") as output:
        process = subprocess.Popen(["ros2", "launch", *args], env=env, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while log.read_text().count(ready_text) < ready_count:
            assert process.poll() is None, f"ros2 launch {args} exited {process.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"ros2 launch {args} not ready after 120 s:\n{log.read_text()}"
            time.sleep(0.2)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    text = log.read_text()
    assert "Traceback" not in text and "process has died" not in text, f"unclean end of ros2 launch:\n{text}"


def dumped_parameters(env: dict[str, str], node: str) -> dict:
    text = ros2(env, "param", "dump", node, "--no-daemon", *WAIT)
    return next(iter(yaml.safe_load(text).values()))["ros__parameters"]


def test_a_users_params_file_is_honoured_for_every_parameter_and_arguments_override_it(workspace, tmp_path):
    root, env = workspace
    assert set(CUSTOM_VALUES) | set(NOT_SET_BY_FILE) == set(PARAMETERS_BY_NAME)
    share = root / "install" / "ssd_ros" / "share" / "ssd_ros"
    values = {**CUSTOM_VALUES, "model_path": str(share / "models" / "default" / "model.onnx")}
    for name, value in values.items():
        assert value != PARAMETERS_BY_NAME[name].default, f"{name}: pick a value other than the default"
    params_file = tmp_path / "custom.yaml"
    params_file.write_text(yaml.safe_dump({"/**": {"ros__parameters": values}}))

    with launched(env, tmp_path / "file.log", "ssd_ros", "detect.launch.py", f"params_file:={params_file}"):
        running = dumped_parameters(env, "/ssd_detector")
    for name, value in values.items():
        assert running[name] == value, f"{name}: the node runs with {running[name]!r}, the params file says {value!r}"

    with launched(env, tmp_path / "argument.log", "ssd_ros", "detect.launch.py", f"params_file:={params_file}",
                  "score_threshold:=0.7", "backend:=onnxruntime"):
        running = dumped_parameters(env, "/ssd_detector")
    assert (running["score_threshold"], running["backend"]) == (0.7, "onnxruntime")
    assert running["max_detections"] == values["max_detections"], "the rest of the file still applies"


def test_ros2_param_set_refuses_with_the_reason_applies_valid_values_and_describe_shows_the_table(
        workspace, tmp_path):
    _, env = workspace
    with launched(env, tmp_path / "launch.log", "ssd_ros", "detect.launch.py"):
        refused = ros2(env, "param", "set", "/ssd_detector", "score_threshold", "1.7", "--no-daemon", *WAIT,
                       check=False)
        # rclpy checks the declared range first: "Parameter score_threshold out of range Min: 0.0, Max: 1.0, ..."
        assert "Setting parameter failed" in refused and "score_threshold" in refused and "1.7" in refused
        assert "Max: 1.0" in refused or "[0, 1]" in refused
        read_only = ros2(env, "param", "set", "/ssd_detector", "max_batch_size", "8", "--no-daemon", *WAIT,
                         check=False)
        assert "Setting parameter failed" in read_only and "read-only" in read_only
        assert "Set parameter successful" in ros2(env, "param", "set", "/ssd_detector", "score_threshold", "0.6",
                                                  "--no-daemon", *WAIT)
        assert "Double value is: 0.6" in ros2(env, "param", "get", "/ssd_detector", "score_threshold",
                                              "--no-daemon", *WAIT)
        described = ros2(env, "param", "describe", "/ssd_detector", "score_threshold", "nms_iou_threshold",
                         "--no-daemon", *WAIT)
    for name in ("score_threshold", "nms_iou_threshold"):
        assert PARAMETERS_BY_NAME[name].description in " ".join(described.split())
    assert "Min value: 0.0" in described and "Max value: 1.0" in described


def echo_once_while_publishing(env: dict[str, str], graph, image_topics: list[str], detections_topic: str) -> str:
    """``ros2 topic echo --once DETECTIONS`` while 640x480 frames flow into ``image_topics``."""
    node = graph.node(f"ros2_cli_camera_{abs(hash(detections_topic)) % 10000}")
    publishers = [node.create_publisher(Image, topic, qos_profile_sensor_data) for topic in image_topics]
    echo = subprocess.Popen(["ros2", "topic", "echo", "--once", "--no-daemon", detections_topic,
                             "vision_msgs/msg/Detection2DArray"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    rng = np.random.default_rng(5)
    frames = [frame_to_image(render_scene(rng, 640, 480)[0], Header(frame_id="ros2_cli_camera")) for _ in range(3)]
    deadline = time.monotonic() + 90
    index = 0
    try:
        while echo.poll() is None:
            assert time.monotonic() < deadline, f"ros2 topic echo --once {detections_topic}: nothing in 90 s"
            for publisher in publishers:
                publisher.publish(frames[index % len(frames)])
            index += 1
            graph.spin_for(0.1)
    finally:
        if echo.poll() is None:
            echo.kill()
        output = echo.communicate()[0]
    assert echo.returncode == 0, output
    return output


def test_ros2_topic_echo_prints_detections_while_frames_flow(workspace, graph, ros_domain, tmp_path):
    env = {**workspace[1], "ROS_DOMAIN_ID": str(ros_domain)}  # the domain of the test's camera node
    with launched(env, tmp_path / "launch.log", "ssd_ros", "detect.launch.py", "image:=/cli_camera/image_raw"):
        output = echo_once_while_publishing(env, graph, ["/cli_camera/image_raw"], "/detections")
    assert "frame_id: ros2_cli_camera" in output and "detections:" in output


def test_multi_camera_launch_answers_two_cameras_on_their_own_topics(workspace, graph, ros_domain, tmp_path):
    env = {**workspace[1], "ROS_DOMAIN_ID": str(ros_domain)}
    cameras = ["/cli_front/image_raw", "/cli_rear/image_raw"]
    with launched(env, tmp_path / "launch.log", "ssd_ros", "multi_camera.launch.py", f"cameras:={','.join(cameras)}"):
        for camera in ("/cli_front", "/cli_rear"):
            output = echo_once_while_publishing(env, graph, cameras, f"{camera}/detections")
            assert "frame_id: ros2_cli_camera" in output


def test_evaluate_bag_launch_writes_a_report_and_ends(workspace, tmp_path):
    _, env = workspace
    ssd_ros = ["ssd-ros"]
    subprocess.run([*ssd_ros, "synth", "--out", str(tmp_path / "data"), "--images", "6", "--seed", "4",
                    "--width", "640", "--height", "480"], env=env, check=True, capture_output=True, timeout=120)
    subprocess.run([*ssd_ros, "bag", "from-dataset", "--data", str(tmp_path / "data"), "--out",
                    str(tmp_path / "bag")], env=env, check=True, capture_output=True, timeout=120)
    log = tmp_path / "launch.log"
    with log.open("w") as output:
        finished = subprocess.run(["ros2", "launch", "ssd_ros", "evaluate_bag.launch.py", f"bag:={tmp_path / 'bag'}",
                                   "gt_topic:=/ground_truth/detections", f"report:={tmp_path / 'report'}", "rate:=5"],
                                  env=env, stdout=output, stderr=subprocess.STDOUT, timeout=300)
    assert finished.returncode == 0, log.read_text()
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["frames"]["read"] == report["frames"]["evaluated"] == 6, report["frames"]
    assert "Traceback" not in log.read_text()


def test_tools_run_finds_the_checkout_as_an_installed_package(tmp_path):
    """``tools/run ros2 launch ssd_ros ...`` from the checkout, as the README shows (no colcon build)."""
    if os.environ.get("ROS_DISTRO"):
        pytest.skip("with ROS 2 sourced, tools/run uses the colcon overlay make setup built")
    shown = subprocess.run([str(REPO_ROOT / "tools" / "run"), "ros2", "launch", "ssd_ros", "detect.launch.py",
                            "--show-args"], env=scrubbed_environment(), capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "'score_threshold':" in shown.stdout and "'params_file':" in shown.stdout
