"""The detector node in its own process, driven over real DDS like other ROS nodes would drive it.

Model and frames: the project's embedded default model on a generated scene, so every clone runs these
tests (the third-party UltraFace detector on real photos is tested in test/unit, where ../shared exists).
What the node must find is what the core Detector finds in-process on the same pixels: the node adds
transport, decoding and message building, and must change nothing else.
"""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from node_fixtures import detector_process, set_parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image
from vision_msgs.msg import Detection2DArray, LabelInfo

from ssd_ros.core import Detector, PostprocessConfig
from ssd_ros.resources import default_model_path
from ssd_ros.ros.conversions import frame_to_image
from ssd_ros.ros.params import PARAMETERS_BY_NAME
from ssd_ros.synthetic import render_scene
from ssd_ros_msgs.msg import ModelInfo
from ssd_ros_msgs.srv import Detect

pytestmark = pytest.mark.ros
LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE)


NODE_POST = PostprocessConfig(score_threshold=PARAMETERS_BY_NAME["score_threshold"].default,
                              nms_iou_threshold=PARAMETERS_BY_NAME["nms_iou_threshold"].default)


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector.load(None)


@pytest.fixture(scope="module")
def scene(tmp_path_factory, detector) -> dict:
    """A generated scene in which the default model finds several objects, and what it finds."""
    rng = np.random.default_rng(17)
    for _ in range(50):
        rgb, objects = render_scene(rng, 360, 272)
        found = detector.detect(rgb, "rgb", NODE_POST)
        if len(found) >= 2 and len(found) == len(objects):
            break
    else:
        raise AssertionError("no generated scene in which the default model finds every object")
    model = str(default_model_path())
    bad_model = tmp_path_factory.mktemp("bad") / "notes.onnx"
    bad_model.write_text("not a model\n")
    return {
        "model": model,
        "settings": [],  # everything but the model path: the node's defaults
        "args": ["-p", f"model_path:={model}"],
        "bad_model": str(bad_model),
        "rgb": rgb,
        "objects": len(found),
        "names": sorted(found.label_names),
        "ids": sorted(str(class_id) for class_id in found.class_ids.tolist()),
    }


def expected_names(detector: Detector, rgb: np.ndarray) -> list[str]:
    return sorted(detector.detect(rgb, "rgb", NODE_POST).label_names)


def seen_as(rgb: np.ndarray, encoding: str) -> np.ndarray:
    """What an encoding keeps of an RGB frame, decoded back by OpenCV (independently of the node)."""
    if encoding in ("mono8", "mono16"):
        return cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    if encoding in ("yuv422", "yuv422_yuy2"):
        packed = np.frombuffer(encode(rgb, encoding).data, np.uint8).reshape(rgb.shape[0], rgb.shape[1], 2)
        return cv2.cvtColor(packed, cv2.COLOR_YUV2RGB_UYVY if encoding == "yuv422" else cv2.COLOR_YUV2RGB_YUY2)
    return rgb


def encode(rgb: np.ndarray, encoding: str) -> Image:
    """A frame in one of the node's input encodings, built independently of the node's decoder."""
    if encoding in ("rgb8", "bgr8", "rgba8", "bgra8"):
        pixels = rgb if encoding.startswith("rgb") else rgb[:, :, ::-1]
        if encoding.endswith("a8"):
            pixels = np.dstack([pixels, np.full(rgb.shape[:2], 255, np.uint8)])
        channels = pixels.shape[2]
    elif encoding == "mono8":
        pixels, channels = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), 1
    elif encoding == "mono16":
        pixels, channels = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype("<u2") * 257, 2
    else:
        yuv = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV)
        y, u, v = yuv[:, :, 0], yuv[:, 0::2, 1], yuv[:, 0::2, 2]
        packed = np.zeros((rgb.shape[0], rgb.shape[1] * 2), np.uint8)
        order = (u, y[:, 0::2], v, y[:, 1::2]) if encoding == "yuv422" else (y[:, 0::2], u, y[:, 1::2], v)
        for offset, plane in enumerate(order):
            packed[:, offset::4] = plane
        pixels, channels = packed, 2
    data = np.ascontiguousarray(pixels).view(np.uint8).tobytes()
    return Image(height=rgb.shape[0], width=rgb.shape[1], encoding=encoding, step=rgb.shape[1] * channels,
                 data=data)


