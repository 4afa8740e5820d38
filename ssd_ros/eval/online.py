"""Online mode: replay the bag's frames over real DDS into the ssd_detector node and score what it publishes.

Contract of ``run_online(bag, image_topic, frames, wanted, settings, truth_of_frame)``:
- The node is either started here as its own process, with the command line ``ros2 run`` would use
  (``python -m ssd_ros.ros.detector_node --ros-args -p ...``; output in ``settings.node_log``), or
  already running (``settings.start_node`` False; e.g. from a launch file): then frames go to
  ``settings.publish_topic`` and detections are read from ``settings.detections_topic``.
  NodeError when it does not start, does not connect within ``ready_timeout_s``, or dies.
- Every readable frame is published as the bag holds it (CDR bytes; ROS 1 frames converted) with
  sensor-data QoS, at the recorded rate (log times) or ``rate_hz``, after ``warmup_frames`` copies of
  the first frame whose outputs are not scored. Each frame is re-stamped with the wall clock at
  publish time (header.stamp patched in the CDR bytes), so latency is receipt time minus stamp,
  with no sim time; the stamp also identifies the frame its output belongs to. Frames whose pixels
  cannot be decoded are not published and count as unreadable, as in the other modes. With
  ``lockstep`` the next frame is published once the previous one was answered (or after
  ``lockstep_timeout_s``): the node never has to drop a frame, so online scores equal offline ones
  on any machine speed; the rate is then the node's.
- Before the first frame, this process gives Fast DDS its large-frame transport
  (:func:`ssd_ros.ros.transport.configure_transport`) unless the user configured DDS; a node it
  starts inherits the same settings.
- Outputs are taken with a raw subscription (reliable, deep queue) and decoded with rosbags; class
  ids become names through the node's LabelInfo (latched on the sibling ``label_info`` topic) or
  ``labels``. After the last frame it waits ``drain_s`` for late outputs; published frames without
  an output are counted, and split by the node's own /diagnostics counters of the input topic, read
  after the warm-up and after the drain: received by the node, dropped by its newest-frame queue,
  failed (by kind), answered; "lost in transport" is published minus received. A node without those
  counters (another detector) leaves the split unknown, never guessed.
  Rates: publish = (frames - 1) / span of publish times; processed = (outputs - 1) / span of receipts.
- With ``record_bag`` the run is recorded as a self-contained bag: the frames as published, the
  node's outputs as received (raw CDR, log time = receipt), its LabelInfo, and the ground truth of
  each frame re-stamped like its frame (``/ground_truth/detections``), so ``ssd-ros eval
  --detections-topic`` on that bag reproduces this evaluation.
"""
from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ssd_ros.bags.messages import detection_array, label_info, label_map, parse_detection_array
from ssd_ros.bags.reader import Bag, FrameKey, UnreadableMessage, decode_frame
from ssd_ros.bags.types import COMPRESSED_IMAGE, DETECTION_2D_ARRAY, LABEL_INFO, bag_typestore
from ssd_ros.bags.writer import BagWriter
from ssd_ros.eval.errors import EvaluationError
from ssd_ros.eval.ground_truth import BoxRecord
from ssd_ros.eval.mode_types import ModeInput, ModeOutput
from ssd_ros.eval.recorded import to_frame_output
from ssd_ros.node_command import DetectorCommand
from ssd_ros.processes import interrupt_and_wait
from ssd_ros.progress import progress_bar
from ssd_ros.ros.params import evaluation_values
from ssd_ros.ros.statistics import node_counters
from ssd_ros.ros.transport import configure_transport
from ssd_ros.stamps import cdr_stamp_ns, restamp, stamp_to_ns
from ssd_ros.topics import LABEL_INFO as LABEL_INFO_TOPIC
from ssd_ros.topics import sibling_topic

RECORDED_TRUTH_TOPIC = "/ground_truth/detections"
LATENCY_PERCENTILES = (50, 90, 95, 99)
COUNTERS_TIMEOUT_S = 3.0  # a node publishes /diagnostics every second by default


class NodeError(EvaluationError, RuntimeError):
    """The detector node did not start, connect or keep running; the message says what to check."""


