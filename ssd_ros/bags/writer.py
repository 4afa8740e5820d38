"""Writing rosbag2 bags (sqlite3 or mcap) through rosbags, with the ssd_ros type store.

Contract: ``BagWriter(path, storage)`` creates a new bag (BagError if ``path`` exists or the
storage is unknown); ``write(topic, msgtype, log_ns, message)`` takes a rosbags message object or
ROS 2 CDR bytes (e.g. received by an rclpy raw subscription) and registers each topic on first use
with its definition and RIHS01 hash, so the bag is self-describing for rosbag2, rosbags and
mcap readers. ``latched=True`` offers the topic as transient local (``ros2 bag play`` republishes
it like the original latched publisher). Use it as a context manager; the bag is valid after close.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ssd_ros.bags.reader import BagError
from ssd_ros.bags.types import bag_typestore

if TYPE_CHECKING:  # rosbags is imported only when a bag is written
    from rosbags.interfaces import Connection
    from rosbags.rosbag2 import Writer

STORAGES = ("sqlite3", "mcap")


def _latched_qos():
    from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime

    never = QosTime(0, 0)
    return Qos(QosHistory.KEEP_LAST, 1, QosReliability.RELIABLE, QosDurability.TRANSIENT_LOCAL, never, never,
               QosLiveliness.AUTOMATIC, never, False)


class BagWriter:
    def __init__(self, path: str | Path, storage: str = "sqlite3") -> None:
        from rosbags.rosbag2 import StoragePlugin, Writer

        self.path = Path(path)
        if storage not in STORAGES:
            raise BagError(f"unknown bag storage {storage!r}; choose one of {', '.join(STORAGES)}")
        if self.path.exists():
            raise BagError(f"{self.path} already exists: choose another output path or delete it first")
        self.store = bag_typestore()
        plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
        self._writer: Writer | None = Writer(self.path, version=Writer.VERSION_LATEST, storage_plugin=plugin)
        self._writer.open()
        self._connections: dict[str, Connection] = {}
        self.counts: dict[str, int] = {}

    def __enter__(self) -> BagWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def write(self, topic: str, msgtype: str, log_ns: int, message, latched: bool = False) -> None:
        assert self._writer is not None, f"{self.path} is closed"
        connection = self._connections.get(topic)
        if connection is None:
            qos = [_latched_qos()] if latched else []
            connection = self._writer.add_connection(topic, msgtype, typestore=self.store, offered_qos_profiles=qos)
            self._connections[topic] = connection
        raw = message if isinstance(message, (bytes, memoryview)) else self.store.serialize_cdr(message, msgtype)
        self._writer.write(connection, int(log_ns), raw)
        self.counts[topic] = self.counts.get(topic, 0) + 1
