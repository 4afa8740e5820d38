"""Recorded mode: score a Detection2DArray topic already in the bag (what the robot published).

Contract: ``run_recorded(bag, image_topic, frames, wanted, detections_topic, labels, tolerance_ns)``
pairs each detections message with the frame of the same header stamp (within the tolerance, frame_id
checked; the node copies the input header into its output) and decodes the wanted frames to find
unreadable ones, as the other modes do. Class ids become names through ``labels`` ({id: name}:
the LabelInfo beside the detections topic, else the model's labels); a frame without a detections
message had no output. Every detections message gets one matching outcome in the report.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from ssd_ros.bags.messages import ParsedDetections, parse_detection_array
from ssd_ros.bags.reader import Bag, FrameKey, UnreadableMessage, decode_frame
from ssd_ros.bags.types import DETECTION_2D_ARRAY
from ssd_ros.eval.ground_truth import BoxRecord, match_records, sibling_label_info
from ssd_ros.eval.mode_types import FrameOutput, ModeInput, ModeOutput
from ssd_ros.progress import progress_bar
from ssd_ros.stamps import stamp_to_ns


def to_frame_output(parsed: ParsedDetections, labels: dict[str, str]) -> FrameOutput:
    return FrameOutput(parsed.boxes, parsed.scores, tuple(labels.get(i, i) for i in parsed.class_ids))


def unmapped_numeric_ids(outputs: dict[int, FrameOutput]) -> list[str]:
    return sorted({name for output in outputs.values() for name in output.names if name.isdigit()}, key=int)


def check_decodable(bag: Bag, topic: str, wanted: set[int], result: ModeOutput) -> None:
    """Decode the wanted frames so every mode counts the same frames as unreadable."""
    with progress_bar(len(wanted), "checking frames") as bar:
        for message in bag.messages(topic):
            if message.index not in wanted:
                continue
            try:
                frame, _ = decode_frame(bag.camera_message(message), message.msgtype)
                result.frame_sizes[message.index] = (frame.shape[1], frame.shape[0])
            except UnreadableMessage as error:
                result.unreadable[message.index] = str(error)
            bar.update()


def run_recorded(bag: Bag, image_topic: str, frames: list[FrameKey], wanted: set[int], detections_topic: str,
                 labels: dict[str, str], tolerance_ns: int) -> ModeOutput:
    bag.require(detections_topic, (DETECTION_2D_ARRAY,), "detections")
    result = ModeOutput()
    check_decodable(bag, image_topic, wanted, result)
    records, unreadable_messages = [], 0
    for message in bag.messages(detections_topic):
        try:
            msg = bag.decode(message)
        except UnreadableMessage:
            unreadable_messages += 1
            continue
        parsed = parse_detection_array(msg)
        records.append(BoxRecord(stamp_to_ns(msg.header.stamp), msg.header.frame_id, None, None, parsed.boxes,
                                 parsed.class_ids, np.zeros(len(parsed.boxes), bool), f"message {message.index}",
                                 parsed.scores))
    matching = match_records(frames, records, "stamp", tolerance_ns)
    for record, frame in zip(records, matching.frame_of_record, strict=True):
        if frame is not None:
            assert record.scores is not None  # set above for every recorded detection message
            result.outputs[frame] = to_frame_output(ParsedDetections(record.boxes, record.scores, record.names),
                                                    labels)
    outcomes = Counter({name: count for name, count in matching.outcomes.items() if count})
    result.report = {
        "detections_topic": detections_topic,
        "messages": len(records) + unreadable_messages,
        "unreadable_messages": unreadable_messages,
        "message_outcomes": dict(outcomes),
        "frames_with_output": len(result.outputs),
    }
    if unreadable_messages:
        result.warnings.append(f"{unreadable_messages} detections messages on {detections_topic} could not be read")
    unmatched = sum(count for name, count in outcomes.items() if name != "matched")
    if unmatched:
        result.warnings.append(f"{unmatched} detections messages on {detections_topic} belong to no frame of "
                               f"{image_topic} ({dict(outcomes)})")
    return result


@dataclass(frozen=True)
class RecordedMode:
    """What the robot published on ``detections_topic`` of the bag (mode_types.EvaluationMode).

    Class ids become names through the LabelInfo recorded beside that topic, else ``labels``.
    """

    image_topic: str
    detections_topic: str
    labels: dict[str, str]
    tolerance_ns: int
    model_classes: tuple[str, ...] | None
    context: dict[str, Any]
    name: str = "recorded"

    def run(self, given: ModeInput) -> ModeOutput:
        names = sibling_label_info(given.bag, self.detections_topic) or self.labels
        return run_recorded(given.bag, self.image_topic, given.frames, given.wanted, self.detections_topic, names,
                            self.tolerance_ns)
