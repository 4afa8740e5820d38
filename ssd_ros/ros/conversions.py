"""Camera messages to numpy frames, and detections to vision_msgs, without cv_bridge.

Contract:
- ``image_to_frame`` / ``compressed_to_frame`` / ``FrameError`` come from :mod:`ssd_ros.camera_frames`
  (ROS-free, shared with the bag reader); ``frame_from_message(msg, max_pixels)`` picks one by message
  type; frames of more than ``max_pixels`` raise ``FrameTooLarge`` (a FrameError) before decoding.
- ``camera_message(data, message_type)``: the serialised bytes of a raw subscription as a message view
  (``ssd_ros.camera_cdr``: fields without a pixel copy), deserialised by rclpy only when the bytes are
  not plain CDR; ``ros_header`` turns its header into a std_msgs/Header for the outputs.
  Malformed input raises ``FrameError`` whose message names the problem and the fix; callers
  report it per topic and go on with the next frame.
- ``detections_to_msg`` produces one ``Detection2DArray`` with the input header copied; boxes are
  in pixels of the input image (centre + size), ``ObjectHypothesis.class_id`` is the label name or
  the numeric model class id. ``cdr_writer_mismatch()`` is None when this process's middleware reads
  the bytes of ``ssd_ros.detection_cdr.DetectionArrayWriter`` as exactly that message (then the node
  publishes those bytes, 15-20x cheaper), else the reason it does not (checked once per process);
  ``image_writer_mismatch()`` likewise for ``camera_cdr.image_cdr`` against ``frame_to_image``.
"""
from __future__ import annotations

import functools
from typing import TypeAlias

import numpy as np
from builtin_interfaces.msg import Time
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from vision_msgs.msg import (
    Detection2D,
    Detection2DArray,
    LabelInfo,
    ObjectHypothesisWithPose,
    VisionClass,
)

from ssd_ros.camera_cdr import (
    COMPRESSED_IMAGE,
    IMAGE,
    CdrCompressedImage,
    CdrHeader,
    CdrImage,
    MalformedCdr,
    UnsupportedEncapsulation,
    image_cdr,
    parse_camera_cdr,
)
from ssd_ros.camera_frames import DEFAULT_MAX_PIXELS, compressed_to_frame, image_to_frame
from ssd_ros.camera_frames import FrameError as FrameError  # re-exported: node and tests import it from here
from ssd_ros.core import Detections
from ssd_ros.detection_cdr import DetectionArrayWriter

CameraMessage: TypeAlias = "Image | CompressedImage | CdrImage | CdrCompressedImage"


def camera_message(data: bytes, message_type: type[Image] | type[CompressedImage]) -> CameraMessage:
    try:
        return parse_camera_cdr(data, COMPRESSED_IMAGE if message_type is CompressedImage else IMAGE)
    except UnsupportedEncapsulation as unsupported:  # e.g. XCDR2 from another rmw: rclpy's type support reads it
        try:
            return deserialize_message(data, message_type)
        except Exception as error:
            raise MalformedCdr(f"{unsupported}, and rclpy cannot deserialise it either ({error})") from None


def ros_header(header: Header | CdrHeader) -> Header:
    if isinstance(header, Header):
        return header
    return Header(stamp=Time(sec=header.stamp.sec, nanosec=header.stamp.nanosec), frame_id=header.frame_id)


def frame_from_message(msg: CameraMessage, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, str]:
    if isinstance(msg, (CompressedImage, CdrCompressedImage)):
        return compressed_to_frame(msg, max_pixels)
    return image_to_frame(msg, max_pixels)


def frame_to_image(frame: np.ndarray, header: Header, encoding: str = "rgb8") -> Image:
    """A uint8 HxWx3 frame as an Image message (one copy into the message buffer)."""
    height, width = frame.shape[:2]
    msg = Image(header=header, height=height, width=width, encoding=encoding, is_bigendian=0, step=width * 3)
    msg.data = np.ascontiguousarray(frame).tobytes()
    return msg


def hypothesis_class_ids(labels: tuple[str, ...], label_as_id: bool) -> tuple[str, ...]:
    """ObjectHypothesis.class_id for every model class id."""
    return tuple(str(index) for index in range(len(labels))) if label_as_id else labels


def detections_to_msg(detections: Detections, header: Header, class_ids: tuple[str, ...]) -> Detection2DArray:
    array = Detection2DArray(header=header)
    boxes = detections.boxes.astype(np.float64)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2.0
    sizes = boxes[:, 2:] - boxes[:, :2]
    for centre, size, score, class_id in zip(centres.tolist(), sizes.tolist(), detections.scores.tolist(),
                                             detections.class_ids.tolist(), strict=True):
        detection = Detection2D(header=header)
        detection.bbox.center.position.x, detection.bbox.center.position.y = centre
        detection.bbox.size_x, detection.bbox.size_y = size
        hypothesis = ObjectHypothesisWithPose()
        hypothesis.hypothesis.class_id = class_ids[class_id]
        hypothesis.hypothesis.score = score
        detection.results.append(hypothesis)
        array.detections.append(detection)
    return array


def _read_otherwise(written: bytes, expected, what: str) -> str | None:
    """None when this middleware deserialises ``written`` to ``expected`` (and its own bytes are as long)."""
    try:
        read = deserialize_message(written, type(expected))
    except Exception as error:
        return f"the middleware cannot read the written bytes ({type(error).__name__}: {error})"
    if read != expected or len(written) != len(serialize_message(expected)):
        return f"the middleware reads the written bytes as another message (another {what} version or encoding)"
    return None


@functools.cache
def cdr_writer_mismatch(writer_type: type[DetectionArrayWriter] = DetectionArrayWriter) -> str | None:
    class_ids = ("person", "", "bicycle_and_rider")  # string lengths that need every alignment
    detections = Detections(np.array([[1.5, 2.25, 30.0, 40.5], [0.0, 0.0, 639.0, 479.0], [7.0, 8.0, 9.0, 10.0]],
                                     np.float32), np.array([0.75, 0.5, 0.01], np.float32), np.array([2, 0, 1]),
                            640, 480)
    header = Header(stamp=Time(sec=1_700_000_000, nanosec=123_456_789), frame_id="probe_frame")
    written = writer_type(class_ids).write(header.stamp.sec, header.stamp.nanosec, header.frame_id,
                                           detections.boxes, detections.scores, detections.class_ids)
    return _read_otherwise(written, detections_to_msg(detections, header, class_ids), "vision_msgs")


@functools.cache
def image_writer_mismatch() -> str | None:
    """None when this middleware reads ``camera_cdr.image_cdr``'s bytes as the Image ``frame_to_image`` builds."""
    frame = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    header = Header(stamp=Time(sec=-2, nanosec=5), frame_id="probe")
    return _read_otherwise(image_cdr(-2, 5, "probe", frame, "bgr8"), frame_to_image(frame, header, "bgr8"),
                           "sensor_msgs")


def label_info_msg(labels: tuple[str, ...], background_index: int | None, threshold: float,
                   header: Header) -> LabelInfo:
    info = LabelInfo(header=header, threshold=float(threshold))
    info.class_map = [VisionClass(class_id=index, class_name=name)
                      for index, name in enumerate(labels) if index != background_index]
    return info