def largest_count(diagnostics: list[DiagnosticArray], key: str) -> int:
    """The largest value of a counter (a DiagnosticStatus key) in the /diagnostics received so far."""
    return max((int({kv.key: kv.value for kv in status.values}.get(key, 0))
                for array in diagnostics for status in array.status), default=0)


def stamped(msg, index: int, frame_id: str = "camera_optical"):
    msg.header.frame_id = frame_id
    msg.header.stamp.sec, msg.header.stamp.nanosec = 1000 + index, 12345
    return msg


class Listener:
    """Collects Detection2DArray messages by topic."""

    def __init__(self, graph, topics: list[str]) -> None:
        self.graph = graph
        self.node = graph.node("test_listener")
        self.received: dict[str, list[Detection2DArray]] = {topic: [] for topic in topics}
        self.arrival: dict[tuple[int, int], float] = {}  # stamp -> time.monotonic() at receipt
        for topic in topics:
            self.node.create_subscription(Detection2DArray, topic,
                                          lambda msg, topic=topic: self._store(topic, msg), 50)

    def _store(self, topic: str, msg: Detection2DArray) -> None:
        self.arrival[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = time.monotonic()
        self.received[topic].append(msg)

    def wait_for(self, topic: str, predicate, what: str, timeout: float = 30.0) -> Detection2DArray:
        found: list[Detection2DArray] = []

        def done() -> bool:
            found[:] = [msg for msg in self.received[topic] if predicate(msg)]
            return bool(found)

        self.graph.spin_until(done, timeout, what)
        return found[0]


def publish_until_answered(graph, publisher, listener, topic, msg, what, timeout=60.0) -> Detection2DArray:
    """Publish ``msg`` (best effort, like a camera) until its detections come back."""
    stamp = (msg.header.stamp.sec, msg.header.stamp.nanosec)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        publisher.publish(msg)
        try:
            return listener.wait_for(topic, lambda m: (m.header.stamp.sec, m.header.stamp.nanosec) == stamp,
                                     what, timeout=1.0)
        except AssertionError:
            continue
    raise AssertionError(f"no answer for {what} within {timeout} s")


def test_every_encoding_and_compressed_images_come_back_with_their_header(graph, tmp_path, scene, detector):
    listener = Listener(graph, ["detections", "compressed_detections"])
    camera = graph.node("test_camera")
    raw = camera.create_publisher(Image, "image", qos_profile_sensor_data)
    compressed = camera.create_publisher(CompressedImage, "image/compressed", qos_profile_sensor_data)
    with detector_process(tmp_path, *scene["args"]), \
            detector_process(tmp_path, *scene["args"], "-p", "image_transport:=compressed",
                             "-r", "detections:=compressed_detections", name="compressed_detector"):
        encodings = ["rgb8", "bgr8", "rgba8", "bgra8", "mono8", "mono16", "yuv422", "yuv422_yuy2"]
        for index, encoding in enumerate(encodings):
            result = publish_until_answered(graph, raw, listener, "detections",
                                            stamped(encode(scene["rgb"], encoding), index), encoding)
            assert result.header.frame_id == "camera_optical"
            names = sorted(d.results[0].hypothesis.class_id for d in result.detections)
            assert names == expected_names(detector, seen_as(scene["rgb"], encoding)), encoding
            assert all(d.header == result.header for d in result.detections)
        for index, extension in enumerate([".jpg", ".png"], start=100):
            _, data = cv2.imencode(extension, scene["rgb"][:, :, ::-1])
            msg = stamped(CompressedImage(format=extension[1:], data=data.tobytes()), index, "compressed_frame")
            result = publish_until_answered(graph, compressed, listener, "compressed_detections", msg, extension)
            assert result.header.frame_id == "compressed_frame"
            decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1]
            assert sorted(d.results[0].hypothesis.class_id for d in result.detections) == expected_names(
                detector, np.ascontiguousarray(decoded)), extension


