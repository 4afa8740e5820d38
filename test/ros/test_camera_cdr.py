"""camera_cdr reads Image / CompressedImage bytes exactly as the message libraries write them, and writes Images.

Golden: rclpy's own serialisation (the bytes a raw subscription hands the node) and rosbags'
big-endian writer; every header length (frame_id 0..7 characters) exercises the CDR alignment.
Every truncation of a message is refused with a MalformedCdr naming the field, never an IndexError.
"""
from __future__ import annotations

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from ssd_ros.camera_cdr import (
    COMPRESSED_IMAGE,
    IMAGE,
    MalformedCdr,
    UnsupportedEncapsulation,
    image_cdr,
    parse_camera_cdr,
    parse_camera_header,
)
from ssd_ros.camera_frames import image_to_frame
from ssd_ros.ros.conversions import (
    camera_message,
    frame_from_message,
    frame_to_image,
    image_writer_mismatch,
    ros_header,
)

RNG = np.random.default_rng(5)


def rclpy_image(frame_id: str, encoding: str = "rgb8", width: int = 5, height: int = 3) -> Image:
    msg = Image(height=height, width=width, encoding=encoding, is_bigendian=1, step=width * 3 + 1)
    msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id = -7, 999_999_999, frame_id
    msg.data = RNG.integers(0, 256, msg.step * height, dtype=np.uint8).tobytes()
    return msg


@pytest.mark.parametrize("frame_id", ["", "a", "ab", "abc", "abcd", "abcde", "cämera_7", "x" * 300])
@pytest.mark.parametrize("encoding", ["rgb8", "bgra8", "yuv422_yuy2"])
def test_image_fields_equal_rclpys(frame_id, encoding):
    msg = rclpy_image(frame_id, encoding)
    parsed = parse_camera_cdr(serialize_message(msg), IMAGE)
    assert (parsed.header.stamp.sec, parsed.header.stamp.nanosec, parsed.header.frame_id) == (-7, 999_999_999,
                                                                                                frame_id)
    assert (parsed.height, parsed.width, parsed.encoding, parsed.is_bigendian, parsed.step) == (
        msg.height, msg.width, msg.encoding, msg.is_bigendian, msg.step)
    assert bytes(parsed.data) == bytes(msg.data)


@pytest.mark.parametrize("frame_id", ["", "ab", "abcdefg"])
@pytest.mark.parametrize("image_format", ["jpeg", "rgb8; png compressed bgr8"])
def test_compressed_fields_equal_rclpys(frame_id, image_format):
    msg = CompressedImage(format=image_format, data=bytes(RNG.integers(0, 256, 37, dtype=np.uint8)))
    msg.header.frame_id = frame_id
    msg.header.stamp.sec = 12
    parsed = parse_camera_cdr(serialize_message(msg), COMPRESSED_IMAGE)
    assert (parsed.header.frame_id, parsed.header.stamp.sec, parsed.format) == (frame_id, 12, image_format)
    assert bytes(parsed.data) == bytes(msg.data)
    assert parse_camera_header(serialize_message(msg)) == parsed.header


def test_big_endian_bytes_from_rosbags():
    from ssd_ros.bags.types import bag_typestore

    store = bag_typestore()
    types = store.types
    header = types["std_msgs/msg/Header"](stamp=types["builtin_interfaces/msg/Time"](sec=3, nanosec=4),
                                          frame_id="cam")
    data = RNG.integers(0, 256, 2 * 6, dtype=np.uint8)
    msg = types[IMAGE](header=header, height=2, width=2, encoding="rgb8", is_bigendian=0, step=6, data=data)
    big = bytes(store.serialize_cdr(msg, IMAGE, little_endian=False))
    assert big[:2] == b"\x00\x00"
    parsed = parse_camera_cdr(big, IMAGE)
    assert (parsed.header.stamp.sec, parsed.header.frame_id, parsed.height, parsed.width, parsed.step) == (
        3, "cam", 2, 2, 6)
    assert bytes(parsed.data) == data.tobytes()


def test_the_frame_is_a_view_of_the_received_bytes():
    msg = rclpy_image("cam")
    raw = serialize_message(msg)
    frame, color = frame_from_message(camera_message(raw, Image))
    expected, _ = image_to_frame(msg)
    assert color == "rgb" and np.array_equal(frame, expected)
    assert np.shares_memory(frame, np.frombuffer(raw, np.uint8))


def test_header_becomes_a_std_msgs_header():
    header = ros_header(parse_camera_header(serialize_message(rclpy_image("optical"))))
    assert (header.stamp.sec, header.stamp.nanosec, header.frame_id) == (-7, 999_999_999, "optical")


def test_every_truncation_is_refused_by_name():
    raw = serialize_message(rclpy_image("cam", width=2, height=2))
    for end in range(len(raw)):
        with pytest.raises(MalformedCdr, match=r"truncated|too few|NUL"):
            parse_camera_cdr(raw[:end], IMAGE)


def test_lengths_past_the_end_and_unknown_encapsulations():
    raw = bytearray(serialize_message(rclpy_image("cam")))
    lying = bytearray(raw)
    lying[12:16] = (10**9).to_bytes(4, "little")  # frame_id length
    with pytest.raises(MalformedCdr, match="frame_id"):
        parse_camera_cdr(bytes(lying), IMAGE)
    with pytest.raises(UnsupportedEncapsulation):
        parse_camera_cdr(b"\x00\x07" + bytes(raw[2:]), IMAGE)
    with pytest.raises(MalformedCdr, match="unknown encapsulation"):
        parse_camera_cdr(b"\x13\x37" + bytes(raw[2:]), IMAGE)
    with pytest.raises(MalformedCdr, match="rclpy cannot deserialise it either"):
        camera_message(b"\x00\x07\x00\x00" + b"\xff" * 9, Image)  # XCDR2 header, garbage after it


@pytest.mark.parametrize("frame_id", ["", "a", "ab", "abc", "abcd", "kamera_ü"])
@pytest.mark.parametrize("encoding", ["rgb8", "bgr8"])
def test_written_image_reads_as_the_message_frame_to_image_builds(frame_id, encoding):
    frame = RNG.integers(0, 256, (3, 5, 3), dtype=np.uint8)
    written = image_cdr(-7, 999_999_999, frame_id, frame, encoding)
    expected = frame_to_image(frame, Header(stamp=Time(sec=-7, nanosec=999_999_999), frame_id=frame_id), encoding)
    assert deserialize_message(written, Image) == expected
    assert len(written) == len(serialize_message(expected))
    decoded, color = image_to_frame(parse_camera_cdr(written, IMAGE))
    assert np.array_equal(decoded, frame) and color == encoding[:3]


def test_this_middleware_takes_written_images():
    """The node's debug images go out as written bytes only where this passes: it must pass here."""
    assert image_writer_mismatch() is None
