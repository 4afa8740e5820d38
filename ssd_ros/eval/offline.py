"""Offline mode: the core Detector on the bag's frames, as fast as the machine allows.

Contract: ``run_offline(bag, topic, wanted, detector, post, workers=1)`` decodes every frame whose index
is in ``wanted`` (the frames that have ground truth) with the node's conversion code and runs
``Detector.detect`` on it; frames that cannot be decoded go to ``unreadable`` with the reason.
The report section gives the loop's frames per second (reading + decoding + detection), the mean
time of one detection and the number of frames detected at once. Detections keep the model's label
names. Outputs do not depend on ``workers``: each frame's detections are computed alone.

Speed: raw Images are views of the message (no decoding). CompressedImages are read in this thread
(sqlite3 handles stay in their thread) and decoded by one worker thread a few frames ahead, so
JPEG decoding overlaps inference (both release the GIL). With ``workers`` > 1 and a backend that
runs concurrently (``backend.concurrent_runs``), that many frames are detected at once: a small model
on a few cores goes faster as parallel single-threaded runs than as one multi-threaded run
(cpu_threads.py), so the evaluation CLI loads its Detector with the cores divided among them.
"""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from ssd_ros.bags.reader import Bag, UnreadableMessage, decode_frame
from ssd_ros.bags.types import COMPRESSED_IMAGE
from ssd_ros.core import Detections, Detector, PostprocessConfig
from ssd_ros.eval.mode_types import FrameOutput, ModeInput, ModeOutput
from ssd_ros.progress import progress_bar

PREFETCH = 4  # compressed frames decoded ahead of the detector


def _decoded_frames(bag: Bag, topic: str, wanted: set[int]) -> Iterator[tuple[int, tuple | UnreadableMessage]]:
    """(frame index, (frame, color) or the reason it is unreadable) for the wanted frames, in order."""
    def decode(message):
        try:
            return decode_frame(bag.camera_message(message), message.msgtype)
        except UnreadableMessage as error:
            return error

    messages = (message for message in bag.messages(topic) if message.index in wanted)
    if bag.topics[topic].msgtype != COMPRESSED_IMAGE:
        yield from ((message.index, decode(message)) for message in messages)
        return
    pending: deque = deque()
    with ThreadPoolExecutor(1) as decoder:
        for message in messages:
            pending.append((message.index, decoder.submit(decode, message)))
            if len(pending) > PREFETCH:
                index, decoding = pending.popleft()
                yield index, decoding.result()
        while pending:
            index, decoding = pending.popleft()
            yield index, decoding.result()


def run_offline(bag: Bag, topic: str, wanted: set[int], detector: Detector, post: PostprocessConfig,
                workers: int = 1) -> ModeOutput:
    result = ModeOutput()
    workers = max(1, workers) if detector.backend.concurrent_runs else 1
    detect_seconds: list[float] = []

    def detect(index: int, frame: np.ndarray, color: str) -> tuple[int, Detections]:
        detect_started = time.perf_counter()
        detections = detector.detect(frame, color, post)
        detect_seconds.append(time.perf_counter() - detect_started)  # list.append is atomic
        return index, detections

    def keep(index: int, detections: Detections) -> None:
        result.outputs[index] = FrameOutput(detections.boxes.astype(np.float64),
                                            detections.scores.astype(np.float64), tuple(detections.label_names))

    started = time.perf_counter()
    in_flight: deque[Future] = deque()
    with progress_bar(len(wanted), "offline detection") as bar, ThreadPoolExecutor(workers) as pool:
        for index, decoded in _decoded_frames(bag, topic, wanted):
            if isinstance(decoded, UnreadableMessage):
                result.unreadable[index] = str(decoded)
                bar.update()
                continue
            frame, color = decoded
            result.frame_sizes[index] = (frame.shape[1], frame.shape[0])
            in_flight.append(pool.submit(detect, index, frame, color))
            while len(in_flight) > workers:  # bounded: frames of a long bag are not all held at once
                keep(*in_flight.popleft().result())
                bar.update()
        while in_flight:
            keep(*in_flight.popleft().result())
            bar.update()
    elapsed = time.perf_counter() - started
    processed = len(result.outputs)
    result.report = {
        "frames_processed": processed,
        "seconds": round(elapsed, 4),
        "frames_per_second": round(processed / elapsed, 3) if elapsed > 0 and processed else 0.0,
        "mean_detect_ms": round(1e3 * sum(detect_seconds) / processed, 3) if processed else 0.0,
        "frames_at_once": workers,
        "backend": detector.backend_name,
        "score_threshold": post.score_threshold,
    }
    return result


@dataclass(frozen=True)
class OfflineMode:
    """The core Detector on the bag's frames (mode_types.EvaluationMode)."""

    image_topic: str
    detector: Detector
    post: PostprocessConfig
    context: dict[str, Any]
    workers: int = 1  # frames detected at once (run_offline)
    name: str = "offline"

    @property
    def model_classes(self) -> tuple[str, ...]:
        return self.detector.spec.class_names

    def run(self, given: ModeInput) -> ModeOutput:
        return run_offline(given.bag, self.image_topic, given.wanted, self.detector, self.post, self.workers)