@dataclass(frozen=True)
class OnlineSettings:
    detections_topic: str = "/ssd_eval/detections"
    publish_topic: str | None = None  # default: the bag's image topic
    rate_hz: float | None = None  # None: the recorded rate
    start_node: bool = True
    model: Path | None = None  # None: the node's embedded default model
    model_config: Path | None = None
    backend: str = field(default_factory=lambda: evaluation_values()["backend"])
    score_threshold: float = field(default_factory=lambda: evaluation_values()["score_threshold"])
    nms_iou_threshold: float = field(default_factory=lambda: evaluation_values()["nms_iou_threshold"])
    max_detections: int = field(default_factory=lambda: evaluation_values()["max_detections"])
    node_name: str = "ssd_eval_detector"
    node_log: Path | None = None
    warmup_frames: int = 2
    drain_s: float = 3.0
    ready_timeout_s: float = 120.0
    record_bag: Path | None = None
    record_storage: str = "sqlite3"
    lockstep: bool = False
    lockstep_timeout_s: float = 10.0
    diagnostics_period_s: float = 0.25  # of a node started here: fresh counters soon after the drain


def node_command(settings: OnlineSettings, image_topic: str, compressed: bool) -> list[str]:
    """The node's command line: what ``ros2 run ssd_ros detector --ros-args ...`` runs."""
    parameters: dict[str, object] = {
        "image_topics": [image_topic], "detection_topics": [settings.detections_topic],
        "image_transport": "compressed" if compressed else "raw", "score_threshold": settings.score_threshold,
        "nms_iou_threshold": settings.nms_iou_threshold, "max_detections": settings.max_detections,
        "backend": settings.backend, "publish_debug_image": False,
        "diagnostics_period": settings.diagnostics_period_s,
    }
    if settings.model is not None:
        parameters["model_path"] = str(Path(settings.model).resolve())
    if settings.model_config is not None:
        parameters["model_config"] = str(Path(settings.model_config).resolve())
    return DetectorCommand(name=settings.node_name, parameters=parameters, log_level="info",
                           remappings=[(LABEL_INFO_TOPIC, sibling_topic(settings.detections_topic, LABEL_INFO_TOPIC))]
                           ).python_command()


