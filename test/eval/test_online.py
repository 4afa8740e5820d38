"""Online mode over real DDS: the bag's frames go to the ssd_detector node, its output is scored and recorded.

The node runs as its own process (started by the command, or already running as a launch file would
start it). Bound on the round trip: every frame that got an output is scored exactly as evaluating
the same images directly; at most 10% of the 20 frames (320x240, under Fast DDS's 512 KB segment)
may get no output, and each such frame is counted in the report.
"""
from __future__ import annotations

import numpy as np
import pytest
from eval_helpers import (
    COMPRESSED_TOPIC,
    IMAGE_TOPIC,
    TRUTH_TOPIC,
    assert_frames_accounted,
    corrupt_frames,
    eval_report,
    run_cli,
    scene_bag,
)

from ssd_ros.datasets import load_dataset
from ssd_ros.eval.dataset import evaluate_on_dataset

pytestmark = pytest.mark.ros

MAX_FRAMES_WITHOUT_OUTPUT = 2  # of 20


def assert_matches_direct_evaluation(report: dict, synthetic_dataset, detector, postprocess, direct_metrics) -> None:
    online = report["online"]
    assert online["frames_published"] == 20
    assert online["frames_with_output"] + online["frames_without_output"] == online["frames_published"]
    assert online["frames_without_output"] <= MAX_FRAMES_WITHOUT_OUTPUT, online
    assert report["frames"]["evaluated_without_output"] == online["frames_without_output"]
    assert online["latency_ms"]["count"] == online["frames_with_output"] and online["latency_ms"]["p50"] > 0
    assert_frames_accounted(report)
    if online["frames_without_output"] == 0:
        assert report["metrics"]["map"] == direct_metrics.map
        assert report["metrics"]["map_50"] == direct_metrics.map_50
        return
    dataset = load_dataset(synthetic_dataset, "voc")
    scored = report["metrics_frames_with_output"]
    with_output = [i for i in range(20) if i not in set(online["frame_indices_without_output"])]
    subset = evaluate_on_dataset(detector, dataset.subset(with_output, "with output"), postprocess).metrics
    assert (scored["map"], scored["map_50"]) == (subset.map, subset.map_50)


def test_online_with_the_node_started_by_the_command_and_its_output_recorded(
        dataset_bag, synthetic_dataset, detector, postprocess, direct_metrics, tmp_path):
    recording = tmp_path / "recording"
    code, report = eval_report(tmp_path / "report", "--bag", dataset_bag(), "--image-topic", IMAGE_TOPIC,
                               "--gt-topic", TRUTH_TOPIC, "--online", "--rate", "20", "--record-bag", recording,
                               "--record-storage", "mcap")
    assert code == 0, (tmp_path / "report" / "node.log").read_text()
    assert report["mode"] == "online" and report["online"]["node"] == "started"
    assert_matches_direct_evaluation(report, synthetic_dataset, detector, postprocess, direct_metrics)
    assert 10 < report["online"]["publish_rate_hz"] < 30
    assert (tmp_path / "report" / "latency_histogram.png").stat().st_size > 1000

    # the recorded detections topic: the same messages through rosbags and through mcap-ros2-support
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory
    from rosbags.highlevel import AnyReader

    topic = "/ssd_eval/detections"
    with AnyReader([recording]) as reader:
        connections = [c for c in reader.connections if c.topic == topic]
        assert connections[0].msgtype == "vision_msgs/msg/Detection2DArray"
        by_rosbags = [reader.deserialize(raw, c.msgtype) for c, _, raw in reader.messages(connections=connections)]
    with next(recording.glob("*.mcap")).open("rb") as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        by_mcap = [decoded for _, _, _, decoded in reader.iter_decoded_messages(topics=[topic])]
    assert len(by_rosbags) == len(by_mcap) == report["online"]["frames_with_output"]
    assert sum(len(m.detections) for m in by_rosbags) > 0
    for ours, theirs in zip(by_rosbags, by_mcap, strict=True):
        assert (ours.header.stamp.sec, ours.header.stamp.nanosec, ours.header.frame_id) == \
               (theirs.header.stamp.sec, theirs.header.stamp.nanosec, theirs.header.frame_id)
        assert [(d.results[0].hypothesis.class_id, d.results[0].hypothesis.score, d.bbox.center.position.x,
                 d.bbox.size_y) for d in ours.detections] == \
               [(d.results[0].hypothesis.class_id, d.results[0].hypothesis.score, d.bbox.center.position.x,
                 d.bbox.size_y) for d in theirs.detections]

    # the recording is a complete evaluation bag: recorded mode on it reproduces the online scores
    code, replayed = eval_report(tmp_path / "replayed", "--bag", recording, "--image-topic", IMAGE_TOPIC,
                                 "--gt-topic", TRUTH_TOPIC, "--detections-topic", topic)
    assert code == 0
    assert replayed["metrics"] == report["metrics"]
    assert replayed["frames"] == report["frames"]


