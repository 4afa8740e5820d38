"""Camera messages to numpy frames, and detections to vision_msgs, without cv_bridge.

Contract:
- ``image_to_frame(msg)`` returns ``(frame, color)``: ``frame`` is uint8 HxWx3, ``color`` is "rgb" or
  "bgr" (the core Detector takes either, so rgb8/bgr8/rgba8/bgra8 frames are views of the message
  buffer, no copy). mono8, mono16 and the two YUV 4:2:2 layouts are converted (one copy).
- ``compressed_to_frame(msg)`` decodes JPEG/PNG with OpenCV into a BGR frame.
- Malformed input raises ``FrameError`` whose message names the problem and the fix; callers
  report it per topic and go on with the next frame.
- ``detections_to_msg`` produces one ``Detection2DArray`` with the input header copied; boxes are
  in pixels of the input image (centre + size), ``ObjectHypothesis.class_id`` is the label name or
  the numeric model class id.
"""
from __future__ import annotations

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from vision_msgs.msg import (
    Detection2D,
    Detection2DArray,
    LabelInfo,
    ObjectHypothesisWithPose,
    VisionClass,
)

from ssd_ros.core import Detections


class FrameError(ValueError):
    """A camera message that cannot be turned into a frame; the message says what is wrong."""


# encoding -> (channels, bytes per channel)
_PACKED_LAYOUTS = {
    "rgb8": (3, 1),
    "bgr8": (3, 1),
    "rgba8": (4, 1),
    "bgra8": (4, 1),
    "mono8": (1, 1),
    "mono16": (1, 2),
    "yuv422": (2, 1),  # UYVY
    "uyvy": (2, 1),
    "yuv422_yuy2": (2, 1),  # YUYV
    "yuyv": (2, 1),
}
SUPPORTED_ENCODINGS = tuple(_PACKED_LAYOUTS)


def image_to_frame(msg: Image) -> tuple[np.ndarray, str]:
    encoding = msg.encoding.lower()
    layout = _PACKED_LAYOUTS.get(encoding)
    if layout is None:
        raise FrameError(f"unsupported encoding '{msg.encoding}'; supported: {', '.join(SUPPORTED_ENCODINGS)} "
                         "(publish one of these, or use image_transport:=compressed)")
    channels, depth = layout
    height, width, step = msg.height, msg.width, msg.step
    if height == 0 or width == 0:
        raise FrameError(f"zero-size image ({width}x{height})")
    row_bytes = width * channels * depth
    if step < row_bytes:
        raise FrameError(f"step {step} is smaller than width*channels*bytes = {row_bytes} for "
                         f"{width}x{height} {msg.encoding}")
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size < step * height:
        raise FrameError(f"truncated data: {data.size} bytes for {height} rows of step {step} "
                         f"(expected {step * height})")
    rows = data[: step * height].reshape(height, step)[:, :row_bytes]

    if depth == 1 and channels in (3, 4):
        frame = rows.reshape(height, width, channels)[:, :, :3]
        return frame, "rgb" if encoding.startswith("rgb") else "bgr"
    if encoding == "mono8":
        return cv2.cvtColor(np.ascontiguousarray(rows), cv2.COLOR_GRAY2RGB), "rgb"
    if encoding == "mono16":
        dtype = np.dtype(">u2" if msg.is_bigendian else "<u2")
        mono = np.ascontiguousarray(rows).view(dtype).reshape(height, width)
        return cv2.cvtColor((mono >> 8).astype(np.uint8), cv2.COLOR_GRAY2RGB), "rgb"
    if width % 2:
        raise FrameError(f"{msg.encoding} needs an even width, got {width}")
    packed = np.ascontiguousarray(rows).reshape(height, width, 2)
    code = cv2.COLOR_YUV2RGB_UYVY if encoding in ("yuv422", "uyvy") else cv2.COLOR_YUV2RGB_YUY2
    return cv2.cvtColor(packed, code), "rgb"


def compressed_to_frame(msg: CompressedImage) -> tuple[np.ndarray, str]:
    if len(msg.data) == 0:
        raise FrameError(f"empty CompressedImage (format '{msg.format}')")
    frame = cv2.imdecode(np.frombuffer(msg.data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if frame is None or frame.size == 0:
        raise FrameError(f"could not decode {len(msg.data)} bytes of format '{msg.format}' as JPEG or PNG "
                         "(corrupt or truncated data, or another codec)")
    return frame, "bgr"


def frame_from_message(msg: Image | CompressedImage) -> tuple[np.ndarray, str]:
    if isinstance(msg, CompressedImage):
        return compressed_to_frame(msg)
    return image_to_frame(msg)


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


def label_info_msg(labels: tuple[str, ...], background_index: int | None, threshold: float,
                   header: Header) -> LabelInfo:
    info = LabelInfo(header=header, threshold=float(threshold))
    info.class_map = [VisionClass(class_id=index, class_name=name)
                      for index, name in enumerate(labels) if index != background_index]
    return info