class _Replay:
    """The in-process ROS side: frame publisher, raw output subscription, LabelInfo and /diagnostics listeners."""

    def __init__(self, publish_topic: str, compressed: bool, detections_topic: str, node_topic: str) -> None:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
        from sensor_msgs.msg import CompressedImage, Image
        from vision_msgs.msg import Detection2DArray, LabelInfo

        self.context = rclpy.context.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("ssd_eval_replay", context=self.context)
        self.publisher = self.node.create_publisher(CompressedImage if compressed else Image, publish_topic,
                                                    qos_profile_sensor_data)
        self.outputs: list[tuple[int, bytes]] = []
        self.answered: set[int] = set()  # header stamps of the outputs
        self.label_info_raw: bytes | None = None
        # (monotonic arrival, counters) of the node's latest /diagnostics status for node_topic
        self.counters: tuple[float, dict[str, int]] | None = None
        self._status_suffix = f": {node_topic}"
        self.node.create_subscription(Detection2DArray, detections_topic, self._on_output,
                                      QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE), raw=True)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                             reliability=ReliabilityPolicy.RELIABLE)
        self.node.create_subscription(LabelInfo, sibling_topic(detections_topic, LABEL_INFO_TOPIC), self._on_label_info,
                                      latched, raw=True)
        self.detections_topic = detections_topic
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._spinner = threading.Thread(target=self._spin, name="ssd_eval_replay", daemon=True)
        self._spinner.start()

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException

        with contextlib.suppress(ExternalShutdownException):  # raised when close() shuts the context down
            self.executor.spin()

    def _on_label_info(self, raw: bytes) -> None:
        self.label_info_raw = raw

    def _on_output(self, raw: bytes) -> None:
        self.outputs.append((time.time_ns(), raw))
        self.answered.add(cdr_stamp_ns(raw))

    def _on_diagnostics(self, array) -> None:
        for status in array.status:
            if status.name.endswith(self._status_suffix):
                counters = node_counters(status)
                if "received" in counters:
                    self.counters = (time.monotonic(), counters)

    def fresh_counters(self, after: float, timeout: float) -> dict[str, int] | None:
        """The node's counters from a /diagnostics message that arrived after monotonic time ``after``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            latest = self.counters
            if latest is not None and latest[0] > after:
                return dict(latest[1])
            time.sleep(0.02)
        return None

    def connected(self) -> bool:
        return self.publisher.get_subscription_count() > 0 and self.node.count_publishers(self.detections_topic) > 0

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        self.context.try_shutdown()
        self._spinner.join(timeout=5)


def _wait(condition, timeout: float, node_process: subprocess.Popen | None, settings: OnlineSettings) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        _check_alive(node_process, settings)
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _check_alive(node_process: subprocess.Popen | None, settings: OnlineSettings) -> None:
    if node_process is not None and node_process.poll() is not None:
        raise NodeError(f"the detector node exited with code {node_process.returncode}; "
                        f"its output:\n{_log_tail(settings.node_log)}")


def _log_tail(log: Path | None, lines: int = 30) -> str:
    if log is None or not log.is_file():
        return "(no log)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def run_online(bag: Bag, image_topic: str, frames: list[FrameKey], wanted: set[int], settings: OnlineSettings,
               truth_of_frame: dict[int, BoxRecord], truth_classes: tuple[str, ...],
               labels: dict[str, str]) -> ModeOutput:
    msgtype = bag.topics[image_topic].msgtype
    compressed = msgtype == COMPRESSED_IMAGE
    publish_topic = settings.publish_topic or image_topic
    node_topic = publish_topic.removesuffix("/compressed") if compressed else publish_topic
    if compressed and settings.start_node and not publish_topic.endswith("/compressed"):
        publish_topic = f"{publish_topic}/compressed"  # where a node with image_transport:=compressed listens
    temporary = None  # a folder for the node's log when no report folder holds it; removed at the end
    if settings.start_node and settings.node_log is None:
        temporary = Path(tempfile.mkdtemp(prefix="ssd_eval_"))
        settings = replace(settings, node_log=temporary / "node.log")
    recorder = None
    try:
        recorder = BagWriter(settings.record_bag, settings.record_storage) if settings.record_bag else None
        published, replay = _run_node_and_replay(bag, image_topic, frames, settings, publish_topic, node_topic,
                                                 compressed, recorder)
        result = _collect(published, replay, wanted, settings, labels, publish_topic, msgtype)
        if recorder is not None:
            _record_outputs_truth_and_labels(recorder, settings, published, replay, truth_of_frame, truth_classes,
                                             frames)
    finally:
        if recorder is not None:
            recorder.close()  # a valid bag, also when the run failed half-way
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    return result


def _run_node_and_replay(bag: Bag, image_topic: str, frames: list[FrameKey], settings: OnlineSettings,
                         publish_topic: str, node_topic: str, compressed: bool,
                         recorder: BagWriter | None) -> tuple[_Published, _Replay]:
    node_process = log = None
    transport = configure_transport()  # before this process's participant exists; a started node inherits it
    if transport.applied_profile is None:
        print(f"ssd-ros eval: DDS: {transport.description}", file=sys.stderr)
    replay = _Replay(publish_topic, compressed, settings.detections_topic, node_topic)
    try:
        if settings.start_node:
            assert settings.node_log is not None  # run_online chose one
            log = settings.node_log.open("w")
            node_process = subprocess.Popen(node_command(settings, node_topic, compressed), stdout=log,
                                            stderr=subprocess.STDOUT)
        if not _wait(replay.connected, settings.ready_timeout_s, node_process, settings):
            raise NodeError(
                f"no detector connected within {settings.ready_timeout_s:.0f} s: subscribers on {publish_topic}: "
                f"{replay.publisher.get_subscription_count()}, publishers on {settings.detections_topic}: "
                f"{replay.node.count_publishers(settings.detections_topic)}. "
                + ("Its output:\n" + _log_tail(settings.node_log) if node_process else
                   "Is the node running, subscribed to that image topic and publishing on that detections topic?"))
        return _replay_frames(bag, image_topic, frames, settings, replay, node_process, recorder), replay
    finally:
        if node_process is not None:
            interrupt_and_wait(node_process)
        if log is not None:
            log.close()
        replay.close()


@dataclass
class _Published:
    stamps: dict[int, int]  # stamp -> frame index
    frame_stamp: dict[int, int]  # frame index -> stamp
    warmup_stamps: set[int]
    unreadable: dict[int, str]
    first_ns: int
    last_ns: int
    counters_before: dict[str, int] | None = None  # the node's /diagnostics counters after the warm-up
    counters_after: dict[str, int] | None = None  # ... and after the drain
    lockstep_timeouts: int = 0


def _warm_up(replay: _Replay, cdr: bytes, published: _Published, settings: OnlineSettings,
             node_process: subprocess.Popen | None) -> None:
    """A fresh node's first inferences are slow: send copies of the first frame, wait for them, don't score them."""
    for _ in range(settings.warmup_frames):
        stamp = time.time_ns()
        published.warmup_stamps.add(stamp)
        replay.publisher.publish(restamp(cdr, stamp))
        _wait(lambda: len(replay.outputs) >= len(published.warmup_stamps), 10.0, node_process, settings)
    replay.outputs.clear()
    published.counters_before = replay.fresh_counters(after=time.monotonic(), timeout=COUNTERS_TIMEOUT_S)


def _replay_frames(bag: Bag, image_topic: str, frames: list[FrameKey], settings: OnlineSettings, replay: _Replay,
                   node_process: subprocess.Popen | None, recorder: BagWriter | None) -> _Published:
    published = _Published({}, {}, set(), {}, 0, 0)
    readable = (m for m in bag.messages(image_topic) if frames[m.index].error is None)
    schedule: tuple[float, int, int] | None = None  # start time, first log time, first position
    last_stamp = 0
    with progress_bar(sum(f.error is None for f in frames), "publishing frames") as bar:
        for position, message in enumerate(readable):
            bar.update()
            try:
                decode_frame(bag.camera_message(message), message.msgtype)
            except UnreadableMessage as error:
                published.unreadable[message.index] = str(error)
                continue
            cdr = bag.to_cdr(message)
            if schedule is None:
                _warm_up(replay, cdr, published, settings, node_process)
                schedule = (time.monotonic(), message.log_ns, position)
            started, first_log, first_position = schedule
            offset = ((message.log_ns - first_log) / 1e9 if settings.rate_hz is None
                      else (position - first_position) / settings.rate_hz)
            delay = started + offset - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            _check_alive(node_process, settings)
            stamp = last_stamp = max(time.time_ns(), last_stamp + 1)
            data = restamp(cdr, stamp)
            replay.publisher.publish(data)
            if settings.lockstep and not _wait(lambda stamp=stamp: stamp in replay.answered,
                                               settings.lockstep_timeout_s, node_process, settings):
                published.lockstep_timeouts += 1
            published.stamps[stamp] = message.index
            published.frame_stamp[message.index] = stamp
            published.first_ns = published.first_ns or stamp
            published.last_ns = stamp
            if recorder is not None:
                recorder.write(image_topic, message.msgtype, stamp, data)
    deadline = time.monotonic() + settings.drain_s
    while time.monotonic() < deadline and len(replay.outputs) < len(published.stamps):
        time.sleep(0.02)
    published.counters_after = replay.fresh_counters(after=time.monotonic(), timeout=COUNTERS_TIMEOUT_S)
    return published


def _collect(published: _Published, replay: _Replay, wanted: set[int], settings: OnlineSettings,
             labels: dict[str, str], publish_topic: str, msgtype: str) -> ModeOutput:
    store = bag_typestore()
    node_labels = label_map(store.deserialize_cdr(replay.label_info_raw, LABEL_INFO)) if replay.label_info_raw else {}
    names = {**labels, **node_labels}
    result = ModeOutput(unreadable=dict(published.unreadable))
    outcomes = {"matched": 0, "warm-up": 0, "unknown stamp": 0, "second output for a frame": 0}
    latencies, receipts = [], []
    for receipt_ns, raw in list(replay.outputs):
        msg = store.deserialize_cdr(raw, DETECTION_2D_ARRAY)
        stamp = stamp_to_ns(msg.header.stamp)
        frame = published.stamps.get(stamp)
        if stamp in published.warmup_stamps:
            outcomes["warm-up"] += 1
            continue
        if frame is None:
            outcomes["unknown stamp"] += 1
            continue
        if frame in result.outputs:
            outcomes["second output for a frame"] += 1
            continue
        outcomes["matched"] += 1
        latencies.append((receipt_ns - stamp) / 1e6)
        receipts.append(receipt_ns)
        result.outputs[frame] = to_frame_output(parse_detection_array(msg), names)
    published_count = len(published.stamps)
    output_span_s = (max(receipts) - min(receipts)) / 1e9 if receipts else 0.0
    publish_span_s = (published.last_ns - published.first_ns) / 1e9
    result.latencies_ms = latencies
    result.report = {
        "node": "started" if settings.start_node else "running",
        "node_log": str(settings.node_log) if settings.start_node else None,
        "publish_topic": publish_topic, "detections_topic": settings.detections_topic, "image_type": msgtype,
        "frames_published": published_count,
        "frames_with_output": len(result.outputs),
        "frames_without_output": published_count - len(result.outputs),
        "wanted_frames_without_output": len([i for i in wanted if i in published.frame_stamp
                                             and i not in result.outputs]),
        "frame_indices_without_output": sorted(set(published.frame_stamp) - set(result.outputs)),
        "output_outcomes": outcomes,
        "requested_rate_hz": settings.rate_hz, "warmup_frames": settings.warmup_frames,
        "publish_rate_hz": round((published_count - 1) / publish_span_s, 3) if publish_span_s > 0 else None,
        "processed_rate_hz": round((len(receipts) - 1) / output_span_s, 3) if output_span_s > 0 else None,
        "latency_ms": _latency_summary(latencies),
        "class_ids_from": "node label_info" if node_labels else ("model labels" if labels else "class names"),
        "recorded_bag": str(settings.record_bag) if settings.record_bag else None,
        "lockstep": settings.lockstep,
        "lockstep_timeouts": published.lockstep_timeouts if settings.lockstep else None,
        "frame_accounting": frame_accounting(published_count, len(result.outputs), published.counters_before,
                                             published.counters_after),
    }
    without = result.report["frames_without_output"]
    if without:
        accounting = result.report["frame_accounting"]
        if "lost_in_transport" in accounting:
            where = (f"{accounting['lost_in_transport']} lost in transport before the node, "
                     f"{accounting['dropped_by_node_queue']} dropped by the node's newest-frame queue (it was "
                     f"busy), {sum(accounting['failed_by_node'].values())} failed in the node")
        else:
            where = accounting["unknown_because"]
        result.warnings.append(f"{without} of {published_count} published frames got no output: {where}")
    return result


def frame_accounting(published: int, answered: int, before: dict[str, int] | None,
                     after: dict[str, int] | None) -> dict:
    """What happened to every published frame, from the node's counters before and after the run."""
    if before is None or after is None:
        return {"published": published, "answered": answered,
                "unknown_because": "the node's /diagnostics counters for the input topic were not received "
                                   "(not an ssd_ros detector, or /diagnostics not reachable)"}

    def delta(name: str) -> int:
        return after.get(name, 0) - before.get(name, 0)

    received = delta("received")
    failed = {name.split(": ", 1)[1]: delta(name) for name in sorted(set(before) | set(after))
              if name.startswith("failed: ") and delta(name)}
    return {"published": published, "received_by_node": received, "lost_in_transport": published - received,
            "dropped_by_node_queue": delta("dropped"), "failed_by_node": failed,
            "processed_by_node": delta("processed"), "answered": answered}