def test_online_against_an_already_running_node_with_compressed_frames_and_numeric_class_ids(
        dataset_bag, synthetic_dataset, detector, postprocess, direct_metrics, tmp_path):
    from ros_helpers import ros_process

    node_args = ["-m", "ssd_ros.ros.detector_node", "--ros-args", "-r", "__node:=robot_detector",
                 "-p", "image_topics:=['/robot/image']", "-p", "image_transport:=compressed",
                 "-p", "detection_topics:=['/robot/detections']", "-r", "label_info:=/robot/label_info",
                 "-p", "label_as_id:=true", "-p", "score_threshold:=0.01"]
    with ros_process(node_args, tmp_path / "node.log", ready_text="active:", timeout=120):
        code, report = eval_report(tmp_path / "report", "--bag", dataset_bag("mcap", True), "--image-topic",
                                   COMPRESSED_TOPIC, "--gt-topic", TRUTH_TOPIC, "--online", "--running-node",
                                   "--publish-topic", "/robot/image/compressed", "--detections-topic",
                                   "/robot/detections", "--rate", "20")
    assert code == 0, report
    assert report["online"]["node"] == "running" and report["online"]["class_ids_from"] == "node label_info"
    assert report["detections"]["of_classes_not_in_ground_truth"] == {}  # numeric ids all mapped to names
    assert_matches_direct_evaluation(report, synthetic_dataset, detector, postprocess, direct_metrics)


def test_corrupt_frames_are_not_published_and_counted_as_unreadable(tmp_path):
    broken, topic = corrupt_frames(scene_bag(tmp_path / "source", frames=6), tmp_path / "broken", compressed=False)
    code, report = eval_report(tmp_path / "report", "--bag", broken, "--image-topic", topic, "--gt-topic",
                               TRUTH_TOPIC, "--online", "--rate", "20")
    assert code == 0, report
    assert report["frames"]["unreadable"] == 2 and report["frames"]["read"] == 6
    assert report["online"]["frames_published"] == 4
    assert {e["frame"] for e in report["unreadable_examples"]} == {2, 4}
    assert_frames_accounted(report)


def test_no_running_node_is_a_clear_error(dataset_bag, tmp_path, capsys):
    code = run_cli(["eval", "--bag", dataset_bag(), "--image-topic", IMAGE_TOPIC, "--gt-topic", TRUTH_TOPIC,
                    "--online", "--running-node", "--detections-topic", "/nobody/detections", "--ready-timeout", "2"])
    assert code == 2
    error = capsys.readouterr().err
    assert "no detector connected within 2 s" in error and "subscribers on /camera/image_raw: 0" in error
    assert "Is the node running" in error


def test_restamp_patches_the_header_of_both_byte_orders():
    from ssd_ros.bags.types import bag_typestore
    from ssd_ros.stamps import restamp

    store = bag_typestore()
    types = store.types
    message = types["sensor_msgs/msg/CompressedImage"](
        header=types["std_msgs/msg/Header"](stamp=types["builtin_interfaces/msg/Time"](sec=1, nanosec=2),
                                            frame_id="cam"), format="jpeg", data=np.arange(5, dtype=np.uint8))
    for little_endian in (True, False):
        raw = bytes(store.serialize_cdr(message, "sensor_msgs/msg/CompressedImage", little_endian=little_endian))
        patched = store.deserialize_cdr(restamp(raw, 1_795_000_000_123_456_789), "sensor_msgs/msg/CompressedImage")
        assert (patched.header.stamp.sec, patched.header.stamp.nanosec) == (1_795_000_000, 123_456_789)
        assert patched.header.frame_id == "cam" and list(patched.data) == [0, 1, 2, 3, 4]
