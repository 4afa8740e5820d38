"""LatestFrameQueue: newest frame per camera, every replaced frame counted, close releases the worker."""
from __future__ import annotations

import threading

from ssd_ros.ros.frame_queue import LatestFrameQueue


def test_newest_frame_per_camera_and_replaced_ones_counted():
    queue = LatestFrameQueue(2)
    for name in ("a", "b", "c"):
        queue.put(0, name)
    queue.put(1, "x")
    frames = queue.take()
    assert [(frame.camera, frame.message) for frame in frames] == [(0, "c"), (1, "x")]
    assert queue.received == [3, 1] and queue.dropped == [2, 0]
    assert queue.take(timeout=0.01) == []


def test_close_releases_a_waiting_worker_and_counts_frames_left_behind():
    queue = LatestFrameQueue(1)
    taken: list = []
    worker = threading.Thread(target=lambda: taken.append(queue.take()))
    worker.start()
    queue.close()
    worker.join(timeout=5)
    assert not worker.is_alive() and taken == [[]]

    queue = LatestFrameQueue(2)
    queue.put(0, "a")
    queue.put(1, "b")
    queue.close()
    assert queue.take() == [] and queue.dropped == [1, 1]
