"""No frame is lost silently: camera-sized frames from plain shells and third-party publishers.

Every process here runs from a shell scrubbed of every FASTRTPS_/FASTDDS_ variable (what a user's
shell has), keeping only loopback discovery and the test's domain: what carries large frames is
what ssd_ros applies by itself (ssd_ros/ros/transport.py), not the test sandbox's profile.
The camera stand-in (benchmarks/camera_publisher.py) is plain rclpy with nothing of ssd_ros.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from paths import REPO_ROOT

from ssd_ros.resources import share_path
from ssd_ros.ros.statistics import node_counters
from ssd_ros.ros.transport import LARGE_FRAMES_PROFILE, PROFILE_VARIABLES, configure_transport

CAMERA = REPO_ROOT / "benchmarks" / "camera_publisher.py"
SSD_ROS = Path(sys.prefix) / "bin" / "ssd-ros"
FASTDDS = {"dds": "http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles"}


def plain_shell(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("FASTRTPS_", "FASTDDS_"))}
    env.update(extra)
    return env


# ------------------------------------------------------------------ what is applied, outside tests
def test_the_transport_applied_outside_tests_names_no_interface_and_carries_large_frames():
    environ: dict[str, str] = {}
    choice = configure_transport(environ)
    assert choice.applied_profile == str(share_path(LARGE_FRAMES_PROFILE))
    assert set(environ) == set(PROFILE_VARIABLES), "only the profile is set: no discovery range, no localhost switch"
    root = ElementTree.parse(choice.applied_profile).getroot()
    assert root.find(".//dds:interfaceWhiteList", FASTDDS) is None, "a robot's node must reach other machines"
    assert "127.0.0.1" not in Path(choice.applied_profile).read_text()
    segments = [int(d.findtext("dds:segment_size", namespaces=FASTDDS))
                for d in root.iterfind(".//dds:transport_descriptor", FASTDDS)
                if d.findtext("dds:type", namespaces=FASTDDS) == "SHM"]
    assert segments and min(segments) >= 2 * 1920 * 1080 * 3, "a 1080p rgb8 frame and the next must fit"
    kinds = {d.findtext("dds:type", namespaces=FASTDDS) for d in root.iterfind(".//dds:transport_descriptor", FASTDDS)}
    assert "UDPv4" in kinds, "UDP stays for discovery and other machines"


@pytest.mark.parametrize("user_setting", [
    {"FASTRTPS_DEFAULT_PROFILES_FILE": "/etc/robot/fastdds.xml"},
    {"FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"},
    {"ROS_DISCOVERY_SERVER": "10.0.0.2:11811"},
    {"RMW_IMPLEMENTATION": "rmw_cyclonedds_cpp"},
])
def test_a_users_dds_configuration_is_kept_and_named(user_setting):
    environ = dict(user_setting)
    choice = configure_transport(environ)
    assert environ == user_setting and choice.applied_profile is None
    assert next(iter(user_setting.values())) in choice.description


# ------------------------------------------------------------------ ssd-ros eval --online from a plain shell
def _eval_json(*args: str, env: dict[str, str]) -> dict:
    result = subprocess.run([str(SSD_ROS), "eval", *args, "--json"], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module", params=["640x480", "1280x720"])
def camera_bag(request, tmp_path_factory) -> Path:
    width, height = request.param.split("x")
    folder = tmp_path_factory.mktemp(f"bag_{request.param}")
    env = plain_shell()
    subprocess.run([str(SSD_ROS), "synth", "--out", str(folder / "data"), "--images", "12", "--seed", "8",
                    "--width", width, "--height", height], env=env, check=True, capture_output=True, timeout=300)
    subprocess.run([str(SSD_ROS), "bag", "from-dataset", "--data", str(folder / "data"), "--out",
                    str(folder / "bag")], env=env, check=True, capture_output=True, timeout=300)
    return folder / "bag"


BAG_ARGS = ("--image-topic", "/camera/image_raw", "--gt-topic", "/ground_truth/detections")


@pytest.mark.ros
@pytest.mark.slow
def test_online_evaluation_from_a_plain_shell_loses_no_frame_and_scores_what_offline_scores(camera_bag, ros_domain):
    env = plain_shell(ROS_DOMAIN_ID=str(ros_domain))
    offline = _eval_json("--bag", str(camera_bag), *BAG_ARGS, env=env)
    online = _eval_json("--bag", str(camera_bag), *BAG_ARGS, "--online", "--rate", "10", env=env)
    accounting = online["online"]["frame_accounting"]
    assert online["online"]["frames_without_output"] == 0, accounting
    assert accounting["lost_in_transport"] == 0 and accounting["received_by_node"] == 12, accounting
    assert accounting["answered"] == accounting["published"] == 12
    assert online["metrics"]["map"] == offline["metrics"]["map"]
    assert online["metrics"]["map_50"] == offline["metrics"]["map_50"]


@pytest.mark.ros
@pytest.mark.slow
def test_lockstep_online_evaluation_equals_offline_even_when_the_node_is_slower_than_the_bag(camera_bag, ros_domain):
    """At 30 Hz a 1280x720 bag outruns the node on these CPUs (its newest-frame queue drops); lockstep waits."""
    env = plain_shell(ROS_DOMAIN_ID=str(ros_domain))
    offline = _eval_json("--bag", str(camera_bag), *BAG_ARGS, env=env)
    online = _eval_json("--bag", str(camera_bag), *BAG_ARGS, "--online", "--lockstep", env=env)
    report = online["online"]
    assert report["lockstep"] and report["lockstep_timeouts"] == 0
    assert report["frame_accounting"]["dropped_by_node_queue"] == 0 and report["frames_without_output"] == 0
    assert online["metrics"]["map"] == offline["metrics"]["map"]


def test_frame_accounting_splits_the_frames_without_output():
    from ssd_ros.eval.online import frame_accounting

    before = {"received": 4, "processed": 4, "dropped": 0, "failed: bad input": 1}
    after = {"received": 22, "processed": 17, "dropped": 2, "failed: bad input": 2, "failed: inference failed": 1}
    assert frame_accounting(20, 16, before, after) == {
        "published": 20, "received_by_node": 18, "lost_in_transport": 2, "dropped_by_node_queue": 2,
        "failed_by_node": {"bad input": 1, "inference failed": 1}, "processed_by_node": 13, "answered": 16}
    assert "unknown_because" in frame_accounting(20, 16, None, after)


# ------------------------------------------------------------------ third-party publishers into the node
def _received_by(statuses: list) -> int:
    counts = [node_counters(status).get("received", 0) for status in statuses]
    return max(counts, default=0)


def _stream_into_node(graph, tmp_path, camera_env: dict[str, str], frames: int = 200, *,
                      doctor: bool = False) -> tuple[int, dict, subprocess.CompletedProcess | None]:
    """The node (plain shell) and a third-party camera (``camera_env``): frames the node received."""
    from node_fixtures import detector_process

    statuses: list = []
    watcher = graph.node("delivery_watcher")
    watcher.create_subscription(DiagnosticArray, "/diagnostics",
                                lambda array: statuses.extend(s for s in array.status
                                                              if s.name.endswith(": /camera/image_raw")), 10)
    with detector_process(tmp_path, "-r", "image:=/camera/image_raw", "-p", "publish_debug_image:=false",
                          env=plain_shell()):
        camera = subprocess.Popen([sys.executable, str(CAMERA), "--frames", str(frames), "--rate", "30"],
                                  env=camera_env, stdout=subprocess.PIPE, text=True)
        checker = subprocess.Popen([str(SSD_ROS), "doctor", "--seconds", "5", "--json"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True,
                                   env=plain_shell(ROS_DOMAIN_ID=os.environ["ROS_DOMAIN_ID"])) if doctor else None
        graph.spin_until(lambda: camera.poll() is not None, timeout=120, what="the camera's last frame")
        published = json.loads(camera.communicate()[0].splitlines()[-1])
        assert published.get("published") == frames, published
        graph.spin_for(3.0)  # the node's /diagnostics (every second) after the last frame
        checked = None
        if checker is not None:
            stdout, stderr = checker.communicate(timeout=60)
            checked = subprocess.CompletedProcess(checker.args, checker.returncode, stdout, stderr)
    return _received_by(statuses), published, checked


@pytest.mark.ros
@pytest.mark.slow
def test_a_camera_with_the_robot_profile_delivers_every_frame(graph, tmp_path):
    profile = str(share_path(LARGE_FRAMES_PROFILE))
    camera_env = plain_shell(ROS_DOMAIN_ID=os.environ["ROS_DOMAIN_ID"], FASTRTPS_DEFAULT_PROFILES_FILE=profile)
    received, _, _ = _stream_into_node(graph, tmp_path, camera_env)
    assert received == 200, f"the node received {received} of 200 frames at 30 Hz"


@pytest.mark.ros
@pytest.mark.slow
@pytest.mark.parametrize("camera_settings", ["default", "robot profile"])
def test_doctor_finds_frames_lost_in_transport_and_names_the_fix(graph, tmp_path, camera_settings):
    extra = {"FASTRTPS_DEFAULT_PROFILES_FILE": str(share_path(LARGE_FRAMES_PROFILE))} if camera_settings != "default" \
        else {}
    camera_env = plain_shell(ROS_DOMAIN_ID=os.environ["ROS_DOMAIN_ID"], **extra)
    received, _, doctor = _stream_into_node(graph, tmp_path, camera_env, doctor=True)
    assert doctor is not None
    report = json.loads(doctor.stdout)
    assert report["camera"]["width"] == 640 and report["detector"]["status_name"], report
    transport_findings = [finding for finding in report["findings"] if "lost between the camera" in finding]
    if camera_settings == "default":
        assert received < 200, "default Fast DDS lost no 900 KB frame: the README's table and this test need updating"
        assert doctor.returncode == 1 and transport_findings, report
        assert "FASTRTPS_DEFAULT_PROFILES_FILE=" in transport_findings[0] and "compressed" in transport_findings[0]
    else:
        assert report["camera"]["missing_frames"] == 0 and not transport_findings, report


@pytest.mark.ros
@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="measured (benchmarks/bench_transport.py, README 'Large frames'): a "
                   "LARGE_DATA publisher delivers 55-76% of 640x480 rgb8 frames at 30 Hz here whatever the "
                   "receiver uses (this profile, LARGE_DATA, TCP only, deeper history); the loss is in the "
                   "publisher's transport. Strict: when it starts passing, the README's advice must change.")
def test_a_large_data_camera_delivers_every_frame(graph, tmp_path):
    camera_env = plain_shell(ROS_DOMAIN_ID=os.environ["ROS_DOMAIN_ID"], FASTDDS_BUILTIN_TRANSPORTS="LARGE_DATA")
    received, _, _ = _stream_into_node(graph, tmp_path, camera_env)
    assert received == 200, f"the node received {received} of 200 frames at 30 Hz"
