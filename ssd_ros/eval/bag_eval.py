"""Evaluate detections on a bag: frames, ground truth, one mode (offline, recorded, online), metrics, accounting.

Steps of ``evaluate_bag(request, mode)`` (mode: mode_types.EvaluationMode):
1. read the header of every frame on the image topic (``read_frame_keys``): BagError for a missing
   topic, a wrong type or a topic without frames;
2. load the ground truth (a Detection2DArray topic, or dataset files) and pair it with the frames
   (``match_records``); GroundTruthError when nothing pairs, saying why;
3. ``mode.run(ModeInput)`` produces detections for the frames that have ground truth
   (``ModeInput.wanted``, frame indices) and reports frames it could not decode;
4. check every ground-truth box against its frame's size (truth_boxes.py: NaN/infinite, degenerate
   and outside boxes left out, partly outside ones clipped, all counted in ``ground_truth.problems``
   and warned about; GroundTruthError when no box is left to score), then score with COCOeval
   (metrics.py) on the ground-truth classes the model knows (``model_labels``; None: all of them).
   Frames without output count as frames with no detections; in recorded and online modes the
   metrics on the frames that had an output are given too.

Every frame read ends up in exactly one of evaluated / unmatched (no ground truth, or ground truth of
another size) / unreadable, every ground-truth record in exactly one matching outcome, and ground-truth
boxes of classes the model does not know and detections of classes the ground truth does not have
are counted by class name: ``Evaluation`` holds all of it for the report.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ssd_ros.bags.reader import Bag, BagError, FrameKey, read_frame_keys
from ssd_ros.bags.types import CAMERA_TYPES
from ssd_ros.eval.evaluation import Evaluation
from ssd_ros.eval.ground_truth import (
    MATCHED,
    OUTCOMES,
    SIZE_MISMATCH,
    UNREADABLE_FRAME,
    BoxRecord,
    GroundTruth,
    GroundTruthError,
    explain_no_match,
    match_records,
    truth_from_dataset,
    truth_from_topic,
)
from ssd_ros.eval.metrics import ImageDetections, ImageGroundTruth, evaluate
from ssd_ros.eval.mode_types import EvaluationMode, ModeInput, ModeOutput
from ssd_ros.eval.truth_boxes import check_boxes

MAX_LISTED = 10  # examples of unreadable frames in the report


@dataclass(frozen=True)
class BagEvalRequest:
    bag: Path
    image_topic: str
    truth_topic: str | None = None  # a Detection2DArray topic in the bag ...
    truth_path: Path | None = None  # ... or dataset files (COCO JSON, VOC, YOLO)
    truth_format: str = "auto"
    truth_split: str | None = None
    match: str | None = None  # "stamp" or "index"; None: stamp for a topic, index for files
    tolerance_ms: float = 1.0
    truth_voc_origin: int = 1  # how VOC XML numbers are read (ssd_ros.datasets.voc)

    @property
    def tolerance_ns(self) -> int:
        return round(self.tolerance_ms * 1e6)


def load_truth(request: BagEvalRequest, bag: Bag) -> GroundTruth:
    if (request.truth_topic is None) == (request.truth_path is None):
        raise GroundTruthError("give the ground truth either as a Detection2DArray topic in the bag (--gt-topic) or "
                               "as dataset files (--gt: COCO JSON, VOC folder or YOLO folder)")
    if request.truth_topic is not None:
        truth = truth_from_topic(bag, request.truth_topic)
        if request.match == "index":  # the i-th ground-truth message labels the i-th frame
            truth = GroundTruth(tuple(replace(record, key=position) for position, record in enumerate(truth.records)),
                                truth.class_names, "index", truth.description, truth.problems)
        return truth
    assert request.truth_path is not None  # exactly one of the two is set: checked above
    return truth_from_dataset(request.truth_path, request.truth_format, request.truth_split,
                              request.match or "index", request.truth_voc_origin)


def _read_frames(bag: Bag, topic: str) -> list[FrameKey]:
    summary = bag.require(topic, CAMERA_TYPES, "image")
    if summary.count == 0:
        raise BagError(f"image topic {topic} in {bag.path} has no messages: the bag has no frames to evaluate")
    frames = read_frame_keys(bag, topic)
    if all(frame.error is not None for frame in frames):
        raise BagError(f"none of the {len(frames)} frames on {topic} can be read; the first: {frames[0].error}")
    return frames


def evaluate_bag(request: BagEvalRequest, mode: EvaluationMode) -> Evaluation:
    with Bag(request.bag) as bag:
        frames = _read_frames(bag, request.image_topic)
        truth = load_truth(request, bag)
        matching = match_records(frames, truth.records, truth.match, request.tolerance_ns)
        if not matching.outcomes[MATCHED]:
            raise GroundTruthError(explain_no_match(frames, truth, matching, request.tolerance_ns))
        classes = scored_classes(truth, mode.model_classes)  # before a long run: the error comes at once
        truth_of_frame = {frame: truth.records[record] for frame, record in matching.record_of_frame().items()}
        output = mode.run(ModeInput(bag, frames, truth_of_frame, truth.class_names))
        msgtype = bag.topics[request.image_topic].msgtype
    return _score(request, mode.name, msgtype, frames, truth, matching.outcomes, truth_of_frame, output, classes)


def scored_classes(truth: GroundTruth, model_labels: tuple[str, ...] | None) -> tuple[str, ...]:
    """The ground-truth classes the model knows (all of them when its labels are unknown)."""
    classes = tuple(name for name in truth.class_names if model_labels is None or name in model_labels)
    if not classes:
        raise GroundTruthError(f"the model does not know any ground-truth class {list(truth.class_names)}; its "
                               f"labels are {list(model_labels or ())}")
    return classes


def _score(request: BagEvalRequest, mode_name: str, msgtype: str, frames: list[FrameKey], truth: GroundTruth,
           outcomes: Counter, truth_of_frame: dict[int, BoxRecord], output: ModeOutput,
           classes: tuple[str, ...]) -> Evaluation:
    outcomes = Counter(outcomes)
    warnings = list(output.warnings)
    unreadable = {frame.index: frame.error for frame in frames if frame.error is not None}
    for index, reason in output.unreadable.items():
        unreadable[index] = reason
        if index in truth_of_frame:
            outcomes[MATCHED] -= 1
            outcomes[UNREADABLE_FRAME] += 1
    evaluated = []
    for index in sorted(truth_of_frame):
        if index in unreadable:
            continue
        record, size = truth_of_frame[index], output.frame_sizes.get(index)
        if size is not None and record.width is not None and size != (record.width, record.height):
            outcomes[MATCHED] -= 1
            outcomes[SIZE_MISMATCH] += 1
            continue
        evaluated.append(index)
    if not evaluated:
        raise GroundTruthError(f"no frame with ground truth could be evaluated: {len(truth_of_frame)} frames had "
                               f"ground truth, {dict(outcomes)}; {len(unreadable)} frames unreadable")

    class_index = {name: position for position, name in enumerate(classes)}
    unknown_truth: Counter[str] = Counter()
    other_detections: Counter[str] = Counter()
    box_problems: Counter[str] = Counter()
    truths, found, with_output = [], [], []
    empty = ImageDetections(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))
    for index in evaluated:
        record = truth_of_frame[index]
        width, height = output.frame_sizes.get(index) or (record.width, record.height)
        if width is None and 0 <= index < len(frames):
            width, height = frames[index].width, frames[index].height
        checked = check_boxes(record.boxes, width, height)
        box_problems.update(checked.problems)
        names = tuple(name for name, kept in zip(record.names, checked.keep.tolist(), strict=True) if kept)
        known = np.array([name in class_index for name in names], bool)
        unknown_truth.update(name for name in names if name not in class_index)
        truths.append(ImageGroundTruth(checked.boxes[known], np.array([class_index[n] for n in names
                                                                       if n in class_index], np.int64),
                                       record.difficult[checked.keep][known]))
        frame_output = output.outputs.get(index)
        if frame_output is None:
            found.append(empty)
            continue
        with_output.append(len(found))
        keep = np.array([name in class_index for name in frame_output.names], bool)
        other_detections.update(name for name in frame_output.names if name not in class_index)
        found.append(ImageDetections(frame_output.boxes[keep], frame_output.scores[keep],
                                     np.array([class_index[n] for n in frame_output.names if n in class_index],
                                              np.int64)))
    problems = {**truth.problems, **box_problems}
    scorable = sum(int((~truth_boxes.difficult).sum()) if truth_boxes.difficult is not None else len(truth_boxes.boxes)
                   for truth_boxes in truths)
    given = sum(len(truth_of_frame[i].names) for i in evaluated)
    if not scorable and given:  # boxes were given, none can be scored: the ground truth is broken
        raise GroundTruthError(
            f"no ground-truth box can be scored on the {len(evaluated)} evaluated frames, so mAP is undefined: "
            f"{given} boxes, problems {problems or 'none'}, of classes the model does not know "
            f"{dict(unknown_truth) or 'none'}; fix the ground truth")
    metrics = evaluate(truths, found, classes)
    if not scorable:  # frames labelled as empty: no mAP exists; say so and report 0, never COCOeval's -1
        metrics = replace(metrics, map=max(metrics.map, 0.0), map_50=max(metrics.map_50, 0.0),
                          map_75=max(metrics.map_75, 0.0))
        warnings.append(f"the ground truth of the {len(evaluated)} evaluated frames has no boxes: mAP is "
                        "undefined and reported as 0 (only false positives can be counted)")
    no_output = len(evaluated) - len(with_output)
    metrics_with_output = None
    if mode_name != "offline" and no_output and with_output:
        metrics_with_output = evaluate([truths[i] for i in with_output], [found[i] for i in with_output], classes)

    frame_counts = {"read": len(frames), "evaluated": len(evaluated),
                    "unmatched": len(frames) - len(evaluated) - len(unreadable), "unreadable": len(unreadable),
                    "evaluated_without_output": no_output}
    truth_report = {"source": truth.description, "match": truth.match, "records": len(truth.records),
                    "outcomes": {name: outcomes[name] for name in OUTCOMES},
                    "boxes_evaluated": int(sum(len(t.boxes) for t in truths)),
                    "boxes_of_classes_the_model_does_not_know": dict(unknown_truth), "problems": problems}
    detection_report = {"evaluated": metrics.detections, "of_classes_not_in_ground_truth": dict(other_detections)}
    warnings += _warnings(frame_counts, outcomes, truth, unknown_truth, other_detections, frames, request, problems)
    unreadable_examples = [{"frame": index, "reason": reason} for index, reason in sorted(unreadable.items())]
    return Evaluation(
        mode=mode_name,
        source={"bag": str(request.bag), "image_topic": request.image_topic, "image_type": msgtype,
                "match": truth.match, "stamp_tolerance_ms": request.tolerance_ms},
        frames=frame_counts, unreadable_examples=unreadable_examples[:MAX_LISTED], ground_truth=truth_report,
        detections=detection_report, classes=classes, metrics=metrics, metrics_frames_with_output=metrics_with_output,
        mode_report=output.report, warnings=warnings, latencies_ms=output.latencies_ms)


def _warnings(frame_counts: dict[str, int], outcomes: Counter, truth: GroundTruth, unknown_truth: Counter,
              other_detections: Counter, frames: list[FrameKey], request: BagEvalRequest,
              problems: dict[str, int]) -> list[str]:
    warnings = []
    if frame_counts["unreadable"]:
        warnings.append(f"{frame_counts['unreadable']} of {frame_counts['read']} frames could not be read "
                        "(see unreadable_examples)")
    if frame_counts["unmatched"]:
        warnings.append(f"{frame_counts['unmatched']} frames have no ground truth and were not evaluated")
    if frame_counts["evaluated_without_output"]:
        warnings.append(f"{frame_counts['evaluated_without_output']} evaluated frames had no detections output "
                        "(scored as frames with no detections)")
    failed = {name: count for name, count in outcomes.items() if name != MATCHED and count}
    if failed:
        warnings.append(f"{sum(failed.values())} of {len(truth.records)} ground-truth records were not used: {failed}")
    if unknown_truth:
        warnings.append(f"ground-truth boxes of classes the model does not know were left out: {dict(unknown_truth)}")
    if other_detections:
        warnings.append(f"detections of classes the ground truth does not have were left out: "
                        f"{dict(other_detections)}")
    if problems:
        warnings.append(f"ground-truth problems: {problems}")
    stamps = Counter(frame.stamp_ns for frame in frames if frame.stamp_ns is not None)
    shared = sum(count for count in stamps.values() if count > 1)
    if shared and truth.match == "stamp":
        warnings.append(f"{shared} frames share their header stamp with another frame: matching by stamp cannot "
                        "tell them apart (use --match index)")
    return warnings
