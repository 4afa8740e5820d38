"""Newest-frame hand-off from subscription callbacks to the inference worker.

Contract: ``put`` never blocks (callbacks must not wait for inference). Each camera keeps only
its newest unprocessed message (keep-last, depth 1): a message that is replaced before the worker
takes it is counted as dropped, never lost silently. ``take`` waits until at least one camera has a
frame and returns the newest frame of every camera that has one, so cameras are batched; several
workers may take. ``count_dropped`` counts a frame a worker took but did not publish.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PendingFrame:
    camera: int
    message: Any
    received: float  # time.monotonic() at the callback


class LatestFrameQueue:
    def __init__(self, cameras: int) -> None:
        self._pending: list[PendingFrame | None] = [None] * cameras
        self._condition = threading.Condition()
        self._closed = False
        self.received = [0] * cameras
        self.dropped = [0] * cameras

    def put(self, camera: int, message: Any) -> None:
        frame = PendingFrame(camera, message, time.monotonic())
        with self._condition:
            self.received[camera] += 1
            if self._pending[camera] is not None:
                self.dropped[camera] += 1
            self._pending[camera] = frame
            self._condition.notify()

    def count_dropped(self, camera: int) -> None:
        """A frame taken but not published (a newer one of its camera was published first)."""
        with self._condition:
            self.dropped[camera] += 1

    def take(self, timeout: float | None = None) -> list[PendingFrame]:
        """Newest frame per camera (possibly several cameras); [] on timeout or after close()."""
        with self._condition:
            self._condition.wait_for(lambda: self._closed or any(self._pending), timeout)
            if self._closed:
                return []
            frames = [frame for frame in self._pending if frame is not None]
            self._pending = [None] * len(self._pending)
            return frames

    def close(self) -> None:
        """Wake the worker for good; frames still waiting count as dropped."""
        with self._condition:
            for frame in self._pending:
                if frame is not None:
                    self.dropped[frame.camera] += 1
            self._pending = [None] * len(self._pending)
            self._closed = True
            self._condition.notify_all()
