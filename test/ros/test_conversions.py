"""Camera messages to frames (every supported encoding, zero-copy where promised) and back to vision_msgs."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from ssd_ros.core import Detections
from ssd_ros.ros.conversions import (
    FrameError,
    compressed_to_frame,
    detections_to_msg,
    frame_to_image,
    image_to_frame,
    label_info_msg,
)

RNG = np.random.default_rng(7)
RGB = RNG.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)


def image(encoding: str, pixels: np.ndarray, step_padding: int = 0, bigendian: int = 0) -> Image:
    height, width = pixels.shape[:2]
    rows = pixels.reshape(height, -1).view(np.uint8)
    padded = np.zeros((height, rows.shape[1] + step_padding), np.uint8)
    padded[:, : rows.shape[1]] = rows
    return Image(height=height, width=width, encoding=encoding, is_bigendian=bigendian,
                 step=padded.shape[1], data=padded.tobytes())


@pytest.mark.parametrize("padding", [0, 5])
def test_rgb_and_bgr_frames_are_views_of_the_message(padding):
    msg = image("rgb8", RGB, padding)
    frame, color = image_to_frame(msg)
    assert color == "rgb" and np.array_equal(frame, RGB)
    assert np.shares_memory(frame, np.frombuffer(msg.data, np.uint8))
    frame, color = image_to_frame(image("bgr8", RGB[:, :, ::-1].copy(), padding))
    assert color == "bgr" and np.array_equal(frame, RGB[:, :, ::-1])


def test_alpha_encodings_drop_alpha_without_copy():
    rgba = np.dstack([RGB, np.full(RGB.shape[:2], 255, np.uint8)])
    msg = image("rgba8", rgba)
    frame, color = image_to_frame(msg)
    assert color == "rgb" and np.array_equal(frame, RGB)
    assert np.shares_memory(frame, np.frombuffer(msg.data, np.uint8))
    frame, color = image_to_frame(image("bgra8", np.dstack([RGB[:, :, ::-1], rgba[:, :, 3]])))
    assert color == "bgr" and np.array_equal(frame, RGB[:, :, ::-1])


def test_mono_encodings_become_grey_rgb():
    grey = RGB[:, :, 0].copy()
    frame, color = image_to_frame(image("mono8", grey))
    assert color == "rgb" and all(np.array_equal(frame[:, :, c], grey) for c in range(3))
    wide = grey.astype(np.uint16) * 256 + 17
    for bigendian, dtype in [(0, "<u2"), (1, ">u2")]:
        frame, _ = image_to_frame(image("mono16", wide.astype(dtype), bigendian=bigendian))
        assert np.array_equal(frame[:, :, 1], grey)


def bt601_studio_yuv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y, U, V of the BT.601 limited-range YUV that UVC cameras send (as cv_bridge decodes it)."""
    r, g, b = (rgb[:, :, c].astype(float) for c in range(3))
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    return y, u, v


@pytest.mark.parametrize("encoding", ["yuv422", "yuv422_yuy2"])
def test_yuv422_layouts_decode_to_the_picture(encoding):
    yy, xx = np.mgrid[0:6, 0:8]
    smooth = np.stack([xx * 30, yy * 40, 255 - xx * 20], -1).astype(np.uint8)  # chroma varies slowly, like photos
    y, u, v = bt601_studio_yuv(smooth)
    u_pair, v_pair = (u[:, 0::2] + u[:, 1::2]) / 2, (v[:, 0::2] + v[:, 1::2]) / 2  # 4:2:2: one U, V per pixel pair
    packed = np.zeros((6, 16), np.uint8)
    uyvy = (u_pair, y[:, 0::2], v_pair, y[:, 1::2])
    planes = uyvy if encoding == "yuv422" else (uyvy[1], uyvy[0], uyvy[3], uyvy[2])  # YUYV
    for offset, plane in enumerate(planes):
        packed[:, offset::4] = np.clip(np.round(plane), 0, 255)
    frame, color = image_to_frame(Image(height=6, width=8, encoding=encoding, step=16, data=packed.tobytes()))
    # Exactly OpenCV's decoding of the layout (what cv_bridge does for these encodings) ...
    code = cv2.COLOR_YUV2RGB_UYVY if encoding == "yuv422" else cv2.COLOR_YUV2RGB_YUY2
    assert color == "rgb" and np.array_equal(frame, cv2.cvtColor(packed.reshape(6, 8, 2), code))
    # ... and that is the picture: OpenCV's coefficients differ from BT.601 studio swing by about 9
    # levels on average here; the other byte order gives about 90.
    assert np.abs(frame.astype(int) - smooth.astype(int)).mean() < 16


