"""Ground truth for bag frames: from a Detection2DArray topic in the bag or from dataset files, and matching.

Sources:
- ``truth_from_topic(bag, topic)``: one record per Detection2DArray message, keyed by header stamp,
  frame_id checked. Class ids are names, or numbers mapped through the LabelInfo on the sibling
  ``label_info`` topic (``/gt/detections`` -> ``/gt/label_info``), whose classes (in id order) come
  first in ``class_names``, then any other name seen. A Detection2D whose ``id`` is
  "difficult" is a difficult box (ignored by the metrics, as VOC does: ``bag from-dataset`` writes them so).
- ``truth_from_dataset(path, format, split, match)``: COCO JSON, VOC or YOLO through
  ``ssd_ros.datasets.load_dataset``; keyed by position in the dataset (``match="index"``: the i-th
  image labels the i-th frame) or by the timestamp in the image's name (``match="stamp"``: a stem
  ending in an integer is nanoseconds, e.g. ``1700000000123456789.jpg``; one with a decimal point
  is seconds, e.g. ``frame_1700000000.125.png``). Image sizes are checked against the frames.

``match_records(frames, records, match, tolerance_ns)`` pairs records with frames one to one: by
index, or with the frame of nearest header stamp within the tolerance. Each record gets one outcome
(OUTCOMES); nothing is dropped without being counted.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ssd_ros.bags.messages import DIFFICULT_ID, label_map, parse_detection_array
from ssd_ros.bags.reader import Bag, FrameKey, UnreadableMessage
from ssd_ros.bags.types import DETECTION_2D_ARRAY, LABEL_INFO
from ssd_ros.datasets import DatasetError, detect_format, load_dataset
from ssd_ros.eval.errors import EvaluationError
from ssd_ros.stamps import stamp_to_ns
from ssd_ros.topics import LABEL_INFO as LABEL_INFO_TOPIC
from ssd_ros.topics import sibling_topic

MATCHED = "matched"
NO_FRAME = "no frame"
FRAME_ID_MISMATCH = "frame_id mismatch"
SIZE_MISMATCH = "size mismatch"
DUPLICATE = "second record for the same frame"
UNREADABLE_FRAME = "frame unreadable"
OUTCOMES = (MATCHED, NO_FRAME, FRAME_ID_MISMATCH, SIZE_MISMATCH, DUPLICATE, UNREADABLE_FRAME)


class GroundTruthError(EvaluationError, ValueError):
    """Ground truth that cannot be used; the message names the source and what to do."""


@dataclass(frozen=True)
class BoxRecord:
    """The boxes of one frame from a source other than the frames: ground truth, or recorded detections."""

    key: int  # header stamp in ns (match "stamp") or frame index (match "index")
    frame_id: str  # "" = not checked
    width: int | None
    height: int | None
    boxes: np.ndarray  # float64 [N, 4] x1, y1, x2, y2 pixels
    names: tuple[str, ...]
    difficult: np.ndarray  # bool [N]
    source: str  # for messages: the image id, or "message K"
    scores: np.ndarray | None = None  # detections only


@dataclass(frozen=True)
class GroundTruth:
    records: tuple[BoxRecord, ...]
    class_names: tuple[str, ...]
    match: str  # "stamp" or "index"
    description: str
    problems: dict[str, int] = field(default_factory=dict)  # counted, e.g. unreadable messages


@dataclass
class Matching:
    """Outcome of pairing records with frames."""

    frame_of_record: list[int | None]  # frame index per record (None: not matched)
    outcomes: Counter = field(default_factory=Counter)  # OUTCOMES -> count

    def record_of_frame(self) -> dict[int, int]:
        return {frame: record for record, frame in enumerate(self.frame_of_record) if frame is not None}


def sibling_label_info(bag: Bag, topic: str) -> dict[str, str]:
    """{class id: name} from the LabelInfo beside ``topic`` (same namespace), {} when there is none."""
    candidate = sibling_topic(topic, LABEL_INFO_TOPIC)
    if candidate not in bag.topics or bag.topics[candidate].msgtype != LABEL_INFO:
        return {}
    mapping: dict[str, str] = {}
    for message in bag.messages(candidate):
        try:
            mapping.update(label_map(bag.decode(message)))
        except UnreadableMessage:
            continue
    return mapping


def truth_from_topic(bag: Bag, topic: str) -> GroundTruth:
    bag.require(topic, (DETECTION_2D_ARRAY,), "ground-truth")
    labels = sibling_label_info(bag, topic)
    records: list[BoxRecord] = []
    problems: Counter[str] = Counter()
    for message in bag.messages(topic):
        try:
            msg = bag.decode(message)
        except UnreadableMessage:
            problems["unreadable ground-truth messages"] += 1
            continue
        parsed = parse_detection_array(msg)
        names = tuple(labels.get(class_id, class_id) for class_id in parsed.class_ids)
        missing_class = np.array([name == "" for name in names], bool)
        problems["ground-truth boxes without a class (skipped)"] += int(missing_class.sum())
        keep = ~missing_class
        difficult = np.array([detection.id == DIFFICULT_ID for detection in msg.detections], bool)
        records.append(BoxRecord(stamp_to_ns(msg.header.stamp), msg.header.frame_id, None, None, parsed.boxes[keep],
                                   tuple(n for n, k in zip(names, keep, strict=True) if k), difficult[keep],
                                   f"message {message.index}"))
    if topic in bag.damage:  # the messages the index counts beyond the damaged part
        read, _ = bag.damage[topic]
        problems["unreadable ground-truth messages (the bag is damaged)"] += max(bag.topics[topic].count - read, 1)
    declared = tuple(labels[key] for key in sorted(labels, key=int))  # LabelInfo ids are integers
    seen = sorted({name for record in records for name in record.names} - set(declared))
    class_names = declared + tuple(seen)
    if not records:
        raise GroundTruthError(f"ground-truth topic {topic} has no readable messages")
    return GroundTruth(tuple(records), class_names, "stamp", f"topic {topic}", {k: v for k, v in problems.items() if v})


_TIMESTAMP = re.compile(r"(\d+(?:\.\d+)?)$")


def stamp_from_name(image_id: str) -> int:
    found = _TIMESTAMP.search(image_id)
    if found is None:
        raise GroundTruthError(f"image {image_id!r} has no timestamp at the end of its name: matching by stamp needs "
                               "names like 1700000000123456789 (ns) or frame_1700000000.125 (s); or use --match index")
    seconds, _, fraction = found.group(1).partition(".")
    if not fraction:
        return int(seconds)  # nanoseconds
    return int(seconds) * 1_000_000_000 + int(fraction[:9].ljust(9, "0"))  # exact: no float rounding


def truth_from_dataset(path: Path, format: str = "auto", split: str | None = None,
                       match: str = "index", voc_origin: int = 1) -> GroundTruth:
    try:
        if format == "auto":
            format = detect_format(path)
        dataset = load_dataset(path, format, split, voc_origin=voc_origin)
    except DatasetError as error:
        raise GroundTruthError(f"ground truth {path}: {error}") from None
    records = []
    for position, annotation in enumerate(dataset):
        key = position if match == "index" else stamp_from_name(annotation.image_path.stem)
        names = tuple(dataset.class_names[i] for i in annotation.class_indices.tolist())
        records.append(BoxRecord(key, "", annotation.width, annotation.height,
                                   annotation.boxes.astype(np.float64), names, annotation.difficult.astype(bool),
                                   annotation.image_id))
    if not records:
        raise GroundTruthError(f"ground truth {path} ({format}{f', split {split}' if split else ''}) has no images")
    where = f"{format} {path}" + (f" (split {split})" if split else "")
    return GroundTruth(tuple(records), tuple(dataset.class_names), match, where)


def match_records(frames: Sequence[FrameKey], records: Sequence[BoxRecord], match: str,
                  tolerance_ns: int) -> Matching:
    """Pair each record with at most one frame and each frame with at most one record."""
    matching = Matching([None] * len(records))
    taken: set[int] = set()
    if match == "index":
        def candidate(record: BoxRecord) -> FrameKey | None:
            return frames[record.key] if 0 <= record.key < len(frames) else None
    elif match == "stamp":
        stamped = sorted(((f.stamp_ns, f) for f in frames if f.stamp_ns is not None), key=lambda pair: pair[0])
        stamps = np.array([stamp for stamp, _ in stamped], np.int64)

        def candidate(record: BoxRecord) -> FrameKey | None:
            position = int(np.searchsorted(stamps, record.key))
            nearby = [stamped[p] for p in (position - 1, position) if 0 <= p < len(stamped)]
            best = min(nearby, key=lambda pair: abs(pair[0] - record.key), default=None)
            return best[1] if best is not None and abs(best[0] - record.key) <= tolerance_ns else None
    else:
        raise ValueError(f"match must be 'stamp' or 'index', got {match!r}")
    for position, record in enumerate(records):
        frame = candidate(record)
        if frame is None:
            outcome = NO_FRAME
        elif frame.error is not None:
            outcome = UNREADABLE_FRAME
        elif record.frame_id and frame.frame_id and record.frame_id != frame.frame_id:
            outcome = FRAME_ID_MISMATCH
        elif None not in (record.width, frame.width) and (record.width, record.height) != (frame.width, frame.height):
            outcome = SIZE_MISMATCH
        elif frame.index in taken:
            outcome = DUPLICATE
        else:
            outcome = MATCHED
            taken.add(frame.index)
            matching.frame_of_record[position] = frame.index
        matching.outcomes[outcome] += 1
    return matching


def explain_no_match(frames: Sequence[FrameKey], truth: GroundTruth, matching: Matching, tolerance_ns: int) -> str:
    """Why nothing matched: the numbers a user needs to fix it."""
    outcomes = ", ".join(f"{count} {name}" for name, count in matching.outcomes.items() if count)
    if truth.match == "index":
        return (f"ground truth ({truth.description}) matches no frame by index: {len(truth.records)} records for "
                f"{len(frames)} frames ({outcomes})")
    stamps = [f.stamp_ns for f in frames if f.stamp_ns is not None]
    keys = [r.key for r in truth.records]
    frame_ids = sorted({f.frame_id for f in frames if f.error is None})
    truth_ids = sorted({r.frame_id for r in truth.records if r.frame_id})
    span = (f"frames stamped {min(stamps) / 1e9:.3f}..{max(stamps) / 1e9:.3f} s" if stamps
            else "no frame has a readable stamp")
    return (f"ground truth ({truth.description}) matches no frame by stamp within {tolerance_ns / 1e6:g} ms: "
            f"{span}, ground truth stamped {min(keys) / 1e9:.3f}..{max(keys) / 1e9:.3f} s; frame_id of the frames "
            f"{frame_ids}, of the ground truth {truth_ids or ['(not set)']} ({outcomes}). Check the topic, "
            "raise --stamp-tolerance-ms, or use --match index")

