"""The ``ssd_detector`` lifecycle node: camera topics in, vision_msgs/Detection2DArray out.

The node only adapts messages; detection is :class:`ssd_ros.core.Detector`.

Data flow and threading:
- Subscription callbacks hand each message to a :class:`LatestFrameQueue` and return at once;
  they never wait for inference. They run on the executor's frames thread, which waits
  on the camera subscriptions only (:class:`~ssd_ros.ros.executor.InlineFramesExecutor`); everything
  else, model loads included, runs in its thread pool, so reloading a model never stops frame reception.
- Camera subscriptions are raw (serialised bytes): a worker thread takes the newest frame of every
  camera, reads it without a pixel copy (ssd_ros.camera_cdr), converts, runs the model on them as
  one batch and publishes one Detection2DArray per frame (empty ones included) with the input
  header copied. Frames replaced before a worker got to them are counted as dropped. With
  ``inference_workers`` 2, two batches are in flight; a result older than one already published
  for its camera is dropped (counted), so each detections topic stays in input order.
- Nothing in the frame path can stop the node: every failure of a frame (bad input, a frame over
  ``max_image_pixels``, inference, the output message, the debug image, anything unexpected) is
  caught, counted by kind on /diagnostics (ERROR while failures leave nothing published) and logged
  once per kind (again after a model swap), and the worker goes on with the next frame. The
  ``detect`` service always answers. Frame sizes are checked against ``max_image_pixels`` from the
  message fields or the PNG/JPEG header before anything is decoded.
- Parameters are declared from the table in :mod:`ssd_ros.ros.params` and validated in one
  callback. The worker reads ``self._runtime`` (detector + settings) once per batch; accepted
  changes build a new runtime and replace it with one assignment. Model changes load the new
  model beside the old one first and give it one trial run (core.trial_run on a blank frame of its
  input size, then the conversion to a Detection2DArray with its labels); if either fails the
  change is rejected with the reason and the old model stays. A node whose start-up model failed
  retries configuring once per accepted model change, through one retry timer (coalescing the
  parameters of one set_parameters request into one attempt).

Lifecycle: configure loads the model and creates publishers and the ``detect`` service; activate
subscribes and starts the workers; deactivate stops them; cleanup releases the model.
"""
from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.exceptions import ParameterUninitializedException
from rclpy.executors import ExternalShutdownException
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.publisher import Publisher
from rclpy.qos import (
    DurabilityPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)
from rclpy.qos_overriding_options import QoSOverridingOptions
from rclpy.service import Service
from rclpy.timer import Timer
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray, LabelInfo

from ssd_ros.camera_cdr import image_cdr
from ssd_ros.core import Detections, Detector, ModelLoadError, trial_run
from ssd_ros.detection_cdr import DetectionArrayWriter
from ssd_ros.drawing import draw_detections
from ssd_ros.ros.conversions import (
    FrameError,
    camera_message,
    cdr_writer_mismatch,
    detections_to_msg,
    frame_from_message,
    frame_to_image,
    hypothesis_class_ids,
    image_writer_mismatch,
    label_info_msg,
    ros_header,
)
from ssd_ros.ros.executor import InlineFramesExecutor
from ssd_ros.ros.frame_queue import LatestFrameQueue, PendingFrame
from ssd_ros.ros.params import (
    MODEL_PARAMETERS,
    PARAMETERS,
    PARAMETERS_BY_NAME,
    NodeParameters,
    NodeSettings,
    ParameterSpec,
    validate,
)
from ssd_ros.ros.statistics import DetectorStatistics
from ssd_ros.ros.transport import configure_transport, discovery_range
from ssd_ros.stamps import stamp_to_ns
from ssd_ros.topics import LABEL_INFO as LABEL_INFO_TOPIC
from ssd_ros.topics import debug_topic, detection_topic_names

# mypy takes ssd_ros_msgs for the repository's interface sources (ssd_ros_msgs/, no Python): hence the ignores
from ssd_ros_msgs.msg import ModelInfo  # type: ignore[attr-defined]
from ssd_ros_msgs.srv import Detect  # type: ignore[attr-defined]

