"""Bad input: a clear error (exit code 2, the problem and the fix named) or a counted warning in the report."""
from __future__ import annotations

import pytest
from eval_helpers import (
    IMAGE_TOPIC,
    TRUTH_TOPIC,
    assert_frames_accounted,
    corrupt_frames,
    eval_report,
    run_cli,
    scene_bag,
    stamp_of,
)


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
    # without --image-topic the bag's only camera topic is used (test_eval_interface.py: several need it)
    assert run_cli(["eval", "--bag", bag, "--gt-topic", TRUTH_TOPIC]) == 0


def test_bag_with_no_frames(tmp_path, capsys):
    from rosbags.rosbag2 import Writer

    from ssd_ros.bags.types import DETECTION_2D_ARRAY, IMAGE, bag_typestore

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
    broken, topic = corrupt_frames(scene_bag(tmp_path / "source", frames=6, compressed=compressed), tmp_path / "broken",
                                   compressed)
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
    (["--detections-topic", "/ssd/detections", "--workers", "2"],
     "--workers only apply with --data or an offline --bag"),
])
def test_options_that_do_not_apply_are_errors_not_ignored(dataset_bag, capsys, extra, complaint):
    error = eval_error(capsys, "--bag", dataset_bag(), "--image-topic", IMAGE_TOPIC, "--gt-topic", TRUTH_TOPIC, *extra)
    assert complaint in error
    assert "--gt-topic only apply with --bag" in eval_error(capsys, "--data", "somewhere", "--gt-topic", TRUTH_TOPIC)
