"""Bad input: a clear error (exit code 2, the problem and the fix named) or a counted warning in the report."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from eval_helpers import IMAGE_TOPIC, TRUTH_TOPIC, assert_frames_accounted, eval_report, run_cli

from ssd_ros.eval.bag_types import COMPRESSED_IMAGE, DETECTION_2D_ARRAY, IMAGE
from ssd_ros.eval.bag_writer import BagWriter
from ssd_ros.eval.detection_messages import detection_array
from ssd_ros.synthetic import render_scene

START_NS = 1_700_000_000_000_000_000
PERIOD_NS = 100_000_000


def stamp_of(index: int) -> int:
    return START_NS + index * PERIOD_NS


def header(store, stamp: int, frame_id: str = "camera"):
    return store.types["std_msgs/msg/Header"](
        stamp=store.types["builtin_interfaces/msg/Time"](sec=stamp // 10**9, nanosec=stamp % 10**9), frame_id=frame_id)


def scene_bag(path, frames: int = 6, compressed: bool = False, rename: dict[str, str] | None = None,
              truth_frame_id: str = "camera"):
    """Synthetic frames and their ground truth topic; ``rename`` changes class names in the ground truth."""
    rng = np.random.default_rng(5)
    rename = rename or {}
    with BagWriter(path, "sqlite3") as writer:
        store = writer.store
        for index in range(frames):
            image, objects = render_scene(rng, 320, 240)
            stamp = stamp_of(index)
            if compressed:
                data = cv2.imencode(".jpg", image[:, :, ::-1])[1].reshape(-1)
                writer.write(IMAGE_TOPIC + "/compressed", COMPRESSED_IMAGE, stamp, store.types[COMPRESSED_IMAGE](
                    header=header(store, stamp), format="jpeg", data=data))
            else:
                writer.write(IMAGE_TOPIC, IMAGE, stamp, store.types[IMAGE](
                    header=header(store, stamp), height=240, width=320, encoding="rgb8", is_bigendian=0, step=960,
                    data=image.reshape(-1)))
            boxes = np.array([o[1:] for o in objects], np.float64).reshape(-1, 4)
            names = [rename.get(o[0], o[0]) for o in objects]
            writer.write(TRUTH_TOPIC, DETECTION_2D_ARRAY, stamp,
                         detection_array(store, stamp, truth_frame_id, boxes, names))
    return path


def eval_error(capsys, *args) -> str:
    assert run_cli(["eval", *args]) == 2
    return capsys.readouterr().err


def test_missing_topic_names_the_topics_the_bag_has(tmp_path, capsys):
    bag = scene_bag(tmp_path / "bag", frames=2)
    error = eval_error(capsys, "--bag", bag, "--image-topic", "/camera/color", "--gt-topic", TRUTH_TOPIC)
    assert "image topic /camera/color is not in bag" in error
    assert f"{IMAGE_TOPIC} (sensor_msgs/msg/Image, 2 messages)" in error
    error = eval_error(capsys, "--bag", bag, "--image-topic", TRUTH_TOPIC, "--gt-topic", TRUTH_TOPIC)
    assert "has type vision_msgs/msg/Detection2DArray, expected sensor_msgs/msg/Image or" in error
    error = eval_error(capsys, "--bag", bag, "--image-topic", IMAGE_TOPIC, "--gt-topic", "/labels")
    assert "ground-truth topic /labels is not in bag" in error


def test_missing_bag_and_missing_ground_truth_are_usage_errors(tmp_path, capsys):
    error = eval_error(capsys, "--bag", tmp_path / "nothing", "--image-topic", IMAGE_TOPIC, "--gt-topic", TRUTH_TOPIC)
    assert "does not exist" in error
    bag = scene_bag(tmp_path / "bag", frames=1)
    assert "give the ground truth as --gt" in eval_error(capsys, "--bag", bag, "--image-topic", IMAGE_TOPIC)
    assert "--image-topic" in eval_error(capsys, "--bag", bag, "--gt-topic", TRUTH_TOPIC)


def test_bag_with_no_frames(tmp_path, capsys):
    from rosbags.rosbag2 import Writer

    from ssd_ros.eval.bag_types import bag_typestore

    bag = tmp_path / "empty"
    with Writer(bag, version=9) as writer:  # the camera topic was recorded, but no frame arrived
        writer.add_connection(IMAGE_TOPIC, IMAGE, typestore=bag_typestore())
        writer.add_connection(TRUTH_TOPIC, DETECTION_2D_ARRAY, typestore=bag_typestore())
    error = eval_error(capsys, "--bag", bag, "--image-topic", IMAGE_TOPIC, "--gt-topic", TRUTH_TOPIC)
    assert f"image topic {IMAGE_TOPIC}" in error and "has no messages: the bag has no frames" in error


def test_ground_truth_matching_no_frame_explains_the_stamps(tmp_path, capsys):
    import json

    bag = scene_bag(tmp_path / "bag", frames=3)
    labels = tmp_path / "labels.json"  # labelled frames of another recording, 1 h later
    labels.write_text(json.dumps({"images": [{"id": i, "file_name": f"{stamp_of(i) + 3600 * 10**9}.jpg", "width": 320,
                                              "height": 240} for i in range(3)],
                                  "annotations": [], "categories": [{"id": 1, "name": "circle"}]}))
    error = eval_error(capsys, "--bag", bag, "--image-topic", IMAGE_TOPIC, "--gt", labels, "--match", "stamp")
    assert "matches no frame by stamp within 1 ms" in error
    assert "frames stamped 1700000000.000..1700000000.200 s" in error and "1700003600.000" in error
    assert "--stamp-tolerance-ms" in error
    # another camera's ground truth: same stamps, other frame_id
    other = scene_bag(tmp_path / "other", frames=3, truth_frame_id="rear_camera")
    error = eval_error(capsys, "--bag", other, "--image-topic", IMAGE_TOPIC, "--gt-topic", TRUTH_TOPIC)
    assert "3 frame_id mismatch" in error and "['camera']" in error and "['rear_camera']" in error


def test_ground_truth_without_some_frames_and_frames_without_ground_truth_are_counted(tmp_path):
    import json

    bag = scene_bag(tmp_path / "bag", frames=4)
    # labels for frames 1 and 2, and one for a frame that is not in the bag
    labelled = [stamp_of(1), stamp_of(2), stamp_of(9)]
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"images": [{"id": i, "file_name": f"{s}.jpg", "width": 320, "height": 240}
                                             for i, s in enumerate(labelled)],
                                  "annotations": [], "categories": [{"id": 1, "name": "circle"}]}))
    code, report = eval_report(tmp_path / "report", "--bag", bag, "--image-topic", IMAGE_TOPIC, "--gt", labels,
                               "--match", "stamp")
    assert code == 0
    assert report["frames"] == {"read": 4, "evaluated": 2, "unmatched": 2, "unreadable": 0,
                                "evaluated_without_output": 0}
    assert report["ground_truth"]["outcomes"]["matched"] == 2 and report["ground_truth"]["outcomes"]["no frame"] == 1
    assert any("2 frames have no ground truth" in w for w in report["warnings"])
    assert any("1 of 3 ground-truth records were not used: {'no frame': 1}" in w for w in report["warnings"])


@pytest.mark.parametrize("compressed", [False, True])
def test_corrupt_frames_are_counted_as_unreadable(tmp_path, compressed):
    """A truncated Image (or a corrupt JPEG) and a message that is not even valid CDR, among good frames."""
    from ssd_ros.eval.bag_types import bag_typestore

    source = scene_bag(tmp_path / "source", frames=6, compressed=compressed)
    broken = tmp_path / "broken"
    topic = IMAGE_TOPIC + ("/compressed" if compressed else "")
    store = bag_typestore()
    from ssd_ros.eval.bag_reader import Bag

    with Bag(source) as reader, BagWriter(broken) as writer:
        for name in (topic, TRUTH_TOPIC):
            for message in reader.messages(name):
                raw = bytes(message.raw)
                if name == topic and message.index == 2:
                    msg = reader.decode(message)
                    if compressed:
                        msg.data = msg.data[: len(msg.data) // 3].copy()  # a JPEG cut short
                        msg.data[:2] = 0  # ... and without its start marker
                    else:
                        msg.data = msg.data[:1000]  # a truncated Image: rows missing
                    raw = bytes(store.serialize_cdr(msg, message.msgtype))
                if name == topic and message.index == 4:
                    raw = raw[:30]  # not even valid CDR
                writer.write(name, message.msgtype, message.log_ns, raw)
    code, report = eval_report(tmp_path / "report", "--bag", broken, "--image-topic", topic, "--gt-topic",
                               TRUTH_TOPIC)
    assert code == 0
    assert report["frames"]["read"] == 6 and report["frames"]["unreadable"] == 2 and report["frames"]["evaluated"] == 4
    reasons = {example["frame"]: example["reason"] for example in report["unreadable_examples"]}
    assert set(reasons) == {2, 4}
    assert ("could not decode" in reasons[2]) if compressed else ("truncated data: 1000 bytes" in reasons[2])
    assert "cannot deserialize" in reasons[4]
    assert report["ground_truth"]["outcomes"]["frame unreadable"] == 1  # frame 4 has no stamp to match
    assert report["ground_truth"]["outcomes"]["no frame"] == 1
    assert any("2 of 6 frames could not be read" in w for w in report["warnings"])
    assert_frames_accounted(report)


def test_unknown_classes_are_counted_and_a_ground_truth_of_only_unknown_classes_is_an_error(tmp_path, capsys):
    bag = scene_bag(tmp_path / "bag", frames=6, rename={"star": "person"})
    code, report = eval_report(tmp_path / "report", "--bag", bag, "--image-topic", IMAGE_TOPIC, "--gt-topic",
                               TRUTH_TOPIC)
    assert code == 0
    unknown = report["ground_truth"]["boxes_of_classes_the_model_does_not_know"]
    assert set(unknown) == {"person"} and unknown["person"] > 0
    assert "person" not in report["classes"] and "person" not in report["metrics"]["per_class"]
    assert report["detections"]["of_classes_not_in_ground_truth"].get("star", 0) > 0  # the model still sees stars
    assert any("classes the model does not know were left out: {'person'" in w for w in report["warnings"])
    alien = scene_bag(tmp_path / "alien", frames=2,
                      rename={"circle": "car", "square": "car", "star": "car", "triangle": "car"})
    error = eval_error(capsys, "--bag", alien, "--image-topic", IMAGE_TOPIC, "--gt-topic", TRUTH_TOPIC)
    assert "the model does not know any ground-truth class ['car']" in error


def test_min_map_gate_exits_1_with_the_report_written(dataset_bag, tmp_path, capsys):
    code, report = eval_report(tmp_path, "--bag", dataset_bag(), "--image-topic", IMAGE_TOPIC, "--gt-topic",
                               TRUTH_TOPIC, "--min-map", "0.999")
    assert code == 1 and report["metrics"]["map_50"] < 0.999
    assert "is below --min-map 0.999" in capsys.readouterr().err
    code, _ = eval_report(tmp_path / "pass", "--bag", dataset_bag(), "--image-topic", IMAGE_TOPIC, "--gt-topic",
                          TRUTH_TOPIC, "--min-map", "0.5")
    assert code == 0


def test_bag_from_dataset_refuses_to_overwrite(dataset_bag, synthetic_dataset, capsys):
    assert run_cli(["bag", "from-dataset", "--data", synthetic_dataset, "--out", dataset_bag()]) == 2
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize("extra, complaint", [
    (["--rate", "5"], "--rate only apply with --online"),
    (["--record-bag", "out"], "--record-bag only apply with --online"),
    (["--split", "test"], "--split only apply with --data"),
    (["--detections-topic", "/ssd/detections", "--score-threshold", "0.3"],
     "--score-threshold only apply with a detector run here"),
])
def test_options_that_do_not_apply_are_errors_not_ignored(dataset_bag, capsys, extra, complaint):
    error = eval_error(capsys, "--bag", dataset_bag(), "--image-topic", IMAGE_TOPIC, "--gt-topic", TRUTH_TOPIC, *extra)
    assert complaint in error
    assert "--gt-topic only apply with --bag" in eval_error(capsys, "--data", "somewhere", "--gt-topic", TRUTH_TOPIC)