NODE_NAME = "ssd_detector"
_PARAMETER_TYPES = {
    "bool": Parameter.Type.BOOL,
    "integer": Parameter.Type.INTEGER,
    "double": Parameter.Type.DOUBLE,
    "string": Parameter.Type.STRING,
    "string_array": Parameter.Type.STRING_ARRAY,
}
_LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE)
# Reliable output is compatible with reliable and best-effort subscribers alike, so any consumer
# (default QoS nodes, ros2 topic echo, rosbag2) receives detections; inputs use sensor-data QoS.
_DETECTIONS_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
_RETRY_DELAY_S = 0.05  # the parameters of one set_parameters request arrive one by one: one retry for all
# Kinds of frame failures (FrameError subclasses name their own: "bad input", "frame too large")
DECODE_FAILED = "decoding failed"
INFERENCE_FAILED = "inference failed"
OUTPUT_FAILED = "output message failed"
DEBUG_IMAGE_FAILED = "debug image failed"
INTERNAL_ERROR = "internal error"


@dataclass(frozen=True)
class Runtime:
    """What the worker needs for one batch, swapped as a whole."""

    detector: Detector
    settings: NodeSettings
    class_ids: tuple[str, ...]  # ObjectHypothesis.class_id per model class id
    writer: DetectionArrayWriter | None  # None where the middleware reads its bytes differently

    def detection_array(self, detections: Detections, header: Header) -> bytes | Detection2DArray:
        """What the detection publisher sends: the message's CDR bytes, or the message where they do not fit."""
        if self.writer is None:
            return detections_to_msg(detections, header, self.class_ids)
        return self.writer.write(header.stamp.sec, header.stamp.nanosec, header.frame_id, detections.boxes,
                                 detections.scores, detections.class_ids)


def load_detector(parameters: NodeParameters) -> Detector:
    return Detector.load(
        parameters.model_path or None,  # empty: the embedded default model
        config_path=parameters.model_config or None,
        backend=parameters.backend,
        device=parameters.device,
        num_threads=parameters.num_threads,
        precision=parameters.precision or None,
        engine_cache_dir=parameters.engine_cache_dir or None,
        max_batch_size=parameters.max_batch_size,
        spin_wait=parameters.cpu_spin_wait,
        parallel_runs=parameters.inference_workers,
    )


def _descriptor(spec: ParameterSpec) -> ParameterDescriptor:
    description = spec.description
    if spec.choices is not None:
        description += " One of: " + ", ".join(repr(choice) for choice in spec.choices) + "."
    if spec.reloads_model:
        description += " Changing it loads the new model beside the old one and swaps when it loaded."
    descriptor = ParameterDescriptor(description=description, read_only=spec.read_only,
                                     type=_PARAMETER_TYPES[spec.type_name].value)
    if spec.value_range is not None and spec.type_name == "double":
        descriptor.floating_point_range = [FloatingPointRange(from_value=float(spec.value_range[0]),
                                                              to_value=float(spec.value_range[1]))]
    elif spec.value_range is not None:
        descriptor.integer_range = [IntegerRange(from_value=int(spec.value_range[0]),
                                                 to_value=int(spec.value_range[1]), step=1)]
    if spec.choices is not None:
        descriptor.additional_constraints = "one of: " + ", ".join(spec.choices)
    return descriptor


