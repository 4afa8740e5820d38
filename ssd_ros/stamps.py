"""Header stamps and nanoseconds, one definition for the node, the bag tools, the evaluation and the demo.

Contract: a stamp is any object with integer ``sec`` and ``nanosec`` fields (builtin_interfaces/Time
from rclpy or from rosbags' type store); nanoseconds are a Python int (no float rounding).
``cdr_stamp_ns`` / ``restamp`` read and replace header.stamp in the serialised (CDR) bytes of a
message whose first field is a Header (Image, CompressedImage, Detection2DArray), without
deserialising it: bytes 0-3 are the encapsulation, then sec (int32) and nanosec (uint32).
"""
from __future__ import annotations

import struct
from typing import Any

NS_PER_S = 1_000_000_000


def stamp_to_ns(stamp: Any) -> int:
    return int(stamp.sec) * NS_PER_S + int(stamp.nanosec)


def ns_to_sec_nanosec(ns: int) -> tuple[int, int]:
    """``(sec, nanosec)`` of ``ns``, for building a Time of whatever message library."""
    return ns // NS_PER_S, ns % NS_PER_S


def _stamp_format(cdr: bytes) -> str:
    return "<iI" if cdr[1] == 1 else ">iI"  # encapsulation CDR_LE = 0x0001, CDR_BE = 0x0000


def cdr_stamp_ns(cdr: bytes) -> int:
    sec, nanosec = struct.unpack_from(_stamp_format(cdr), cdr, 4)
    return sec * NS_PER_S + nanosec


def restamp(cdr: bytes, stamp_ns: int) -> bytes:
    """The message with header.stamp replaced by ``stamp_ns``."""
    patched = bytearray(cdr)
    struct.pack_into(_stamp_format(cdr), patched, 4, *ns_to_sec_nanosec(stamp_ns))
    return bytes(patched)
