"""DetectionArrayWriter writes the Detection2DArray that detections_to_msg builds, as the middleware reads it.

Golden: rclpy's own type support (deserialize_message and serialize_message of this process's
middleware); every frame_id and class name length (0..8 bytes, multi-byte UTF-8) exercises the CDR
alignment, which shifts with each string.
"""
from __future__ import annotations

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from rclpy.serialization import deserialize_message, serialize_message
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray

from ssd_ros.core import Detections
from ssd_ros.detection_cdr import DetectionArrayWriter
from ssd_ros.ros.conversions import cdr_writer_mismatch, detections_to_msg

CLASS_IDS = ("", "a", "ab", "abc", "abcd", "bicycle", "fußgänger", "traffic light")
RNG = np.random.default_rng(11)


def random_detections(count: int) -> Detections:
    corners = RNG.uniform(0, 600, (count, 2))
    boxes = np.hstack([corners, corners + RNG.uniform(1, 200, (count, 2))]).astype(np.float32)
    return Detections(boxes, RNG.uniform(0, 1, count).astype(np.float32),
                      RNG.integers(0, len(CLASS_IDS), count), 640, 480)


@pytest.mark.parametrize("frame_id", ["", "c", "ca", "cam", "cam0", "camera", "kamera_ü", "x" * 300])
@pytest.mark.parametrize("count", [0, 1, 2, 7, 150])
def test_written_bytes_read_as_the_message(frame_id, count):
    detections = random_detections(count)
    header = Header(stamp=Time(sec=-5, nanosec=999_999_999), frame_id=frame_id)
    expected = detections_to_msg(detections, header, CLASS_IDS)
    written = DetectionArrayWriter(CLASS_IDS).write(-5, 999_999_999, frame_id, detections.boxes, detections.scores,
                                                    detections.class_ids)
    assert deserialize_message(written, Detection2DArray) == expected
    assert len(written) == len(serialize_message(expected))
    assert written[:4] == b"\x00\x01\x00\x00"


def test_defaults_and_geometry_spelled_out():
    detections = Detections(np.array([[10.0, 20.0, 50.0, 100.0]], np.float32), np.array([0.5], np.float32),
                            np.array([5]), 640, 480)
    written = DetectionArrayWriter(CLASS_IDS).write(3, 4, "cam", detections.boxes, detections.scores,
                                                    detections.class_ids)
    message = deserialize_message(written, Detection2DArray)
    (detection,) = message.detections
    assert (detection.header.stamp.sec, detection.header.stamp.nanosec, detection.header.frame_id) == (3, 4, "cam")
    assert (detection.bbox.center.position.x, detection.bbox.center.position.y) == (30.0, 60.0)
    assert (detection.bbox.size_x, detection.bbox.size_y, detection.bbox.center.theta) == (40.0, 80.0, 0.0)
    (result,) = detection.results
    assert (result.hypothesis.class_id, result.hypothesis.score) == ("bicycle", 0.5)
    assert result.pose.pose.orientation.w == 1.0 and not any(result.pose.covariance) and detection.id == ""


def test_this_middleware_takes_the_written_bytes():
    """The node publishes the writer's bytes only where this passes: it must pass here, or the fast path is dead."""
    assert cdr_writer_mismatch() is None


class _WrongScore(DetectionArrayWriter):
    def write(self, sec, nanosec, frame_id, boxes, scores, class_ids):
        return super().write(sec, nanosec, frame_id, boxes, np.asarray(scores) * 0.5, class_ids)


class _Truncated(DetectionArrayWriter):
    def write(self, sec, nanosec, frame_id, boxes, scores, class_ids):
        return super().write(sec, nanosec, frame_id, boxes, scores, class_ids)[:-20]


def test_a_writer_the_middleware_reads_otherwise_is_refused():
    assert "another message" in cdr_writer_mismatch(_WrongScore)
    assert "cannot read" in cdr_writer_mismatch(_Truncated)


def test_a_class_id_past_the_labels_raises_as_the_message_does():
    detections = Detections(np.zeros((1, 4), np.float32), np.ones(1, np.float32), np.array([len(CLASS_IDS)]),
                            640, 480)
    with pytest.raises(IndexError):
        DetectionArrayWriter(CLASS_IDS).write(0, 0, "", detections.boxes, detections.scores, detections.class_ids)
    with pytest.raises(IndexError):
        detections_to_msg(detections, Header(), CLASS_IDS)
