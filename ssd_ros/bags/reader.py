"""Reading bags through rosbags: topics, camera frames and other messages, with clear errors.

Contract:
- ``Bag(path)`` opens a rosbag2 folder (sqlite3 or mcap), a single .mcap/.db3 file or a ROS 1 .bag
  (rosbags' AnyReader, with :func:`bag_types.bag_typestore` for bags without definitions).
  Problems opening it raise ``BagError`` naming the path and what to do.
- ``bag.topics``: name -> TopicSummary (type, message count, log-time span and rate).
- ``bag.require(topic, types)`` raises ``BagError`` for a missing topic or a wrong type, listing
  the bag's topics with their types.
- ``bag.messages(topic)`` yields ``BagMessage(index, log_ns, raw, msgtype)`` in log-time order; when
  the bag is damaged part-way (an MCAP chunk whose checksum does not match, a malformed SQLite page,
  bytes rosbags cannot parse) it stops there and ``bag.damage[topic]`` says where and why;
  ``bag.decode(message)`` returns the rosbags message object or raises ``UnreadableMessage`` (for
  any failure to deserialize, never another exception); ``bag.camera_message(message)`` gives a
  camera message's fields the way the node reads them (ssd_ros.camera_cdr: no pixel copy), same errors.
- A bag file whose content is not what its name says (an SQLite file named .bag) is a BagError
  naming both, before rosbags reads it by its suffix.
- ``read_frame_keys(bag, topic)`` reads the header of every camera frame (no pixel decoding):
  ``FrameKey(index, log_ns, stamp_ns, frame_id, width, height)`` (width/height None for
  CompressedImage) or, for a message that cannot be deserialized, the reason in ``error``; the
  frames the bag's index counts beyond a damaged part are FrameKeys with the damage as ``error``,
  so every frame is accounted for (unreadable, not missing).
- ``decode_frame(message, msgtype)``: a uint8 HxWx3 frame and its color order ("rgb"/"bgr") through
  :mod:`ssd_ros.camera_frames` (the node's code); raises ``UnreadableMessage`` with the reason.
Times are nanoseconds; ``stamp_ns`` is the message header stamp, ``log_ns`` the recorder's time.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ssd_ros.bags.errors import BagError
from ssd_ros.bags.types import CAMERA_TYPES, COMPRESSED_IMAGE, bag_typestore
from ssd_ros.camera_cdr import MalformedCdr, UnsupportedEncapsulation, parse_camera_cdr
from ssd_ros.camera_frames import DEFAULT_MAX_PIXELS, FrameError, compressed_to_frame, image_to_frame
from ssd_ros.stamps import stamp_to_ns


class UnreadableMessage(ValueError):
    """One message that cannot be deserialized or decoded; counted, never fatal on its own."""


@dataclass(frozen=True)
class TopicSummary:
    name: str
    msgtype: str
    count: int


@dataclass(frozen=True)
class TopicTimes:
    """Log-time span of one topic (a full read of the bag: see ``Bag.topic_times``)."""

    count: int
    first_ns: int
    last_ns: int

    @property
    def duration_s(self) -> float:
        return (self.last_ns - self.first_ns) / 1e9

    @property
    def rate_hz(self) -> float | None:
        """Mean message rate over the topic's span; None with fewer than two messages."""
        return (self.count - 1) / self.duration_s if self.count > 1 and self.duration_s > 0 else None


@dataclass(frozen=True)
class BagMessage:
    index: int  # position on its topic, 0-based, in log-time order
    log_ns: int
    raw: bytes  # as rosbags' readers yield it
    msgtype: str


@dataclass(frozen=True)
class FrameKey:
    index: int
    log_ns: int
    stamp_ns: int | None  # None when unreadable
    frame_id: str
    width: int | None  # None for CompressedImage (known only after decoding)
    height: int | None
    error: str | None = None


# what a bag file starts with -> (its kind, the file name suffix rosbags reads it by)
_MAGIC = {b"SQLite format 3\x00": ("an SQLite database (rosbag2 sqlite3)", ".db3"),
          b"\x89MCAP": ("an MCAP file", ".mcap"), b"#ROSBAG V2.0": ("a ROS 1 bag", ".bag")}


