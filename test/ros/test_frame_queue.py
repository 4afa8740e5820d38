"""LatestFrameQueue: newest frame per camera, every replaced frame counted, and the receiving thread's wait.

The waits are checked against generous bounds (what must happen, never how fast): the receiving
thread waits for an inference in flight, is released by its end or by close, and never sleeps
through the time its next frame is due.
"""
from __future__ import annotations

import threading
import time

from ssd_ros.ros.frame_queue import LatestFrameQueue


def put_at_interval(queue: LatestFrameQueue, camera: int, count: int, interval_s: float) -> None:
    for index in range(count):
        if index:
            time.sleep(interval_s)
        queue.put(camera, f"frame {index}")


def test_newest_frame_per_camera_and_replaced_ones_counted():
    queue = LatestFrameQueue(2)
    for name in ("a", "b", "c"):
        queue.put(0, name)
    queue.put(1, "x")
    frames = queue.take()
    assert [(frame.camera, frame.message) for frame in frames] == [(0, "c"), (1, "x")]
    assert queue.received == [3, 1] and queue.dropped == [2, 0]
    assert queue.take(timeout=0.01) == []


def test_without_a_known_rhythm_the_receiving_thread_never_waits():
    queue = LatestFrameQueue(1)
    queue.put(0, "first")
    queue.take()  # in flight, never finished
    started = time.monotonic()
    queue.wait_while_busy(cap_s=5.0)
    assert time.monotonic() - started < 1.0


def test_the_wait_ends_when_the_inference_finishes():
    queue = LatestFrameQueue(1)
    put_at_interval(queue, 0, 3, 0.5)  # next frame due in ~0.5 s: the wait may last up to ~0.4 s
    queue.take()
    timer = threading.Timer(0.05, queue.finished)
    timer.start()
    started = time.monotonic()
    queue.wait_while_busy(cap_s=5.0)
    waited = time.monotonic() - started
    timer.join()
    assert 0.04 <= waited < 0.35


def test_the_wait_ends_before_the_next_frame_is_due_even_if_the_inference_does_not():
    queue = LatestFrameQueue(1)
    put_at_interval(queue, 0, 3, 0.1)
    queue.take()  # never finished
    started = time.monotonic()
    queue.wait_while_busy(cap_s=5.0)
    assert time.monotonic() - started < 0.1  # due at +0.1 s; the wait stops about 20% earlier


def test_the_wait_is_capped_and_close_releases_it():
    queue = LatestFrameQueue(1)
    put_at_interval(queue, 0, 2, 0.01)
    queue._interval[0] = 60.0  # a camera that sends a frame a minute
    queue.take()
    started = time.monotonic()
    queue.wait_while_busy(cap_s=0.05)
    assert 0.04 <= time.monotonic() - started < 1.0
    threading.Timer(0.05, queue.close).start()
    started = time.monotonic()
    queue.wait_while_busy(cap_s=5.0)
    assert time.monotonic() - started < 1.0


def test_another_camera_due_now_ends_the_wait_at_once():
    """Cameras that tick together: after the first frame of a tick, the others are due, so no waiting."""
    queue = LatestFrameQueue(2)
    for _ in range(3):
        queue.put(0, "a")
        queue.put(1, "b")
        time.sleep(0.2)
    queue.put(0, "a")  # camera 1's frame of this tick is due now
    queue.take()
    started = time.monotonic()
    queue.wait_while_busy(cap_s=5.0)
    assert time.monotonic() - started < 0.1


def test_a_take_that_times_out_leaves_nothing_in_flight():
    queue = LatestFrameQueue(1)
    put_at_interval(queue, 0, 2, 0.2)
    queue.take()
    queue.finished()
    assert queue.take(timeout=0.01) == []
    started = time.monotonic()
    queue.wait_while_busy(cap_s=5.0)  # nothing pending, nothing in flight
    assert time.monotonic() - started < 0.1
