"""The benchmark's monitor: receives the node's detections, noting each one's header stamp and receipt time.

Contract: ``Monitor(context, topics, name)`` (node ``<name>_monitor``) subscribes to every detection
topic (reliable, depth 1000, so the monitor never drops what the node delivered) with raw (serialised)
messages: only the header stamp is read, so the monitor costs almost nothing beside the node. Its own thread spins a
SingleThreadedExecutor on ``context`` until ``close()``, waiting without a timeout (rclpy would create a timer for
every wait) on a node without parameter services. ``take()`` returns and forgets what arrived
so far: per topic, a list of (stamp ns, receipt ns), receipt on the system clock (the player's stamp
clock).
"""
from __future__ import annotations

import functools
import threading
import time
from collections.abc import Sequence

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from vision_msgs.msg import Detection2DArray

from ssd_ros.stamps import cdr_stamp_ns

_QOS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)


class Monitor:
    def __init__(self, context: rclpy.context.Context, topics: Sequence[str], name: str = "ssd_ros_benchmark") -> None:
        self.topics = list(topics)
        self._lock = threading.Lock()
        self._arrivals: list[list[tuple[int, int]]] = [[] for _ in self.topics]
        # No parameter services: six fewer entities in the wait set rclpy rebuilds for every detection
        self._node = rclpy.create_node(f"{name}_monitor", context=context, start_parameter_services=False)
        for index, topic in enumerate(self.topics):
            self._node.create_subscription(Detection2DArray, topic, functools.partial(self._record, index), _QOS,
                                           raw=True)
        self._executor = SingleThreadedExecutor(context=context)
        self._executor.add_node(self._node)
        self._running = True
        self._thread = threading.Thread(target=self._spin, name="benchmark_monitor", daemon=True)
        self._thread.start()

    def _record(self, index: int, raw: bytes) -> None:
        received = time.time_ns()
        with self._lock:
            self._arrivals[index].append((cdr_stamp_ns(raw), received))

    def _spin(self) -> None:
        while self._running and self._executor.context.ok():
            self._executor.spin_once()  # no timeout: rclpy would create a timer for every wait

    def publisher_count(self, index: int) -> int:
        return self._node.count_publishers(self.topics[index])

    def take(self) -> list[list[tuple[int, int]]]:
        with self._lock:
            arrivals, self._arrivals = self._arrivals, [[] for _ in self.topics]
        return arrivals

    def close(self) -> None:
        self._running = False
        self._executor.shutdown()  # ends the spinning thread's wait (spin_once has no timeout)
        self._thread.join()
        self._node.destroy_node()