def test_parameters_change_results_reject_bad_values_and_keep_the_model(graph, tmp_path, scene):
    listener = Listener(graph, ["detections"])
    camera = graph.node("test_camera")
    publisher = camera.create_publisher(Image, "image", qos_profile_sensor_data)
    frame = frame_to_image(scene["rgb"], stamped(Image(), 0).header)
    with detector_process(tmp_path, *scene["args"]):
        first = publish_until_answered(graph, publisher, listener, "detections", stamped(frame, 1), "first frame")
        assert len(first.detections) == scene["objects"]

        result = set_parameter(graph, camera, "ssd_detector", "score_threshold", 1.7)
        assert not result.successful and "score_threshold" in result.reason and "1.7" in result.reason

        result = set_parameter(graph, camera, "ssd_detector", "classes", ["person"])
        assert not result.successful and "person" in result.reason and scene["names"][0] in result.reason

        result = set_parameter(graph, camera, "ssd_detector", "model_path", scene["bad_model"])
        assert not result.successful and "keeping the current one" in result.reason
        still = publish_until_answered(graph, publisher, listener, "detections", stamped(frame, 2), "old model")
        assert len(still.detections) == scene["objects"]

        assert set_parameter(graph, camera, "ssd_detector", "score_threshold", 1.0).successful
        none = publish_until_answered(graph, publisher, listener, "detections", stamped(frame, 3), "threshold 1.0")
        assert len(none.detections) == 0

        assert set_parameter(graph, camera, "ssd_detector", "label_as_id", True).successful
        assert set_parameter(graph, camera, "ssd_detector", "score_threshold", NODE_POST.score_threshold).successful
        numeric = publish_until_answered(graph, publisher, listener, "detections", stamped(frame, 4), "ids")
        assert sorted(d.results[0].hypothesis.class_id for d in numeric.detections) == scene["ids"]


def test_two_cameras_share_one_node_and_keep_their_headers(graph, tmp_path, scene):
    listener = Listener(graph, ["/left/detections", "/right/detections"])
    camera = graph.node("test_cameras")
    left = camera.create_publisher(Image, "/left/image_raw", qos_profile_sensor_data)
    right = camera.create_publisher(Image, "/right/image_raw", qos_profile_sensor_data)
    empty = np.zeros((240, 320, 3), np.uint8)
    with detector_process(tmp_path, *scene["args"], "-p", "image_topics:=['/left/image_raw','/right/image_raw']"):
        faces = publish_until_answered(graph, left, listener, "/left/detections",
                                       stamped(frame_to_image(scene["rgb"], stamped(Image(), 0).header), 7,
                                               "left_optical"), "left camera")
        nothing = publish_until_answered(graph, right, listener, "/right/detections",
                                         stamped(frame_to_image(empty, stamped(Image(), 0).header), 8,
                                                 "right_optical"), "right camera")
    assert (faces.header.frame_id, faces.header.stamp.sec, len(faces.detections)) == ("left_optical", 1007,
                                                                                      scene["objects"])
    assert (nothing.header.frame_id, nothing.header.stamp.sec, len(nothing.detections)) == ("right_optical", 1008, 0)


def test_bad_frames_are_reported_and_the_node_keeps_going(graph, tmp_path, scene):
    listener = Listener(graph, ["detections"])
    node = graph.node("test_camera")
    publisher = node.create_publisher(Image, "image", qos_profile_sensor_data)
    diagnostics: list[DiagnosticArray] = []
    node.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, 10)
    bad_frames = [
        Image(height=4, width=4, encoding="bayer_rggb8", step=4, data=bytes(16)),
        Image(height=10, width=10, encoding="rgb8", step=30, data=bytes(100)),
        Image(height=0, width=0, encoding="rgb8", step=0, data=b""),
    ]
    good = frame_to_image(scene["rgb"], stamped(Image(), 0).header)
    with detector_process(tmp_path, *scene["args"]) as process:
        # Best-effort frames published before both sides matched are lost: first one answered frame.
        publish_until_answered(graph, publisher, listener, "detections", stamped(good, 49), "a first good frame")
        for index, bad in enumerate(bad_frames):
            publisher.publish(stamped(bad, index))
            graph.spin_for(0.05)
        result = publish_until_answered(graph, publisher, listener, "detections", stamped(good, 50), "a good frame")
        assert len(result.detections) == scene["objects"]

        graph.spin_until(lambda: largest_count(diagnostics, "frames with bad input") >= 1, 15,
                         "/diagnostics counting bad frames")
        assert process.poll() is None
    log = (tmp_path / "ssd_detector.log").read_text()
    assert "frame on /image skipped" in log