@pytest.mark.parametrize(("msg", "fragment"), [
    (Image(height=4, width=4, encoding="bayer_rggb8", step=4, data=bytes(16)), "unsupported encoding 'bayer_rggb8'"),
    (Image(height=0, width=4, encoding="rgb8", step=12, data=b""), "zero-size image"),
    (Image(height=4, width=4, encoding="rgb8", step=12, data=bytes(40)), "truncated data: 40 bytes"),
    (Image(height=4, width=4, encoding="rgb8", step=8, data=bytes(48)), "step 8 is smaller than"),
    (Image(height=2, width=3, encoding="yuv422", step=6, data=bytes(12)), "even width"),
])
def test_malformed_images_name_the_problem(msg, fragment):
    with pytest.raises(FrameError, match=fragment.replace("(", r"\(").replace("[", r"\[")):
        image_to_frame(msg)


def test_compressed_jpeg_and_png_decode_and_corrupt_data_is_reported():
    _, png = cv2.imencode(".png", RGB[:, :, ::-1])
    frame, color = compressed_to_frame(CompressedImage(format="png", data=png.tobytes()))
    assert color == "bgr" and np.array_equal(frame, RGB[:, :, ::-1])
    _, jpeg = cv2.imencode(".jpg", RGB[:, :, ::-1])
    frame, _ = compressed_to_frame(CompressedImage(format="jpeg", data=jpeg.tobytes()))
    assert frame.shape == RGB.shape
    with pytest.raises(FrameError, match="could not decode 20 bytes of format 'jpeg'"):
        compressed_to_frame(CompressedImage(format="jpeg", data=jpeg.tobytes()[:20]))
    with pytest.raises(FrameError, match="empty CompressedImage"):
        compressed_to_frame(CompressedImage(format="jpeg", data=b""))


def test_detections_become_a_detection2darray_with_the_header_copied():
    header = Header(frame_id="cam")
    header.stamp.sec, header.stamp.nanosec = 12, 345
    detections = Detections(boxes=np.array([[10, 20, 50, 80], [0, 0, 4, 2]], np.float32),
                            scores=np.array([0.9, 0.6], np.float32), class_ids=np.array([2, 1], np.int64),
                            image_width=640, image_height=480, label_names=("square", "circle"))
    msg = detections_to_msg(detections, header, ("background", "circle", "square"))
    assert msg.header == header and [d.header for d in msg.detections] == [header, header]
    first = msg.detections[0]
    assert (first.bbox.center.position.x, first.bbox.center.position.y) == (30.0, 50.0)
    assert (first.bbox.size_x, first.bbox.size_y) == (40.0, 60.0)
    assert first.results[0].hypothesis.class_id == "square"
    assert first.results[0].hypothesis.score == pytest.approx(0.9)
    assert msg.detections[1].results[0].hypothesis.class_id == "circle"
    numeric = detections_to_msg(detections, header, ("0", "1", "2"))
    assert [d.results[0].hypothesis.class_id for d in numeric.detections] == ["2", "1"]


def test_label_info_skips_background_and_frame_round_trips():
    info = label_info_msg(("background", "circle", "square"), 0, 0.4, Header())
    assert [(c.class_id, c.class_name) for c in info.class_map] == [(1, "circle"), (2, "square")]
    assert info.threshold == pytest.approx(0.4)
    msg = frame_to_image(RGB, Header(frame_id="x"))
    assert image_to_frame(msg)[0].tolist() == RGB.tolist()
