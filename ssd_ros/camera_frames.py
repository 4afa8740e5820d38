"""Camera message fields to numpy frames, without ROS: shared by the node and the bag reader.

The functions read only the fields of ``sensor_msgs/Image`` (height, width, step, encoding,
is_bigendian, data) and ``sensor_msgs/CompressedImage`` (format, data), so they take rclpy
messages and rosbags' message classes alike (``data`` may be bytes, array.array or a uint8 ndarray).

Contract:
- ``image_to_frame(msg)`` returns ``(frame, color)``: ``frame`` is uint8 HxWx3, ``color`` is "rgb" or
  "bgr" (the core Detector takes either, so rgb8/bgr8/rgba8/bgra8 frames are views of the message
  buffer, no copy). mono8, mono16 and the two YUV 4:2:2 layouts are converted (one copy).
- ``compressed_to_frame(msg)`` decodes JPEG/PNG with OpenCV into a BGR frame.
- Malformed input raises ``FrameError`` whose message names the problem and the fix.
"""
from __future__ import annotations

import cv2
import numpy as np


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


def image_to_frame(msg) -> tuple[np.ndarray, str]:
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


def compressed_to_frame(msg) -> tuple[np.ndarray, str]:
    if len(msg.data) == 0:
        raise FrameError(f"empty CompressedImage (format '{msg.format}')")
    frame = cv2.imdecode(np.frombuffer(msg.data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if frame is None or frame.size == 0:
        raise FrameError(f"could not decode {len(msg.data)} bytes of format '{msg.format}' as JPEG or PNG "
                         "(corrupt or truncated data, or another codec)")
    return frame, "bgr"
