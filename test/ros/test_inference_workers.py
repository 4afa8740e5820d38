"""Two frames in inference at once (inference_workers 2): outputs kept in input order, every frame counted.

A result that finishes after a newer frame of the same camera was published is dropped and counted,
never published out of order; two workers through the frame path account for every frame.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from rclpy.parameter import Parameter
from rclpy.serialization import serialize_message
from sensor_msgs.msg import Image

from ssd_ros.camera_cdr import parse_camera_header
from ssd_ros.ros import detector_node
from ssd_ros.ros.conversions import frame_to_image
from ssd_ros.ros.frame_queue import PendingFrame
from ssd_ros.synthetic import render_scene

pytestmark = pytest.mark.ros


@pytest.fixture
def node(ros_context):
    active = detector_node.DetectorNode(context=ros_context,
                                        parameter_overrides=[Parameter("inference_workers", value=2)])
    active.trigger_configure()
    assert active._runtime is not None and active._runtime.detector.backend.concurrent_runs
    active.trigger_activate()
    assert len(active._workers) == 2
    yield active
    active.stop_processing()
    active.destroy_node()


def frame_bytes(stamp_s: int) -> bytes:
    image, _ = render_scene(np.random.default_rng(stamp_s), 640, 480)
    msg = frame_to_image(image, Image().header)
    msg.header.stamp.sec = stamp_s
    return serialize_message(msg)


def processed_and_dropped(node) -> tuple[int, int]:
    return node._stats.snapshot([0], [0])[0].processed, node._queue.dropped[0]


def test_a_result_older_than_a_published_one_is_dropped_and_counted(node):
    runtime = node._runtime
    older, newer = PendingFrame(0, frame_bytes(1), time.monotonic()), PendingFrame(0, frame_bytes(2), time.monotonic())
    processed, dropped = processed_and_dropped(node)
    node._process_batch(runtime, [newer])
    node._process_batch(runtime, [older])  # finished after the newer one: must not be published
    assert processed_and_dropped(node) == (processed + 1, dropped + 1)


def test_workers_in_parallel_account_for_every_frame_in_order(node):
    runtime = node._runtime
    published: list[int] = []
    publisher = node._detection_publishers[0]
    original = publisher.publish

    def record(message: bytes):  # the Detection2DArray's CDR bytes (ssd_ros.detection_cdr)
        published.append(parse_camera_header(message).stamp.sec)
        original(message)

    publisher.publish = record
    frames = [PendingFrame(0, frame_bytes(second), time.monotonic()) for second in range(1, 25)]
    processed, dropped = processed_and_dropped(node)
    cursor = iter(frames)
    lock = threading.Lock()

    def work():
        while True:
            with lock:  # taken in order, as LatestFrameQueue hands frames out
                pending = next(cursor, None)
            if pending is None:
                return
            node._process_batch(runtime, [pending])

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done, skipped = processed_and_dropped(node)
    assert (done - processed) + (skipped - dropped) == len(frames)
    assert published == sorted(published) and len(published) == done - processed