class DetectorNode(LifecycleNode):
    def __init__(self, node_name: str = NODE_NAME, **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        for spec in PARAMETERS:
            # An empty list cannot carry its type, so such parameters are declared by type alone.
            default = spec.default if spec.default != [] else _PARAMETER_TYPES[spec.type_name]
            self.declare_parameter(spec.name, default, _descriptor(spec))
        values = {spec.name: self._current_value(spec.name) for spec in PARAMETERS}
        reason = validate(values)
        if reason is not None:
            raise ValueError(f"invalid parameters: {reason}")
        self._node_parameters = NodeParameters.from_values(values)  # not _parameters: rclpy.Node uses that name
        self._runtime: Runtime | None = None
        self._model_info = ModelInfo()
        self._swap_lock = threading.Lock()

        self.image_topics: list[str] = list(self._node_parameters.image_topics)
        self.detection_topics = detection_topic_names(self.image_topics, list(self._node_parameters.detection_topics))
        self._queue = LatestFrameQueue(len(self.image_topics))
        self._stats = DetectorStatistics(len(self.image_topics))
        self._workers: list[threading.Thread] = []
        self._serial_inference = threading.Lock()  # for backends that cannot run two frames at once
        self._publish_lock = threading.Lock()  # the order check and the publish of a result, as one step
        self._last_published = [float("-inf")] * len(self.image_topics)  # PendingFrame.received, per camera
        self._camera_subscriptions: list = []
        self._camera_message_type: type[Image] | type[CompressedImage] = Image  # what the subscriptions carry
        # Frame callbacks only queue the message; InlineFramesExecutor runs them on its frames thread.
        self.frame_callback_group = MutuallyExclusiveCallbackGroup()
        self._detection_publishers: list = []
        self._debug_publishers: list = []
        self._label_info_publisher: Publisher | None = None
        self._model_info_publisher: Publisher | None = None
        self._diagnostics_publisher: Publisher | None = None
        self._diagnostics_timer: Timer | None = None
        self._detect_service: Service | None = None
        self._logged_failures: set[str] = set()  # kinds of frame failures logged since the last model swap
        self._retry_pending = False
        # One retry timer for the node's life (cancelled until a model change asks for a retry).
        self._retry_timer = self.create_timer(_RETRY_DELAY_S, self._retry_autostart)
        self._retry_timer.cancel()
        self.add_on_set_parameters_callback(self._on_set_parameters)

    def start(self) -> None:
        """Configure and activate (what autostart does); leaves the node unconfigured if the model fails."""
        self.trigger_configure()
        if self._runtime is not None:
            self.trigger_activate()

    def _retry_autostart(self) -> None:
        """One configure attempt per accepted model change of an unconfigured node (never a loop)."""
        self._retry_timer.cancel()
        with self._swap_lock:
            pending, self._retry_pending = self._retry_pending, False
        if pending and self._runtime is None:
            self.start()

    # ------------------------------------------------------------------ parameters
    def _current_value(self, name: str) -> Any:
        try:
            value = self.get_parameter(name).value
        except ParameterUninitializedException:
            return list(PARAMETERS_BY_NAME[name].default)
        return list(value) if isinstance(value, (list, tuple)) else value

    def _on_set_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        changes = {p.name: (list(p.value) if isinstance(p.value, (list, tuple)) else p.value)
                   for p in parameters if p.name in PARAMETERS_BY_NAME}
        if not changes:
            return SetParametersResult(successful=True)
        reason = validate(changes)
        if reason is not None:
            return SetParametersResult(successful=False, reason=reason)
        with self._swap_lock:
            candidate = self._node_parameters.replaced(changes)
            runtime = self._runtime
            if runtime is None:
                # Not configured: the model is loaded (and checked) on configure. With autostart, a
                # node whose start-up model failed retries as soon as the model settings change.
                self._node_parameters = candidate
                if candidate.autostart and any(name in changes for name in MODEL_PARAMETERS):
                    self._retry_pending = True
                    self._retry_timer.reset()  # restarts the one timer; never a second one
                return SetParametersResult(successful=True)
            detector = runtime.detector
            reloads = candidate.model_values() != self._node_parameters.model_values()
            if reloads:
                try:
                    detector = load_detector(candidate)
                except Exception as error:  # the loader's message says what is wrong and what to do
                    return SetParametersResult(
                        successful=False, reason=f"could not load the model, keeping the current one: {error}")
            try:
                new_runtime = self._build_runtime(detector, candidate)
            except ValueError as error:
                return SetParametersResult(successful=False, reason=str(error))
            if reloads:
                try:
                    self._trial(new_runtime, candidate)
                except ModelLoadError as error:
                    return SetParametersResult(successful=False, reason=f"keeping the current model: {error}")
            self._node_parameters = candidate
            self._runtime = new_runtime
            if reloads:
                self._logged_failures = set()  # the new model's failures are news: log them once again
        if reloads:
            self.get_logger().info(f"model swapped to {candidate.model_path or 'the default model'} "
                                   f"on {detector.backend_name} ({detector.device})")
            self._publish_model_description(new_runtime)
        elif "score_threshold" in changes:
            self._publish_model_description(new_runtime)
        return SetParametersResult(successful=True)

    @staticmethod
    def _build_runtime(detector: Detector, parameters: NodeParameters) -> Runtime:
        spec = detector.spec
        settings = NodeSettings.build(parameters, spec.labels, spec.background_index)
        class_ids = hypothesis_class_ids(spec.labels, parameters.label_as_id)
        writer = DetectionArrayWriter(class_ids) if cdr_writer_mismatch() is None else None
        return Runtime(detector, settings, class_ids, writer)

    @staticmethod
    def _trial(runtime: Runtime, parameters: NodeParameters) -> None:
        """Before a model serves: one blank frame through it and its result through the message conversion."""
        source = f"model {parameters.model_path or 'the default model'}"
        detections = trial_run(runtime.detector, source)
        try:
            detections_to_msg(detections, Header(), runtime.class_ids)  # what the detect service answers
            runtime.detection_array(detections, Header())  # what the topics carry
        except Exception as error:
            raise ModelLoadError(f"{source} runs, but its result cannot become a Detection2DArray with its "
                                 f"{len(runtime.class_ids)} labels ({type(error).__name__}: {error}); check its "
                                 "labels against its outputs") from None

    # ------------------------------------------------------------------ lifecycle
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            detector = load_detector(self._node_parameters)
            runtime = self._build_runtime(detector, self._node_parameters)
            self._trial(runtime, self._node_parameters)
        except Exception as error:
            self.get_logger().error(
                f"cannot configure: {error}. Fix it with `ros2 param set /{self.get_name()} model_path ...` "
                "(or model_config / classes), then configure again.")
            return TransitionCallbackReturn.FAILURE
        self._runtime = runtime
        qos_options = QoSOverridingOptions.with_default_policies()
        self._detection_publishers = [
            self.create_lifecycle_publisher(Detection2DArray, topic, _DETECTIONS_QOS,
                                            qos_overriding_options=qos_options)
            for topic in self.detection_topics]
        self._debug_publishers = [
            self.create_lifecycle_publisher(Image, debug_topic(topic), qos_profile_sensor_data)
            for topic in self.detection_topics]
        self._label_info_publisher = self.create_publisher(LabelInfo, LABEL_INFO_TOPIC, _LATCHED)
        self._model_info_publisher = self.create_publisher(ModelInfo, "model_info", _LATCHED)
        self._diagnostics_publisher = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._diagnostics_timer = self.create_timer(self._node_parameters.diagnostics_period,
                                                    self._publish_diagnostics)
        self._detect_service = self.create_service(Detect, "detect", self._on_detect_request)
        self._publish_model_description(runtime)
        selection = f"; {detector.backend.selection}" if detector.backend.selection else ""
        self.get_logger().info(f"configured: {self._model_info.model_path} on {detector.backend_name} "
                               f"({detector.device}), {len(detector.spec.labels)} classes{selection}")
        if runtime.writer is None:
            self.get_logger().info(f"detections are published as rclpy messages (slower): {cdr_writer_mismatch()}",
                                   once=True)
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._queue = LatestFrameQueue(len(self.image_topics))
        compressed = self._node_parameters.image_transport == "compressed"
        message_type = CompressedImage if compressed else Image
        self._camera_message_type = message_type
        qos_options = QoSOverridingOptions.with_default_policies()
        workers = self._node_parameters.inference_workers
        for camera, topic in enumerate(self.image_topics):
            input_topic = f"{topic}/compressed" if compressed else topic

            def on_frame(msg: Any, camera: int = camera) -> None:
                self._queue.put(camera, msg)

            self._camera_subscriptions.append(self.create_subscription(
                message_type, input_topic, on_frame,
                qos_profile_sensor_data, callback_group=self.frame_callback_group, qos_overriding_options=qos_options,
                raw=True))  # bytes: read in the worker without a copy (camera_cdr); a dropped frame costs nothing
        self._last_published = [float("-inf")] * len(self.image_topics)
        self._workers = [threading.Thread(target=self._process_frames, name=f"ssd_detector_worker_{index}",
                                          daemon=True) for index in range(workers)]
        for worker in self._workers:
            worker.start()
        result = super().on_activate(state)
        inputs = ", ".join(self.resolve_topic_name(sub.topic_name) for sub in self._camera_subscriptions)
        outputs = ", ".join(self.resolve_topic_name(topic) for topic in self.detection_topics)
        plural = "s" if workers > 1 else ""
        self.get_logger().info(f"active: {inputs} -> {outputs} ({workers} inference worker{plural})")
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.stop_processing()
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release_resources()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.stop_processing()
        self._release_resources()
        return TransitionCallbackReturn.SUCCESS

    def stop_processing(self) -> None:
        self._queue.close()
        for worker in self._workers:
            worker.join()
        self._workers = []
        for subscription in self._camera_subscriptions:
            self.destroy_subscription(subscription)
        self._camera_subscriptions = []

    def _release_resources(self) -> None:
        for publisher in [*self._detection_publishers, *self._debug_publishers]:
            self.destroy_lifecycle_publisher(publisher)
        self._detection_publishers, self._debug_publishers = [], []
        for publisher in (self._label_info_publisher, self._model_info_publisher, self._diagnostics_publisher):
            if publisher is not None:
                self.destroy_publisher(publisher)
        self._label_info_publisher = self._model_info_publisher = self._diagnostics_publisher = None
        if self._diagnostics_timer is not None:
            self.destroy_timer(self._diagnostics_timer)
            self._diagnostics_timer = None
        if self._detect_service is not None:
            self.destroy_service(self._detect_service)
            self._detect_service = None
        self._runtime = None

    # ------------------------------------------------------------------ the worker
    def _process_frames(self) -> None:
        while True:
            frames = self._queue.take()
            if not frames:
                return
            runtime = self._runtime
            if runtime is None:
                return
            batch_size = runtime.settings.parameters.max_batch_size
            for start in range(0, len(frames), batch_size):
                batch = frames[start:start + batch_size]
                try:
                    self._process_batch(runtime, batch)
                except Exception as error:  # the last resort: the worker never dies
                    if not self.context.ok():
                        return  # Ctrl-C shut ROS down under a frame in flight: nothing left to publish to
                    for pending in batch:
                        self._report_failure(pending.camera, INTERNAL_ERROR, error)

    def _process_batch(self, runtime: Runtime, frames: list[PendingFrame]) -> None:
        decoded: dict[str, list[tuple[PendingFrame, Header, Any]]] = {}
        max_pixels = runtime.settings.parameters.max_image_pixels
        for pending in frames:
            try:
                message = camera_message(pending.message, self._camera_message_type)
                frame, color = frame_from_message(message, max_pixels)
            except FrameError as error:
                self._report_failure(pending.camera, error.kind, error)
                continue
            except Exception as error:  # a decoder's own exception (e.g. cv2.error) on a strange frame
                self._report_failure(pending.camera, DECODE_FAILED, error)
                continue
            decoded.setdefault(color, []).append((pending, ros_header(message.header), frame))
        for color, items in decoded.items():
            concurrent = runtime.detector.backend.concurrent_runs
            try:
                with contextlib.nullcontext() if concurrent else self._serial_inference:
                    results = runtime.detector.detect_batch([frame for _, _, frame in items], color=color,
                                                            post=runtime.settings.postprocess)
            except Exception as error:
                for pending, _, _ in items:
                    self._report_failure(pending.camera, INFERENCE_FAILED, error)
                continue
            inference_ms = float(runtime.detector.last_timings.get("inference_ms", 0.0)) / len(items)
            for (pending, header, frame), detections in zip(items, results, strict=True):
                self._publish_result(runtime, pending, header, frame, color, detections, inference_ms)

    def _publish_result(self, runtime: Runtime, pending: PendingFrame, header: Header, frame, color: str,
                        detections, inference_ms: float) -> None:
        try:
            message = runtime.detection_array(detections, header)
            with self._publish_lock:
                if pending.received <= self._last_published[pending.camera]:
                    # another worker published a newer frame of this camera first: never publish out of order
                    self._queue.count_dropped(pending.camera)
                    return
                self._last_published[pending.camera] = pending.received
                self._detection_publishers[pending.camera].publish(message)
        except Exception as error:
            self._report_failure(pending.camera, OUTPUT_FAILED, error)
            return
        stamp_ns = stamp_to_ns(header.stamp)
        latency_ms = (self.get_clock().now().nanoseconds - stamp_ns) / 1e6 if stamp_ns else float("nan")
        self._stats.record_processed(pending.camera, inference_ms, latency_ms,
                                     (time.monotonic() - pending.received) * 1e3)
        debug_publisher = self._debug_publishers[pending.camera]
        if runtime.settings.parameters.publish_debug_image and debug_publisher.get_subscription_count() > 0:
            try:
                annotated = draw_detections(frame, detections, color=color)
                encoding = f"{color}8"
                debug_publisher.publish(
                    frame_to_image(annotated, header, encoding) if image_writer_mismatch() else
                    image_cdr(header.stamp.sec, header.stamp.nanosec, header.frame_id, annotated, encoding))
            except Exception as error:
                self._report_failure(pending.camera, DEBUG_IMAGE_FAILED, error)

    def _report_failure(self, camera: int, kind: str, error: Exception) -> None:
        """Count a failed frame by kind; log the first failure of each kind (again after a model swap)."""
        text = str(error) if isinstance(error, FrameError) else f"{type(error).__name__}: {error}"
        text = text if len(text) <= 500 else text[:500] + "..."
        self._stats.record_failure(camera, kind, text)
        if kind in self._logged_failures:
            return
        self._logged_failures.add(kind)
        topic = self.resolve_topic_name(self.image_topics[camera])
        message = (f"frame on {topic} skipped ({kind}): {text}. Further '{kind}' failures are counted on "
                   f"/diagnostics ('frames failed: {kind}' / 'frames with bad input'), not logged again")
        # Two call sites: rclpy's logger refuses one call site logging at two severities.
        if isinstance(error, FrameError):
            self.get_logger().warning(message)
        else:
            self.get_logger().error(message)

    # ------------------------------------------------------------------ on-demand detection
    def _on_detect_request(self, request: Detect.Request, response: Detect.Response) -> Detect.Response:
        """Always answers: every failure becomes success=false with the reason."""
        try:
            return self._detect(request, response)
        except Exception as error:
            response.success = False
            response.message = f"internal error: {type(error).__name__}: {str(error)[:500]}"
            return response

    def _detect(self, request: Detect.Request, response: Detect.Response) -> Detect.Response:
        runtime = self._runtime
        if runtime is None:
            response.success, response.message = False, "the detector is not configured (no model loaded)"
            return response
        message = request.compressed_image if len(request.compressed_image.data) else request.image
        try:
            frame, color = frame_from_message(message, runtime.settings.parameters.max_image_pixels)
        except FrameError as error:
            response.success, response.message = False, f"bad request image ({error.kind}): {error}"
            return response
        post = runtime.settings.postprocess
        if request.score_threshold > 0:
            post = replace(post, score_threshold=float(min(request.score_threshold, 1.0)))
        started = time.perf_counter()
        try:
            detections = runtime.detector.detect(frame, color=color, post=post)
        except Exception as error:
            response.success, response.message = False, f"inference failed: {type(error).__name__}: {error}"
            return response
        response.inference_ms = (time.perf_counter() - started) * 1e3
        response.detections = detections_to_msg(detections, message.header, runtime.class_ids)
        response.success, response.message = True, f"{len(detections)} detections"
        return response

    # ------------------------------------------------------------------ descriptions and diagnostics
    def _publish_model_description(self, runtime: Runtime) -> None:
        detector, spec = runtime.detector, runtime.detector.spec
        header = Header(stamp=self.get_clock().now().to_msg())
        self._model_info = ModelInfo(
            header=header, model_path=str(detector.model_path), model_config=runtime.settings.parameters.model_config,
            model_sha256=detector.model_sha256, architecture=getattr(spec, "architecture", "") or "",
            input_width=int(spec.input_width), input_height=int(spec.input_height),
            backend=detector.backend_name, device=str(detector.device), labels=list(spec.labels))
        if self._model_info_publisher is not None:
            self._model_info_publisher.publish(self._model_info)
        if self._label_info_publisher is not None:
            self._label_info_publisher.publish(label_info_msg(
                spec.labels, spec.background_index, runtime.settings.postprocess.score_threshold, header))

    def _publish_diagnostics(self) -> None:
        reports = self._stats.snapshot(list(self._queue.received), list(self._queue.dropped))
        runtime = self._runtime
        array = DiagnosticArray()
        array.header.stamp = self.get_clock().now().to_msg()
        for topic, report in zip(self.image_topics, reports, strict=True):
            status = DiagnosticStatus(name=f"{self.get_fully_qualified_name()}: {self.resolve_topic_name(topic)}",
                                      hardware_id=self._model_info.model_path)
            if runtime is None:
                status.level, status.message = DiagnosticStatus.ERROR, "no model loaded"
            elif report.failed_in_period and report.processed_rate_hz == 0:
                status.level = DiagnosticStatus.ERROR
                status.message = (f"nothing published: {report.failed_in_period} frames failed in the last "
                                  f"period; last: {report.last_error[:200]}")
            elif report.failed_in_period:
                status.level = DiagnosticStatus.WARN
                status.message = f"{report.failed_in_period} frames failed; last: {report.last_error[:200]}"
            elif report.input_rate_hz > 0 and report.processed_rate_hz < 0.5 * report.input_rate_hz:
                status.level, status.message = DiagnosticStatus.WARN, "dropping more than half of the frames"
            else:
                status.level, status.message = DiagnosticStatus.OK, "ok"
            status.values = [KeyValue(key=key, value=value) for key, value in report.as_key_values()]
            array.status.append(status)
        if self._diagnostics_publisher is not None:  # None once cleanup released it
            self._diagnostics_publisher.publish(array)



def main(args: list[str] | None = None) -> int:
    transport = configure_transport()  # before rclpy starts DDS
    rclpy.init(args=args if args is not None else sys.argv)
    node = None
    executor = None
    try:
        node = DetectorNode()
        node.get_logger().info(f"DDS: ROS_DOMAIN_ID {node.context.get_domain_id()}, {discovery_range()}; "
                               f"{transport.description}")
        if node.get_parameter("autostart").value:
            node.start()
        executor = InlineFramesExecutor(node.frame_callback_group, num_threads=2)
        executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except ValueError as error:
        print(f"ssd_detector: {error}", file=sys.stderr)
        return 2
    finally:
        # Ctrl-C in a terminal reaches the node twice under ros2 launch (from the terminal and
        # forwarded by launch): a second one must not interrupt the clean-up with a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if executor is not None:
            executor.shutdown(timeout_sec=10.0)  # joins its frames thread before Python finalises (executor.py)
        if node is not None:
            node.stop_processing()
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
