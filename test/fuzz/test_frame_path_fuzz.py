"""Fuzzing the node's frame path in-process: thousands of malformed inputs through the node's own code.

A real DetectorNode (the default model, configured and active, on the test's own ROS context) gets
each generated Image / CompressedImage, serialised as a raw subscription receives it (one in ten
then cut short or with bytes of its header and size fields overwritten), through ``_process_batch``
(what its worker thread runs for every frame) and each Detect request through ``_on_detect_request``
(the service callback). The properties checked for every case:
- nothing raises out of the frame path or the service;
- every frame is accounted for: published, or failed and counted by kind, exactly once;
- malformed input is recognised as such (kinds "bad input" / "frame too large"): no frame fails
  as "inference failed", "decoding failed", "output message failed" or "internal error", which
  would mean an input the conversion code does not understand;
- a frame announcing more pixels than ``max_image_pixels`` is refused before decoding (the PNG
  bombs decode to 144 MB; the process's peak memory stays far below what decoding them would take);
- every Detect request gets a response, success or a reason.

Case counts: ``SSD_ROS_FUZZ_CASES`` (default 10,000 in all: 6,000 Images, 3,000 CompressedImages,
1,000 Detect requests); ``make fuzz`` runs ten times as many. Seeded: ``SSD_ROS_FUZZ_SEED``.
"""
from __future__ import annotations

import os
import resource
import time

import numpy as np
import pytest
from fuzz_inputs import compressed_case, detect_case, image_case, png_bomb
from rclpy.serialization import serialize_message
from sensor_msgs.msg import CompressedImage, Image

from ssd_ros.ros.frame_queue import PendingFrame
from ssd_ros_msgs.srv import Detect

pytestmark = pytest.mark.ros

CASES = int(os.environ.get("SSD_ROS_FUZZ_CASES", "10000"))
SEED = int(os.environ.get("SSD_ROS_FUZZ_SEED", "13"))
MALFORMED_KINDS = {"bad input", "frame too large"}


@pytest.fixture(scope="module")
def small_bomb() -> bytes:
    return png_bomb(8000, 6000)  # 48 MP: over the default 40 MP limit; ~50 KB of PNG, 144 MB decoded


@pytest.fixture
def node(ros_context):
    from ssd_ros.ros.detector_node import DetectorNode

    detector_node = DetectorNode(context=ros_context)
    detector_node.trigger_configure()
    assert detector_node._runtime is not None, "the default model must configure"
    detector_node.trigger_activate()
    yield detector_node
    detector_node.stop_processing()
    detector_node.destroy_node()


def corrupt_bytes(rng: np.random.Generator, name: str, raw: bytes) -> tuple[str, bytes]:
    if rng.random() < 0.5:
        end = int(rng.integers(0, len(raw)))
        return f"{name} cut to {end} bytes", raw[:end]
    position = int(rng.integers(0, min(len(raw), 64)))  # the header and the size fields
    patched = bytearray(raw)
    patched[position:position + 4] = rng.integers(0, 256, 4, dtype=np.uint8).tobytes()
    return f"{name} bytes {position}.. overwritten", bytes(patched[:len(raw)])


def _counts(node) -> tuple[int, dict[str, int]]:
    report = node._stats.snapshot([0], [0])[0]
    return report.processed, dict(report.failed)


def test_malformed_frames_never_escape_the_frame_path(node, small_bomb):
    rng = np.random.default_rng(SEED)
    runtime = node._runtime
    images, compressed = CASES * 6 // 10, CASES * 3 // 10
    sent: dict[str, int] = {}
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    for index in range(images + compressed):
        if index < images:
            name, msg = image_case(rng, Image)
        else:
            name, msg = compressed_case(rng, CompressedImage, small_bomb)
        raw = serialize_message(msg)  # what the node's raw subscriptions receive
        if index % 10 == 9:  # bytes a broken publisher could send: cut short or with an overwritten field
            name, raw = corrupt_bytes(rng, name, raw)
        kind = name.split(" ")[0]
        sent[kind] = sent.get(kind, 0) + 1
        try:
            node._process_batch(runtime, [PendingFrame(0, raw, time.monotonic())])
        except Exception as error:  # the property under test: this never happens
            pytest.fail(f"case {index} ({name}, seed {SEED}) escaped the frame path: {error!r}")
    processed, failed = _counts(node)
    total = images + compressed
    assert processed + sum(failed.values()) == total, (processed, failed, total)
    assert set(failed) <= MALFORMED_KINDS, f"frames failed for reasons other than bad input: {failed}"
    assert failed.get("frame too large", 0) > 0 and failed.get("bad input", 0) > total // 2, failed
    assert processed > 0, "some generated frames are valid and must be published"
    peak_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert peak_growth_mb < 140, f"peak memory grew by {peak_growth_mb:.0f} MB: a bomb was decoded?"
    print(f"\n{total} frames ({sent}) in {time.monotonic() - started:.1f} s: {processed} published, failed {failed}")


def test_every_detect_request_gets_an_answer(node, small_bomb):
    rng = np.random.default_rng(SEED + 1)
    requests = max(CASES // 10, 1)
    answers = {True: 0, False: 0}
    for index in range(requests):
        name, request = detect_case(rng, Detect.Request, Image, CompressedImage, small_bomb)
        try:
            response = node._on_detect_request(request, Detect.Response())
        except Exception as error:
            pytest.fail(f"detect case {index} ({name}, seed {SEED + 1}) raised: {error!r}")
        assert isinstance(response, Detect.Response), name
        assert response.success or response.message.startswith("bad request image"), (name, response.message)
        answers[bool(response.success)] += 1
    assert answers[True] > 0 and answers[False] > 0, answers


def test_failures_of_every_severity_are_logged_and_counted(node):
    """Found in CI: the first input failure (a warning) and then an unexpected error from the same logging
    call made rclpy raise 'Logger severity cannot be changed between calls', which killed the worker."""
    from ssd_ros.camera_frames import FrameError

    node._report_failure(0, "bad input", FrameError("a malformed frame"))
    node._report_failure(0, "internal error", RuntimeError("something unexpected"))
    node._report_failure(0, "inference failed", ValueError("the backend refused"))
    assert _counts(node)[1] == {"bad input": 1, "internal error": 1, "inference failed": 1}
