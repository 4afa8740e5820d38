"""Newest-frame hand-off from subscription callbacks to the inference worker.

Contract: ``put`` never blocks (callbacks must not wait for inference). Each camera keeps only
its newest unprocessed message (keep-last, depth 1): a message that is replaced before the worker
takes it is counted as dropped, never lost silently. ``take`` waits until at least one camera has a
frame and returns the newest frame of every camera that has one, so cameras are batched; several
workers may take; a worker calls ``finished`` after every ``take`` that returned frames.
``count_dropped`` counts a frame a worker took but did not publish.

``wait_while_busy`` is for the thread that receives frames when one worker infers: it blocks while
a frame is pending or being inferred, but never past shortly before the next frame is due (from
each camera's interval between frames) nor longer than ``cap_s``. Why: that thread next rebuilds
rclpy's wait set (~1.3 ms of Python on a 2-core x86 host); run beside an inference that uses every
core, it delays the whole parallel inference by about that much (measured: the node's overhead at
30 Hz fell from 1.3-1.7 ms to 0.1-0.3 ms). A frame that arrives while it waits is held by DDS and
taken right after, so newest-frame behaviour and drop counting are unchanged.
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


_NEXT_FRAME_LEAD = 0.2  # stop waiting this fraction of a camera's interval before its next frame is due
_INTERVAL_SMOOTHING = 0.2  # weight of the newest interval in each camera's running estimate


class LatestFrameQueue:
    def __init__(self, cameras: int) -> None:
        self._pending: list[PendingFrame | None] = [None] * cameras
        self._condition = threading.Condition()
        self._closed = False
        self._in_flight = 0  # takes not yet finished
        self._last_received: list[float | None] = [None] * cameras
        self._interval: list[float | None] = [None] * cameras  # running estimate of the time between frames
        self.received = [0] * cameras
        self.dropped = [0] * cameras

    def put(self, camera: int, message: Any) -> None:
        frame = PendingFrame(camera, message, time.monotonic())
        with self._condition:
            last = self._last_received[camera]
            if last is not None:
                gap, interval = frame.received - last, self._interval[camera]
                self._interval[camera] = gap if interval is None else interval + _INTERVAL_SMOOTHING * (gap - interval)
            self._last_received[camera] = frame.received
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
            self._in_flight += bool(frames)  # [] after a timeout: nothing to finish
            return frames

    def finished(self) -> None:
        """The frames of one ``take`` are done with (published, dropped or failed)."""
        with self._condition:
            self._in_flight -= 1
            self._condition.notify_all()

    def wait_while_busy(self, cap_s: float = 0.1) -> None:
        """Return once nothing is pending or in flight, or shortly before the next frame is due, or after cap_s."""
        with self._condition:
            now = time.monotonic()
            due = [last + (1.0 - _NEXT_FRAME_LEAD) * interval
                   for last, interval in zip(self._last_received, self._interval, strict=True)
                   if last is not None and interval is not None]
            if len(due) < len(self._interval):  # a camera whose rhythm is not known yet may send any time
                return
            deadline = min([now + cap_s, *due])
            while not self._closed and (self._in_flight or any(self._pending)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._condition.wait(remaining)

    def close(self) -> None:
        """Wake the worker for good; frames still waiting count as dropped."""
        with self._condition:
            for frame in self._pending:
                if frame is not None:
                    self.dropped[frame.camera] += 1
            self._pending = [None] * len(self._pending)
            self._closed = True
            self._condition.notify_all()
