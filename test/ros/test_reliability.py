"""Issue 13 over real DDS: nothing stops the node, and nothing bad looks good.

Each test starts the real node process (the embedded default model, no ../shared needed) and
reproduces one finding of the issue: a model whose labels do not match its outputs or that cannot
run a frame must be refused at the swap with the old model kept serving; one set_parameters request
with two model parameters must give one configure attempt (no busy retry loop, no log flood); a
PNG decompression bomb must be refused from its header with memory bounded even while someone
subscribes to debug_image; failures are counted by kind on /diagnostics and logged once per kind.
"""
from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from model_faults import default_model_sidecar, describe, dynamic_ssd
from node_fixtures import detector_process, set_parameter, set_parameters
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image
from test_detector_node import Listener, largest_count, publish_until_answered, stamped

from ssd_ros.ros.conversions import frame_to_image
from ssd_ros.synthetic import render_scene
from ssd_ros_msgs.srv import Detect

pytestmark = pytest.mark.ros


@pytest.fixture(scope="module")
def scene_frame() -> Image:
    image, _ = render_scene(np.random.default_rng(3), 320, 240)
    return frame_to_image(image, stamped(Image(), 0).header)


def call_detect(graph, client_node, request: Detect.Request, timeout: float = 30.0) -> Detect.Response:
    client = graph.service_client(client_node, Detect, "detect", Detect.Request())  # no image: refused, no effect
    future = client.call_async(request)
    graph.spin_until(future.done, timeout, "the detect response")
    client_node.destroy_client(client)
    return future.result()


def test_models_that_cannot_serve_are_refused_and_the_old_model_keeps_serving(graph, tmp_path, scene_frame):
    """Findings 1 and 4: a label list shorter than the score columns (static and dynamic shapes), a
    declared input size the graph does not take, a non-SSD graph: each refused with a reason."""
    short_labels = default_model_sidecar(tmp_path / "short_labels.yaml", labels=["background", "circle", "square"])
    wrong_size = default_model_sidecar(tmp_path / "wrong_size.yaml", input_changes={"width": 300, "height": 300})
    dynamic = dynamic_ssd(tmp_path / "dynamic.onnx", columns=5)
    dynamic_short = describe(dynamic, ["background", "a", "b"])
    listener = Listener(graph, ["detections"])
    camera = graph.node("test_camera")
    publisher = camera.create_publisher(Image, "image", qos_profile_sensor_data)
    with detector_process(tmp_path) as process:
        first = publish_until_answered(graph, publisher, listener, "detections", stamped(scene_frame, 1), "a frame")
        assert len(first.detections) > 0
        for values in ({"model_config": str(short_labels)}, {"model_config": str(wrong_size)},
                       {"model_path": str(dynamic), "model_config": str(dynamic_short)}):
            results = set_parameters(graph, camera, "ssd_detector", values)
            assert not all(result.successful for result in results), f"{values} was accepted"
            reason = " ".join(result.reason for result in results)
            assert "keeping the current" in reason, reason
        for index in range(2, 5):  # the old model still answers every frame, and the service answers too
            again = publish_until_answered(graph, publisher, listener, "detections", stamped(scene_frame, index),
                                           f"frame {index} after the refused swaps")
            assert len(again.detections) == len(first.detections)
        response = call_detect(graph, camera, Detect.Request(image=stamped(scene_frame, 9)))
        assert response.success and len(response.detections.detections) == len(first.detections)
        assert process.poll() is None


def test_one_request_with_two_model_parameters_retries_once(graph, tmp_path, scene_frame):
    """Finding 2: a node whose start-up model failed gets model_path and model_config in one request."""
    log = tmp_path / "ssd_detector.log"
    missing = tmp_path / "missing.onnx"
    broken_config = tmp_path / "broken.yaml"
    broken_config.write_text("input: [not, a, mapping]\n")
    listener = Listener(graph, ["detections"])
    camera = graph.node("test_camera")
    publisher = camera.create_publisher(Image, "image", qos_profile_sensor_data)
    with detector_process(tmp_path, "-p", f"model_path:={missing}", ready=False) as process:
        deadline = time.monotonic() + 60
        while "cannot configure" not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        # Two bad model parameters in one request: exactly one more configure attempt, then quiet.
        results = set_parameters(graph, camera, "ssd_detector", {
            "model_path": str(tmp_path / "still_missing.onnx"), "model_config": str(broken_config)})
        assert all(result.successful for result in results)
        graph.spin_until(lambda: log.read_text().count("cannot configure") >= 2, 30, "the retry")
        graph.spin_for(3.0)
        text = log.read_text()
        assert text.count("cannot configure") == 2, f"{text.count('cannot configure')} attempts:\n{text[-2000:]}"
        assert len(text.splitlines()) < 50, f"the log keeps growing: {len(text.splitlines())} lines"
        # Then two good values in one request: configured once, frames answered.
        results = set_parameters(graph, camera, "ssd_detector", {"model_path": "", "model_config": ""})
        assert all(result.successful for result in results)
        result = publish_until_answered(graph, publisher, listener, "detections", stamped(scene_frame, 5),
                                        "a frame after the fix")
        assert len(result.detections) > 0
        graph.spin_for(1.0)
        assert log.read_text().count("configured:") == 1


