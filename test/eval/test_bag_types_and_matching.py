"""The bag type store (vision_msgs from the project's definitions, upstream hashes) and ground-truth matching."""
from __future__ import annotations

import numpy as np
import pytest

from ssd_ros.bags.reader import FrameKey
from ssd_ros.bags.types import bag_typestore, definition_dirs
from ssd_ros.eval.ground_truth import BoxRecord, GroundTruthError, match_records, stamp_from_name

# RIHS01 of upstream vision_msgs 4.1.1 (the same values test/ros/test_interfaces.py checks on the wire)
UPSTREAM = {
    "vision_msgs/msg/Detection2DArray": "RIHS01_214274120007f4a683866481336b70310268cfa107aebe9d594a6acf75bda968",
    "vision_msgs/msg/LabelInfo": "RIHS01_3d37df4015cdf660cc851c51897f2acd957e1ca6205ba0a99aebffb9406b0783",
}


def test_bag_types_hash_like_upstream_vision_msgs():
    store = bag_typestore()
    assert {name: store.hash_rihs01(name) for name in UPSTREAM} == UPSTREAM


def test_definitions_come_from_the_ament_index_when_there_is_one(monkeypatch, tmp_path):
    monkeypatch.delenv("AMENT_PREFIX_PATH", raising=False)
    assert definition_dirs()["vision_msgs"].parts[-3:] == ("compat", "vision_msgs", "msg")
    prefix = tmp_path / "install"
    (prefix / "share" / "ament_index" / "resource_index" / "packages").mkdir(parents=True)
    (prefix / "share" / "ament_index" / "resource_index" / "packages" / "vision_msgs").touch()
    (prefix / "share" / "vision_msgs" / "msg").mkdir(parents=True)
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(prefix))
    assert definition_dirs()["vision_msgs"] == prefix / "share" / "vision_msgs" / "msg"


def frames(*stamps, frame_id="cam"):
    return [FrameKey(i, s, s, frame_id, 320, 240) for i, s in enumerate(stamps)]


def record(key, frame_id="", size=(None, None)):
    return BoxRecord(key, frame_id, *size, np.zeros((0, 4)), (), np.zeros(0, bool), "test")


def test_stamp_matching_takes_the_nearest_frame_within_the_tolerance():
    keys = frames(1_000, 2_000, 3_000)
    matching = match_records(keys, [record(2_300), record(990), record(2_600), record(5_000)], "stamp", 500)
    assert matching.frame_of_record == [1, 0, 2, None]
    assert matching.outcomes == {"matched": 3, "no frame": 1}
    # the same frame labelled twice: the second is counted, not used
    matching = match_records(keys, [record(2_000), record(2_100)], "stamp", 500)
    assert matching.frame_of_record == [1, None] and matching.outcomes["second record for the same frame"] == 1


def test_frame_id_and_size_are_checked():
    keys = frames(1_000, 2_000)
    matching = match_records(keys, [record(1_000, "rear"), record(2_000, "cam"), record(1_000, "")], "stamp", 0)
    assert matching.frame_of_record == [None, 1, 0]
    assert matching.outcomes["frame_id mismatch"] == 1
    matching = match_records(keys, [record(0, size=(640, 480)), record(1, size=(320, 240))], "index", 0)
    assert matching.frame_of_record == [None, 1] and matching.outcomes["size mismatch"] == 1


def test_index_matching_and_unreadable_frames():
    keys = [*frames(10, 20), FrameKey(2, 30, None, "", None, None, "cannot deserialize")]
    matching = match_records(keys, [record(0), record(2), record(3)], "index", 0)
    assert matching.frame_of_record == [0, None, None]
    assert matching.outcomes == {"matched": 1, "frame unreadable": 1, "no frame": 1}


@pytest.mark.parametrize("name, stamp", [("1700000000123456789", 1_700_000_000_123_456_789),
                                         ("frame_1700000000.125", 1_700_000_000_125_000_000),
                                         ("left-1712345678.5", 1_712_345_678_500_000_000)])
def test_stamps_from_image_names(name, stamp):
    assert stamp_from_name(name) == stamp


def test_a_name_without_a_stamp_says_how_to_name_frames():
    with pytest.raises(GroundTruthError, match=r"no timestamp at the end of its name.*--match index"):
        stamp_from_name("IMG_0001a")


def test_numeric_ground_truth_class_ids_are_named_by_the_sibling_label_info(tmp_path):
    from ssd_ros.bags.messages import detection_array, label_info
    from ssd_ros.bags.reader import Bag
    from ssd_ros.bags.types import DETECTION_2D_ARRAY, LABEL_INFO
    from ssd_ros.bags.writer import BagWriter
    from ssd_ros.eval.ground_truth import truth_from_topic

    with BagWriter(tmp_path / "bag") as writer:
        writer.write("/labels/label_info", LABEL_INFO, 1, label_info(writer.store, 1, "", ["cat", "dog", "bird"]))
        writer.write("/labels/detections", DETECTION_2D_ARRAY, 5, detection_array(
            writer.store, 5, "cam", np.array([[0, 0, 10, 10], [5, 5, 20, 30]]), ["1", "0"],
            difficult=np.array([False, True])))
    with Bag(tmp_path / "bag") as bag:
        truth = truth_from_topic(bag, "/labels/detections")
    assert truth.class_names == ("cat", "dog", "bird")
    (only,) = truth.records
    assert only.names == ("dog", "cat") and only.key == 5 and only.frame_id == "cam"
    assert only.difficult.tolist() == [False, True]
    assert only.boxes.tolist() == [[0, 0, 10, 10], [5, 5, 20, 30]]