def test_latched_descriptions_and_the_detect_service(graph, tmp_path, scene, detector):
    client_node = graph.node("test_client")
    with detector_process(tmp_path, *scene["args"]):
        label_info: list[LabelInfo] = []
        model_info: list[ModelInfo] = []
        client_node.create_subscription(LabelInfo, "label_info", label_info.append, LATCHED)
        client_node.create_subscription(ModelInfo, "model_info", model_info.append, LATCHED)
        graph.spin_until(lambda: label_info and model_info, 30, "latched label_info and model_info")
        labels = detector.spec.labels
        assert [(c.class_id, c.class_name) for c in label_info[0].class_map] == [
            (index, name) for index, name in enumerate(labels) if index != detector.spec.background_index]
        assert list(model_info[0].labels) == list(labels)
        assert (model_info[0].input_width, model_info[0].input_height) == (detector.spec.input.width,
                                                                           detector.spec.input.height)
        assert model_info[0].model_sha256 == detector.model_sha256 and model_info[0].backend

        client = graph.service_client(client_node, Detect, "detect", Detect.Request())  # no image: refused
        request = Detect.Request(image=frame_to_image(scene["rgb"], stamped(Image(), 9).header))
        future = client.call_async(request)
        graph.spin_until(future.done, 30, "the detect response")
        response = future.result()
        assert response.success and len(response.detections.detections) == scene["objects"]
        assert response.detections.header.stamp.sec == 1009

        broken = Detect.Request(compressed_image=CompressedImage(format="jpeg", data=b"\xff\xd8garbage"))
        future = client.call_async(broken)
        graph.spin_until(future.done, 30, "the detect response to a corrupt image")
        assert not future.result().success and "could not decode" in future.result().message


@pytest.fixture(scope="module")
def heavy_model(tmp_path_factory):
    """SSD300-VGG16 (random weights): ~100+ ms per frame on these CPUs, so a camera can outrun it."""
    pytest.importorskip("torch")
    from torchvision_reference import export_raw_onnx, random_ssd

    path = tmp_path_factory.mktemp("heavy") / "ssd300.onnx"
    export_raw_onnx(random_ssd("ssd300", 21, seed=0, calibration_batches=1), "ssd300", path)
    return path