def _peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/PID/status")


def test_a_png_bomb_is_refused_from_its_header_and_memory_stays_bounded(graph, tmp_path, scene_frame):
    """Finding 3: 12000 x 12000 black pixels in a ~150 KB PNG (432 MB once decoded), debug_image watched."""
    from fuzz_inputs import png_bomb

    bomb = CompressedImage(format="png", data=png_bomb(12000, 12000))
    good = CompressedImage(format="png", data=cv2.imencode(".png", np.asarray(
        render_scene(np.random.default_rng(4), 320, 240)[0])[:, :, ::-1])[1].tobytes())
    listener = Listener(graph, ["detections"])
    camera = graph.node("test_camera")
    publisher = camera.create_publisher(CompressedImage, "image/compressed", qos_profile_sensor_data)
    debug_images: list[Image] = []
    camera.create_subscription(Image, "debug_image", debug_images.append, qos_profile_sensor_data)
    diagnostics: list[DiagnosticArray] = []
    camera.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, 10)
    with detector_process(tmp_path, "-p", "image_transport:=compressed") as process:
        publish_until_answered(graph, publisher, listener, "detections", stamped(good, 1), "a first frame")
        graph.spin_until(lambda: debug_images, 30, "a debug image")
        debug = debug_images[0]  # written as CDR bytes by the node (camera_cdr.image_cdr)
        assert (debug.header.stamp.sec, debug.width, debug.height, debug.step, len(debug.data)) == (
            1001, 320, 240, 960, 320 * 240 * 3) and debug.encoding in ("rgb8", "bgr8")
        before = _peak_memory_mb(process.pid)
        for index in range(3):
            publisher.publish(stamped(bomb, 10 + index))
            graph.spin_for(0.3)
        after_bombs = publish_until_answered(graph, publisher, listener, "detections", stamped(good, 20),
                                             "a frame after the bombs")
        assert after_bombs.header.stamp.sec == 1020
        growth = _peak_memory_mb(process.pid) - before
        assert growth < 200, f"peak memory grew by {growth:.0f} MB: the bomb was decoded"
        graph.spin_until(lambda: largest_count(diagnostics, "frames failed: frame too large") >= 1, 15,
                         "/diagnostics counting the bombs")
    log = (tmp_path / "ssd_detector.log").read_text()
    assert log.count("skipped (frame too large)") == 1, log[-2000:]


def test_failures_over_dds_are_counted_by_kind_logged_once_and_the_node_goes_on(graph, tmp_path, scene_frame):
    """A smaller fuzz run over real DDS: malformed Images and CompressedImages between good frames."""
    from fuzz_inputs import compressed_case, image_case, png_bomb

    rng = np.random.default_rng(21)
    bomb = png_bomb(8000, 6000)
    listener = Listener(graph, ["detections", "compressed_detections"])
    camera = graph.node("test_camera")
    raw = camera.create_publisher(Image, "image", qos_profile_sensor_data)
    compressed = camera.create_publisher(CompressedImage, "image/compressed", qos_profile_sensor_data)
    diagnostics: list[DiagnosticArray] = []
    camera.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, 10)
    good_compressed = CompressedImage(format="jpeg", data=cv2.imencode(".jpg", np.asarray(
        render_scene(np.random.default_rng(5), 320, 240)[0]))[1].tobytes())
    with detector_process(tmp_path) as raw_node, \
            detector_process(tmp_path, "-p", "image_transport:=compressed", "-r", "detections:=compressed_detections",
                             name="compressed_detector") as compressed_node:
        publish_until_answered(graph, raw, listener, "detections", stamped(scene_frame, 1), "raw")
        publish_until_answered(graph, compressed, listener, "compressed_detections", stamped(good_compressed, 2),
                               "compressed")
        for index in range(300):
            if index % 3:
                _, msg = image_case(rng, Image)
                if "\x00" in msg.encoding:
                    continue  # DDS strings end at NUL
                raw.publish(stamped(msg, 100 + index))
            else:
                _, msg = compressed_case(rng, CompressedImage, bomb)
                if "\x00" in msg.format:
                    continue
                compressed.publish(stamped(msg, 100 + index))
            graph.spin_for(0.01)
        publish_until_answered(graph, raw, listener, "detections", stamped(scene_frame, 500), "raw after the fuzz")
        publish_until_answered(graph, compressed, listener, "compressed_detections", stamped(good_compressed, 501),
                               "compressed after the fuzz")
        graph.spin_until(lambda: largest_count(diagnostics, "frames with bad input") >= 10, 20,
                         "/diagnostics counting bad frames")
        assert raw_node.poll() is None and compressed_node.poll() is None
        flagged = [status.message for array in diagnostics for status in array.status
                   if status.level in (DiagnosticStatus.WARN, DiagnosticStatus.ERROR)]
        assert any("frames failed" in message for message in flagged), flagged[-5:]
    for log_name in ("ssd_detector.log", "compressed_detector.log"):
        log = (tmp_path / log_name).read_text()
        skipped = [line for line in log.splitlines() if "skipped (" in line]
        kinds = [line.split("skipped (")[1].split(")")[0] for line in skipped]
        assert len(kinds) == len(set(kinds)), f"{log_name} logged a kind more than once: {kinds}"
        assert "never retrieved" not in log and "Traceback" not in log, log[-3000:]
        assert max((len(line) for line in log.splitlines()), default=0) < 2000, "an unbounded log line"