def _check_file_kind(path: Path) -> None:
    """A bag file whose content is not what its name says: BagError naming both (rosbags trusts the suffix)."""
    if not path.is_file():
        return
    try:
        with path.open("rb") as bag_file:
            start = bag_file.read(16)
    except OSError as error:
        raise BagError(f"cannot read bag {path}: {error.strerror}") from None
    for magic, (kind, suffix) in _MAGIC.items():
        if start.startswith(magic):
            if path.suffix.lower() != suffix:
                raise BagError(f"bag {path} is {kind} but is named {path.suffix or 'without a suffix'}: rename it "
                               f"to end in {suffix} (or pass the rosbag2 folder holding it)")
            return
    raise BagError(f"cannot open bag {path}: it starts with neither the SQLite, MCAP nor ROS 1 bag header (a "
                   "corrupt or unrelated file?)")


class Bag:
    def __init__(self, path: str | Path) -> None:
        from rosbags.highlevel import AnyReader, AnyReaderError

        self.path = Path(path)
        if not self.path.exists():
            raise BagError(f"bag {self.path} does not exist (give a rosbag2 folder, an .mcap/.db3 file or a "
                           "ROS 1 .bag)")
        _check_file_kind(self.path)
        try:
            self._reader = AnyReader([self.path], default_typestore=bag_typestore())
            self._reader.open()
        except (AnyReaderError, OSError) as error:
            raise BagError(f"cannot open bag {self.path}: {error} (is it a rosbag2 folder with metadata.yaml, "
                           "an .mcap/.db3 file or a ROS 1 .bag?)") from None
        except Exception as error:  # rosbags' readers raise plain errors (UnicodeDecodeError, sqlite3, struct) on junk
            raise BagError(f"cannot open bag {self.path}: it is damaged ({type(error).__name__}: {error})") from None
        self.is_ros1 = not self._reader.is2
        self._topics: dict[str, TopicSummary] | None = None
        self.damage: dict[str, tuple[int, str]] = {}  # topic -> (messages read before the damage, reason)

    def __enter__(self) -> Bag:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._reader.stack is not None:
            self._reader.close()

    @property
    def typestore(self):
        """The types of this bag's messages (its own definitions where it has them)."""
        return self._reader.typestore

    @property
    def topics(self) -> dict[str, TopicSummary]:
        """From the bag's index: no message is read."""
        if self._topics is None:
            self._topics = {name: TopicSummary(name, info.msgtype or "(several types)", info.msgcount)
                            for name, info in sorted(self._reader.topics.items())}
        return self._topics

    @property
    def start_ns(self) -> int:
        return self._reader.start_time

    @property
    def end_ns(self) -> int:
        return self._reader.end_time

    def topic_times(self) -> dict[str, TopicTimes]:
        """Per-topic count and log-time span, from one pass over every message."""
        spans: dict[str, list[int]] = {}
        for connection, timestamp, _ in self._reader.messages():
            span = spans.setdefault(connection.topic, [0, timestamp, timestamp])
            span[0] += 1
            span[1], span[2] = min(span[1], timestamp), max(span[2], timestamp)
        return {topic: TopicTimes(*span) for topic, span in spans.items()}

    def describe_topics(self) -> str:
        if not self.topics:
            return "the bag has no topics"
        return "its topics: " + ", ".join(f"{t.name} ({t.msgtype}, {t.count} messages)" for t in self.topics.values())

    def require(self, topic: str, types: tuple[str, ...], what: str) -> TopicSummary:
        summary = self.topics.get(topic)
        if summary is None:
            raise BagError(f"{what} topic {topic} is not in bag {self.path}; {self.describe_topics()}")
        if summary.msgtype not in types:
            raise BagError(f"{what} topic {topic} has type {summary.msgtype}, expected {' or '.join(types)}; "
                           f"{self.describe_topics()}")
        return summary

    def topics_of_type(self, msgtype: str) -> list[str]:
        return [name for name, summary in self.topics.items() if summary.msgtype == msgtype]

    def messages(self, topic: str) -> Iterator[BagMessage]:
        connections = [c for c in self._reader.connections if c.topic == topic]
        index = 0
        reader = self._reader.messages(connections=connections)
        while True:
            try:
                connection, timestamp, raw = next(reader)
            except StopIteration:
                return
            except Exception as error:  # ReaderError (chunk checksum), sqlite3.DatabaseError, struct.error, ...
                self.damage[topic] = (index, f"the bag is damaged after message {index} of {topic} "
                                             f"({type(error).__name__}: {' '.join(str(error).split())[:200]})")
                return
            yield BagMessage(index, timestamp, raw, connection.msgtype)
            index += 1

    def decode(self, message: BagMessage):
        try:
            return self._reader.deserialize(message.raw, message.msgtype)
        except Exception as error:  # AnyReaderError, and plain errors of the CDR parser on corrupt bytes
            raise UnreadableMessage(f"cannot deserialize {message.msgtype}: "
                                    f"{' '.join(str(error).split())[:200] or type(error).__name__}") from None

    def camera_message(self, message: BagMessage):
        """A camera message's fields, read from its CDR bytes without a pixel copy (camera_cdr, the node's
        reader) in ROS 2 bags; deserialised by rosbags in ROS 1 bags and other encapsulations."""
        if not self.is_ros1 and message.msgtype in CAMERA_TYPES:
            try:
                return parse_camera_cdr(message.raw, message.msgtype)
            except UnsupportedEncapsulation:
                pass
            except MalformedCdr as error:
                raise UnreadableMessage(f"cannot deserialize {message.msgtype}: {error}") from None
        return self.decode(message)

    def to_cdr(self, message: BagMessage) -> bytes:
        """A camera message as ROS 2 CDR bytes, e.g. to publish it.

        ROS 1 messages are rebuilt field by field as their ROS 2 type (the ROS 1 header's ``seq`` has no
        place in ROS 2); UnreadableMessage when that is not possible.
        """
        if not self.is_ros1:
            return bytes(message.raw)
        msg = self.decode(message)
        store = bag_typestore()
        if message.msgtype not in CAMERA_TYPES:
            raise UnreadableMessage(f"only camera messages are converted from ROS 1, not {message.msgtype}")
        stamp = store.types["builtin_interfaces/msg/Time"](sec=msg.header.stamp.sec, nanosec=msg.header.stamp.nanosec)
        header = store.types["std_msgs/msg/Header"](stamp=stamp, frame_id=msg.header.frame_id)
        ros2_type = store.types[message.msgtype]
        values = {field.name: header if field.name == "header" else getattr(msg, field.name)
                  for field in dataclasses.fields(ros2_type)}
        return bytes(store.serialize_cdr(ros2_type(**values), message.msgtype))