def test_overload_keeps_latency_bounded_and_reports_drops(graph, tmp_path, heavy_model):
    listener = Listener(graph, ["detections"])
    node = graph.node("test_fast_camera")
    publisher = node.create_publisher(Image, "image", qos_profile_sensor_data)
    diagnostics: list[DiagnosticArray] = []
    node.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, 10)
    frame = frame_to_image(np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8),
                           stamped(Image(), 0).header)
    with detector_process(tmp_path, "-p", f"model_path:={heavy_model}", "-p", "score_threshold:=0.3",
                          "-p", "publish_debug_image:=false"):
        publish_until_answered(graph, publisher, listener, "detections", stamped(frame, 0), "a first frame")
        # A 20 Hz camera: more than twice what SSD300 manages on these CPUs (>= 100 ms per frame).
        sent_at: dict[int, float] = {}
        index = 100
        end = time.monotonic() + 8.0
        while time.monotonic() < end:
            publisher.publish(stamped(frame, index))
            sent_at[1000 + index] = time.monotonic()
            index += 1
            graph.spin_for(0.05)
        graph.spin_until(lambda: largest_count(diagnostics, "frames dropped (newer frame arrived first)") > 0,
                         timeout=15, what="/diagnostics reporting dropped frames")

    answered = [msg for msg in listener.received["detections"] if msg.header.stamp.sec in sent_at]
    sent = index - 100
    assert len(answered) >= 5 and sent >= 1.8 * len(answered), (
        f"not overloaded: {sent} frames sent, {len(answered)} processed")
    stamps = [msg.header.stamp.sec for msg in answered]
    assert stamps == sorted(stamps), "results come in frame order"
    latency = [listener.arrival[(msg.header.stamp.sec, msg.header.stamp.nanosec)] - sent_at[msg.header.stamp.sec]
               for msg in answered]
    # Bounded: the node always takes the newest frame, so latency stays near one processing period
    # instead of growing with a queue over the whole run.
    period = 8.0 / len(answered)  # the node's own processing period under this load
    assert max(latency[len(latency) // 2:]) < 4 * period + 0.5, (period, latency)
    assert np.median(latency[len(latency) // 2:]) < 2 * np.median(latency[: len(latency) // 2]) + 0.2


def test_a_broken_start_up_model_is_reported_and_fixed_at_runtime(graph, tmp_path, scene):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x08\x01truncated model" * 20)
    listener = Listener(graph, ["detections"])
    camera = graph.node("test_camera")
    publisher = camera.create_publisher(Image, "image", qos_profile_sensor_data)
    with detector_process(tmp_path, "-p", f"model_path:={broken}", *scene["settings"], ready=False) as process:
        log = tmp_path / "ssd_detector.log"
        deadline = time.monotonic() + 60
        while "cannot configure" not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        assert "broken.onnx" in log.read_text() and "ros2 param set" in log.read_text()
        assert set_parameter(graph, camera, "ssd_detector", "model_path", scene["model"]).successful
        frame = frame_to_image(scene["rgb"], stamped(Image(), 0).header)
        result = publish_until_answered(graph, publisher, listener, "detections", stamped(frame, 5), "after the fix")
        assert len(result.detections) == scene["objects"]


def change_state(graph, client_node, node_name: str, transition_id: int) -> bool:
    """What ``ros2 lifecycle set /node <transition>`` does."""
    from lifecycle_msgs.srv import ChangeState, GetState

    graph.service_client(client_node, GetState, f"/{node_name}/get_state", GetState.Request())  # answered once
    client = client_node.create_client(ChangeState, f"/{node_name}/change_state")
    request = ChangeState.Request()
    request.transition.id = transition_id
    future = client.call_async(request)
    graph.spin_until(future.done, timeout=120, what=f"lifecycle transition {transition_id}")
    client_node.destroy_client(client)
    return future.result().success


def test_lifecycle_transitions_stop_and_restart_detection_while_frames_keep_coming(graph, tmp_path, scene):
    """ros2 lifecycle set deactivate / activate / cleanup / configure on a node that is receiving frames."""
    from lifecycle_msgs.msg import Transition

    listener = Listener(graph, ["detections"])
    camera = graph.node("test_lifecycle_camera")
    publisher = camera.create_publisher(Image, "image", qos_profile_sensor_data)
    frame = frame_to_image(scene["rgb"], stamped(Image(), 0).header)
    with detector_process(tmp_path, *scene["args"]) as process:
        first = publish_until_answered(graph, publisher, listener, "detections", stamped(frame, 21), "while active")
        assert len(first.detections) == scene["objects"]

        assert change_state(graph, camera, "ssd_detector", Transition.TRANSITION_DEACTIVATE)
        before = len(listener.received["detections"])
        for index in range(20):  # inactive: frames are not taken, nothing is published
            publisher.publish(stamped(frame, 40 + index))
            graph.spin_for(0.05)
        graph.spin_for(1.0)
        assert len(listener.received["detections"]) == before, "an inactive node published detections"

        assert change_state(graph, camera, "ssd_detector", Transition.TRANSITION_ACTIVATE)
        again = publish_until_answered(graph, publisher, listener, "detections", stamped(frame, 22), "reactivated")
        assert len(again.detections) == scene["objects"]

        for transition in (Transition.TRANSITION_DEACTIVATE, Transition.TRANSITION_CLEANUP,
                           Transition.TRANSITION_CONFIGURE, Transition.TRANSITION_ACTIVATE):
            publisher.publish(stamped(frame, 60 + transition))  # frames arrive during every transition
            assert change_state(graph, camera, "ssd_detector", transition), f"transition {transition} failed"
        reloaded = publish_until_answered(graph, publisher, listener, "detections", stamped(frame, 23),
                                          "configured and activated again")
        assert len(reloaded.detections) == scene["objects"]
        assert process.poll() is None, "the node exited"
    log = (tmp_path / "ssd_detector.log").read_text()
    assert "Traceback" not in log and "raised" not in log, log
    assert log.count("active: /image -> /detections") == 3, log
