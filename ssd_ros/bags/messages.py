"""vision_msgs Detection2DArray and LabelInfo as rosbags messages, to and from boxes and class names.

Contract:
- ``parse_detection_array(msg)`` -> ParsedDetections: boxes float64 [N, 4] x1, y1, x2, y2 in pixels
  of the image (from the centre and size of each ``bbox``), scores float64 [N] and the class id
  string of each detection's best hypothesis. Reads vision_msgs 4.x (``bbox.center.position``,
  ``results[].hypothesis.class_id``, as the node publishes) and the older layout of ROS 1 and
  vision_msgs < 4 (``bbox.center.x``, ``results[].id``/``score``). A detection without any
  hypothesis gets class id "" (callers count it).
- ``label_map(msg)``: LabelInfo's ``class_map`` as {class id string: class name}.
- ``detection_array`` / ``label_info`` build messages of the bag type store (ground truth topics:
  score 1.0, class id = class name, ``Detection2D.id`` "difficult" for boxes the metrics ignore;
  LabelInfo ids 0..N-1 in the given order).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ssd_ros.bags.types import DETECTION_2D_ARRAY, LABEL_INFO
from ssd_ros.stamps import ns_to_sec_nanosec

DIFFICULT_ID = "difficult"  # Detection2D.id of a ground-truth box ignored by the metrics (VOC "difficult")


@dataclass(frozen=True)
class ParsedDetections:
    boxes: np.ndarray
    scores: np.ndarray
    class_ids: tuple[str, ...]


def _best_hypothesis(detection) -> tuple[str, float]:
    best: tuple[str, float] | None = None
    for result in detection.results:
        hypothesis = getattr(result, "hypothesis", None)
        class_id, score = ((hypothesis.class_id, hypothesis.score) if hypothesis is not None
                           else (result.id, result.score))
        if best is None or score > best[1]:
            best = (str(class_id), float(score))
    return best if best is not None else ("", 0.0)


def parse_detection_array(msg) -> ParsedDetections:
    boxes = np.zeros((len(msg.detections), 4), np.float64)
    scores = np.zeros(len(msg.detections), np.float64)
    class_ids = []
    for row, detection in enumerate(msg.detections):
        centre = detection.bbox.center
        position = getattr(centre, "position", centre)  # vision_msgs >= 4: Pose2D.position; older: Pose2D.x/y
        half_width, half_height = detection.bbox.size_x / 2.0, detection.bbox.size_y / 2.0
        boxes[row] = (position.x - half_width, position.y - half_height, position.x + half_width,
                      position.y + half_height)
        class_id, scores[row] = _best_hypothesis(detection)
        class_ids.append(class_id)
    return ParsedDetections(boxes, scores, tuple(class_ids))


def label_map(msg) -> dict[str, str]:
    return {str(entry.class_id): entry.class_name for entry in msg.class_map}


def _header(store, stamp_ns: int, frame_id: str):
    time = store.types["builtin_interfaces/msg/Time"](*ns_to_sec_nanosec(stamp_ns))
    return store.types["std_msgs/msg/Header"](stamp=time, frame_id=frame_id)


def detection_array(store, stamp_ns: int, frame_id: str, boxes: np.ndarray, class_names: Sequence[str],
                    scores: np.ndarray | None = None, difficult: np.ndarray | None = None):
    types = store.types
    header = _header(store, stamp_ns, frame_id)
    pose = types["geometry_msgs/msg/PoseWithCovariance"](
        pose=types["geometry_msgs/msg/Pose"](position=types["geometry_msgs/msg/Point"](x=0.0, y=0.0, z=0.0),
                                             orientation=types["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0,
                                                                                               w=1.0)),
        covariance=np.zeros(36, np.float64))
    detections = []
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    scores = np.ones(len(boxes)) if scores is None else np.asarray(scores, np.float64)
    difficult = np.zeros(len(boxes), bool) if difficult is None else np.asarray(difficult, bool)
    for (x1, y1, x2, y2), name, score, hard in zip(boxes.tolist(), class_names, scores.tolist(), difficult.tolist(),
                                                   strict=True):
        centre = types["vision_msgs/msg/Pose2D"](position=types["vision_msgs/msg/Point2D"](x=(x1 + x2) / 2.0,
                                                                                           y=(y1 + y2) / 2.0),
                                                 theta=0.0)
        hypothesis = types["vision_msgs/msg/ObjectHypothesisWithPose"](
            hypothesis=types["vision_msgs/msg/ObjectHypothesis"](class_id=name, score=score), pose=pose)
        detections.append(types["vision_msgs/msg/Detection2D"](
            header=header, results=[hypothesis],
            bbox=types["vision_msgs/msg/BoundingBox2D"](center=centre, size_x=x2 - x1, size_y=y2 - y1),
            id=DIFFICULT_ID if hard else ""))
    return types[DETECTION_2D_ARRAY](header=header, detections=detections)


def label_info(store, stamp_ns: int, frame_id: str, class_names: Sequence[str], threshold: float = 0.0):
    entries = [store.types["vision_msgs/msg/VisionClass"](class_id=index, class_name=name)
               for index, name in enumerate(class_names)]
    return store.types[LABEL_INFO](header=_header(store, stamp_ns, frame_id), class_map=entries,
                                   threshold=float(threshold))
