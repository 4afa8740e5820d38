"""Camera message fields to numpy frames, without ROS: shared by the node and the bag reader.

The functions read only the fields of ``sensor_msgs/Image`` (height, width, step, encoding,
is_bigendian, data) and ``sensor_msgs/CompressedImage`` (format, data), so they take rclpy
messages and rosbags' message classes alike (``data`` may be bytes, array.array or a uint8 ndarray).

Contract:
- ``image_to_frame(msg)`` returns ``(frame, color)``: ``frame`` is uint8 HxWx3, ``color`` is "rgb" or
  "bgr" (the core Detector takes either, so rgb8/bgr8/rgba8/bgra8 frames are views of the message
  buffer, no copy). mono8, mono16 and the two YUV 4:2:2 layouts are converted (one copy).
- ``compressed_to_frame(msg)`` decodes JPEG/PNG with OpenCV into a BGR frame.
- Both take ``max_pixels`` (default ``DEFAULT_MAX_PIXELS``): a frame of more pixels (width x height)
  raises ``FrameTooLarge`` before any pixel is converted or decoded. For compressed data the size
  comes from the PNG IHDR / JPEG SOF header (``compressed_size``), so a small "decompression bomb"
  never reaches the decoder; data that is neither PNG nor JPEG is refused before decoding too.
- Malformed input raises ``FrameError`` whose message names the problem and the fix. Strings the
  sender controls (encoding, format) appear in messages shortened to ``MAX_SHOWN`` characters.
"""
from __future__ import annotations

import cv2
import numpy as np

from ssd_ros.errors import UserError

DEFAULT_MAX_PIXELS = 40_000_000  # 8K UHD (7680 x 4320 = 33.2 MP) fits; a 40 MP frame decodes to 120 MB
MAX_SHOWN = 40  # characters of a sender-controlled string shown in an error message


class FrameError(UserError, ValueError):
    """A camera message that cannot be turned into a frame; the message says what is wrong."""

    kind = "bad input"


class FrameTooLarge(FrameError):
    """A frame with more pixels than the limit (checked before decoding); counted apart from bad input."""

    kind = "frame too large"


def shown(text: str) -> str:
    """A sender-controlled string, quoted and cut to MAX_SHOWN characters, for messages and logs."""
    text = str(text)
    return repr(text) if len(text) <= MAX_SHOWN else repr(text[:MAX_SHOWN]) + f"... ({len(text)} characters)"


def _check_pixels(width: int, height: int, max_pixels: int, what: str) -> None:
    if width * height > max_pixels:
        raise FrameTooLarge(f"{what} is {width}x{height} = {width * height} pixels, more than the limit of "
                            f"{max_pixels} (the node's max_image_pixels parameter): send smaller frames or "
                            "raise the limit")


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


def image_to_frame(msg, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, str]:
    encoding = msg.encoding.lower()
    layout = _PACKED_LAYOUTS.get(encoding)
    if layout is None:
        raise FrameError(f"unsupported encoding {shown(msg.encoding)}; supported: {', '.join(SUPPORTED_ENCODINGS)} "
                         "(publish one of these, or use image_transport:=compressed)")
    channels, depth = layout
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height == 0 or width == 0:
        raise FrameError(f"zero-size image ({width}x{height})")
    _check_pixels(width, height, max_pixels, f"the {encoding} image")
    row_bytes = width * channels * depth
    if step < row_bytes:
        raise FrameError(f"step {step} is smaller than width*channels*bytes = {row_bytes} for "
                         f"{width}x{height} {encoding}")
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
        raise FrameError(f"{encoding} needs an even width, got {width}")
    packed = np.ascontiguousarray(rows).reshape(height, width, 2)
    code = cv2.COLOR_YUV2RGB_UYVY if encoding in ("yuv422", "uyvy") else cv2.COLOR_YUV2RGB_YUY2
    return cv2.cvtColor(packed, code), "rgb"


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (they carry the image size): C0..CF except DHT (C4), JPG (C8) and DAC (CC)
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset([0x01, *range(0xD0, 0xD8)])  # TEM and RST0..7 have no length field


def compressed_size(data) -> tuple[str, int, int] | None:
    """(``"png"`` or ``"jpeg"``, width, height) from the image header alone, or None when no size is found.

    PNG: the IHDR chunk that must follow the signature. JPEG: the first start-of-frame segment, found
    by walking the marker segments from SOI (at most the header is read, never the entropy-coded data).
    """
    view = memoryview(data).cast("B") if not isinstance(data, (bytes, bytearray)) else data
    if bytes(view[:8]) == _PNG_SIGNATURE:
        if len(view) < 24 or bytes(view[12:16]) != b"IHDR":
            return None
        return "png", int.from_bytes(view[16:20], "big"), int.from_bytes(view[20:24], "big")
    if bytes(view[:2]) != b"\xff\xd8":
        return None
    position, size = 2, len(view)
    while position + 4 <= size:
        if view[position] != 0xFF:
            return None  # a marker must start here
        marker = view[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in _JPEG_STANDALONE:
            position += 2
            continue
        if marker in (0xD8, 0xD9, 0xDA):  # a second SOI, EOI, or scan data before any frame header
            return None
        length = int.from_bytes(view[position + 2:position + 4], "big")
        if length < 2:
            return None
        if marker in _JPEG_SOF:
            if length < 7 or position + 9 > size:
                return None
            height = int.from_bytes(view[position + 5:position + 7], "big")
            width = int.from_bytes(view[position + 7:position + 9], "big")
            return "jpeg", width, height
        position += 2 + length
    return None


def compressed_to_frame(msg, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, str]:
    if len(msg.data) == 0:
        raise FrameError(f"empty CompressedImage (format {shown(msg.format)})")
    header = compressed_size(msg.data)
    if header is None:
        raise FrameError(f"could not decode {len(msg.data)} bytes of format {shown(msg.format)}: no readable PNG "
                         "IHDR or JPEG frame header (corrupt or truncated data, or a codec other than JPEG and PNG)")
    codec, width, height = header
    if width == 0 or height == 0:
        raise FrameError(f"the {codec} header gives a zero-size image ({width}x{height})")
    _check_pixels(width, height, max_pixels, f"the {codec} image")
    frame = cv2.imdecode(np.frombuffer(msg.data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if frame is None or frame.size == 0:
        raise FrameError(f"could not decode {len(msg.data)} bytes of format {shown(msg.format)} as {codec} "
                         "(corrupt or truncated data)")
    return frame, "bgr"
