"""Header stamps and nanoseconds, one definition for the node, the bag tools, the evaluation and the demo.

Contract: a stamp is any object with integer ``sec`` and ``nanosec`` fields (builtin_interfaces/Time
from rclpy or from rosbags' type store); nanoseconds are a Python int (no float rounding).
"""
from __future__ import annotations

from typing import Any

NS_PER_S = 1_000_000_000


def stamp_to_ns(stamp: Any) -> int:
    return int(stamp.sec) * NS_PER_S + int(stamp.nanosec)


def ns_to_sec_nanosec(ns: int) -> tuple[int, int]:
    """``(sec, nanosec)`` of ``ns``, for building a Time of whatever message library."""
    return ns // NS_PER_S, ns % NS_PER_S