def read_frame_keys(bag: Bag, topic: str) -> list[FrameKey]:
    keys = []
    for message in bag.messages(topic):
        try:
            msg = bag.camera_message(message)
        except UnreadableMessage as error:
            keys.append(FrameKey(message.index, message.log_ns, None, "", None, None, str(error)))
            continue
        sized = message.msgtype != COMPRESSED_IMAGE
        keys.append(FrameKey(message.index, message.log_ns, stamp_to_ns(msg.header.stamp), msg.header.frame_id,
                             int(msg.width) if sized else None, int(msg.height) if sized else None))
    if topic in bag.damage:
        _, reason = bag.damage[topic]
        counted = bag.topics[topic].count if topic in bag.topics else len(keys)
        keys += [FrameKey(index, keys[-1].log_ns if keys else 0, None, "", None, None, reason)
                 for index in range(len(keys), max(counted, len(keys) + 1))]
    return keys


def decode_frame(msg, msgtype: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, str]:
    """The node's conversion, the node's pixel limit: frames above it are unreadable, never decoded."""
    if msgtype not in CAMERA_TYPES:
        raise UnreadableMessage(f"{msgtype} is not a camera message")
    try:
        if msgtype == COMPRESSED_IMAGE:
            return compressed_to_frame(msg, max_pixels)
        return image_to_frame(msg, max_pixels)
    except FrameError as error:
        raise UnreadableMessage(str(error)) from None
    except Exception as error:  # the decoder's own errors on strange data
        raise UnreadableMessage(f"cannot decode the frame ({type(error).__name__}: {error})") from None