PARAMETER_CASES = [
    ("score_threshold", 1.5), ("score_threshold", -0.1), ("score_threshold", float("nan")), ("score_threshold", "x"),
    ("nms_iou_threshold", 2.0), ("max_detections", 0), ("max_detections", 10**9), ("max_detections", 1.5),
    ("top_k_candidates", -3), ("classes", ["background"]), ("classes", ["0"]), ("classes", ["\u00b2"]),
    ("classes", ["hexagon"]), ("classes", [""]), ("classes", "circle"), ("label_as_id", "yes"),
    ("publish_debug_image", 3), ("max_image_pixels", 0), ("max_image_pixels", -5), ("max_image_pixels", "big"),
    ("backend", "tflite"), ("backend", "torch"), ("device", "cuda:7"), ("precision", "int4"),
    ("num_threads", -5), ("num_threads", 100000), ("model_path", "/dev/zero"), ("model_path", "/tmp"),
    ("model_path", "x" * 3000), ("model_path", "/tmp/" + "y" * 250 + ".onnx"), ("model_config", "/nonexistent.yaml"),
    ("image_topics", ["a", "b"]),
    ("image_transport", "compressed"), ("max_batch_size", 8), ("autostart", False), ("diagnostics_period", 0.0),
    ("inference_workers", 2), ("inference_workers", 0),
    ("engine_cache_dir", "/proc/none"), ("cpu_spin_wait", "no"),
]


def test_parameter_fuzz_through_the_parameter_service(graph, tmp_path, scene_frame):
    """Every value a user could send gets an answer with a reason; the node serves throughout."""
    rng = np.random.default_rng(8)
    listener = Listener(graph, ["detections"])
    camera = graph.node("test_camera")
    publisher = camera.create_publisher(Image, "image", qos_profile_sensor_data)
    cases = list(PARAMETER_CASES) + [(name, value) for name, value in
                                     (("score_threshold", float(rng.uniform(-2, 3))) for _ in range(10))]
    with detector_process(tmp_path) as process:
        publish_until_answered(graph, publisher, listener, "detections", stamped(scene_frame, 1), "a first frame")
        answers = {}
        for name, value in cases:
            result = set_parameter(graph, camera, "ssd_detector", name, value)
            answers[(name, repr(value)[:40])] = result.successful
            if not result.successful:
                assert result.reason, f"{name}={value!r} refused without a reason"
                assert len(result.reason) < 2000
        refused = [key for key, ok in answers.items() if not ok]
        assert ("classes", "['background']") in refused and ("classes", "['0']") in refused
        assert ("classes", "['²']") in refused and ("max_image_pixels", "0") in refused
        assert ("model_path", "'/dev/zero'") in refused and ("model_path", "'/tmp'") in refused
        assert set_parameter(graph, camera, "ssd_detector", "score_threshold", 0.5).successful
        result = publish_until_answered(graph, publisher, listener, "detections", stamped(scene_frame, 2),
                                        "a frame after the parameter fuzz")
        assert len(result.detections) > 0
        assert process.poll() is None
    log = (tmp_path / "ssd_detector.log").read_text()
    assert "Traceback" not in log and "never retrieved" not in log, log[-3000:]