def _latency_summary(latencies: list[float]) -> dict[str, float] | None:
    if not latencies:
        return None
    values = np.asarray(latencies)
    summary = {f"p{p}": round(float(np.percentile(values, p)), 3) for p in LATENCY_PERCENTILES}
    summary.update(mean=round(float(values.mean()), 3), max=round(float(values.max()), 3), count=len(latencies))
    return summary


def _record_outputs_truth_and_labels(recorder: BagWriter, settings: OnlineSettings, published: _Published,
                                     replay: _Replay, truth_of_frame: dict[int, BoxRecord],
                                     truth_classes: tuple[str, ...], frames: list[FrameKey]) -> None:
    """Complete the recording (frames are in already): outputs as received, LabelInfos, re-stamped truth."""
    store = bag_typestore()
    for receipt_ns, raw in replay.outputs:
        header = store.deserialize_cdr(raw, DETECTION_2D_ARRAY).header
        if stamp_to_ns(header.stamp) not in published.warmup_stamps:
            recorder.write(settings.detections_topic, DETECTION_2D_ARRAY, receipt_ns, raw)
    if replay.label_info_raw is not None:
        recorder.write(sibling_topic(settings.detections_topic, LABEL_INFO_TOPIC), LABEL_INFO, published.first_ns,
                       replay.label_info_raw, latched=True)
    recorder.write(sibling_topic(RECORDED_TRUTH_TOPIC, LABEL_INFO_TOPIC), LABEL_INFO, published.first_ns,
                   label_info(recorder.store, published.first_ns, "", truth_classes), latched=True)
    for index, record in sorted(truth_of_frame.items()):
        stamp = published.frame_stamp.get(index)
        if stamp is not None:
            recorder.write(RECORDED_TRUTH_TOPIC, DETECTION_2D_ARRAY, stamp,
                           detection_array(recorder.store, stamp, frames[index].frame_id, record.boxes,
                                           record.names, difficult=record.difficult))


@dataclass(frozen=True)
class OnlineMode:
    """The frames over DDS through the ssd_detector node (mode_types.EvaluationMode)."""

    image_topic: str
    settings: OnlineSettings
    labels: dict[str, str]
    model_classes: tuple[str, ...] | None
    context: dict[str, Any]
    name: str = "online"

    def run(self, given: ModeInput) -> ModeOutput:
        return run_online(given.bag, self.image_topic, given.frames, given.wanted, self.settings,
                          given.truth_of_frame, given.truth_classes, self.labels)
