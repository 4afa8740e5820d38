"""``ssd-ros doctor``: on a live graph, are frames lost between the camera and the detector, and what to change.

    ssd-ros doctor [--image-topic /camera/image_raw] [--seconds 5] [--json]

Contract: listens for ``--seconds`` and reports, as lines (or one JSON object):
- the camera topic as this process receives it: message type, publishers (node names, reliability),
  frame size (bytes, width x height, encoding), received rate, and frames missing judged from the gaps
  between header stamps (a camera stamps at a steady period; a gap of k periods means k - 1 lost);
- the detector as it reports itself on /diagnostics for that topic: input rate, processed rate, and
  the change of its received / dropped / failed counters over the window;
- the DDS settings in effect in this shell (RMW, Fast DDS profile or builtin transports, discovery
  range, domain), which is what the camera driver started from this shell gets too;
- findings, each with the fix: frames above Fast DDS's 512 KB shared-memory default lost in transport
  (give the camera driver config/fastdds_large_frames.xml, or compressed transport), a detector slower
  than the camera (its newest-frame queue drops by design: what to change), frames failing in the node.
This process takes the same large-frame transport as the node (ssd_ros.ros.transport), so what it
receives is what the node can receive. Exit code 0: nothing found; 1: findings; 2: bad usage.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

SHM_DEFAULT_SEGMENT = 512 * 1024  # Fast DDS's default shared-memory segment (bytes)
LOSS_RATE_SHARE = 0.8
DIAGNOSTIC_KEYS = {"frames received": "received", "frames processed": "processed",
                   "frames dropped (newer frame arrived first)": "dropped", "input rate (Hz)": "input_rate_hz",
                   "processed rate (Hz)": "processed_rate_hz"}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "doctor", help="check a live camera -> detector graph for lost frames and say what to change",
        description=__doc__.splitlines()[0])
    parser.add_argument("--image-topic", default="/camera/image_raw",
                        help="the camera topic the detector subscribes to (default: %(default)s); for "
                             "CompressedImage give the .../compressed topic")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to listen (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    parser.set_defaults(func=run)


@dataclass
class TopicObservation:
    topic: str
    message_type: str | None = None
    publishers: list[dict] = field(default_factory=list)
    frames: int = 0
    bytes_per_frame: int | None = None
    width: int | None = None
    height: int | None = None
    encoding: str | None = None
    rate_hz: float | None = None
    missing_frames: int | None = None  # judged from header stamp gaps


@dataclass
class DetectorObservation:
    status_name: str | None = None
    input_rate_hz: float | None = None
    processed_rate_hz: float | None = None
    received: int | None = None  # in the window
    dropped: int | None = None
    failed: dict[str, int] = field(default_factory=dict)
    last_error: str = ""


def missing_from_stamps(stamps_ns: list[int]) -> int | None:
    """Frames missing between the first and last stamp of a steady camera, or None if it is not steady."""
    unique = np.unique(np.asarray(stamps_ns, dtype=np.int64))
    if unique.size < 5:
        return None
    gaps = np.diff(unique)
    period = float(np.median(gaps))
    if period <= 0:
        return None
    expected = round((unique[-1] - unique[0]) / period) + 1
    return max(0, expected - int(unique.size))


def dds_settings(environ: dict[str, str] | os._Environ[str] = os.environ) -> dict[str, str]:
    names = ("RMW_IMPLEMENTATION", "FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE",
             "FASTDDS_BUILTIN_TRANSPORTS", "ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_LOCALHOST_ONLY", "ROS_DOMAIN_ID",
             "ROS_DISCOVERY_SERVER")
    return {name: environ.get(name, "(unset)") for name in names}


def findings(camera: TopicObservation, detector: DetectorObservation, profile_hint: str) -> list[str]:
    """What is wrong, each with what to change; [] when frames flow and the detector keeps up."""
    found = []
    if not camera.publishers:
        return [f"nothing publishes {camera.topic}: start the camera driver, or give the topic it publishes "
                "(ros2 topic list -t) with --image-topic and the same remap to the detector"]
    if camera.frames == 0:
        found.append(f"{len(camera.publishers)} publisher(s) on {camera.topic}, but no frame arrived here in the "
                     "window: check the QoS (ros2 topic info -v) and that the camera is streaming")
    large = camera.bytes_per_frame is not None and camera.bytes_per_frame > SHM_DEFAULT_SEGMENT
    # Missing stamps here, or the detector receiving clearly less than the camera sends (rates are over
    # different windows, so a small gap is noise, not loss).
    lost_here = bool(camera.missing_frames)
    sent_rate = (camera.rate_hz or 0.0) * (1 + (camera.missing_frames or 0) / max(camera.frames, 1))
    lost_at_node = detector.input_rate_hz is not None and detector.input_rate_hz < LOSS_RATE_SHARE * sent_rate
    if lost_here or lost_at_node:
        cause = (f"frames of {(camera.bytes_per_frame or 0) / 1024:.0f} KB exceed Fast DDS's 512 KB shared-memory "
                 "default, so the camera's Fast DDS sends them as UDP fragments, which get lost; " if large else "")
        found.append(f"frames are lost between the camera and the detector ({camera.missing_frames or 0} missing "
                     f"here in {camera.frames + (camera.missing_frames or 0)}; the detector receives "
                     f"{detector.input_rate_hz if detector.input_rate_hz is not None else '?'} Hz of a "
                     f"{camera.rate_hz or 0:.1f} Hz camera): {cause}fix: restart the camera driver with "
                     f"FASTRTPS_DEFAULT_PROFILES_FILE={profile_hint} (the detector loads the same file by itself), "
                     "or publish compressed images and start the detector with image_transport:=compressed")
    if detector.status_name is None:
        found.append(f"no detector reports {camera.topic} on /diagnostics: is ssd_detector running on this domain "
                     f"(ROS_DOMAIN_ID={os.environ.get('ROS_DOMAIN_ID', '0')}) and subscribed to this topic?")
        return found
    if detector.dropped and detector.received:
        share = detector.dropped / detector.received
        if share > 0.05:
            found.append(f"the detector is slower than the camera: it dropped {detector.dropped} of "
                         f"{detector.received} frames ({share:.0%}) because a newer one arrived first (by design: "
                         "latency stays bounded). To process more: a lighter model, another backend (openvino, "
                         "tensorrt), fewer num_threads fights on a busy CPU, or a lower camera rate")
    for kind, count in detector.failed.items():
        if count:
            found.append(f"{count} frames failed in the detector ({kind}): {detector.last_error}")
    return found


def run(args: argparse.Namespace) -> int:
    from ssd_ros.errors import UserError
    from ssd_ros.resources import share_path
    from ssd_ros.ros.transport import LARGE_FRAMES_PROFILE, configure_transport, discovery_range

    if args.seconds <= 0:
        raise UserError(f"--seconds must be positive, got {args.seconds}")
    shell = dds_settings()  # what this shell gives a camera driver, before this process adds its own
    transport = configure_transport()
    camera, detector = _observe(args.image_topic, args.seconds)
    profile = str(share_path(LARGE_FRAMES_PROFILE))
    found = findings(camera, detector, profile)
    report = {"camera": camera.__dict__, "detector": detector.__dict__, "dds": shell,
              "this_process_transport": transport.description, "discovery": discovery_range(),
              "findings": found}
    if args.json:
        print(json.dumps(report))
    else:
        _print_report(report)
    return 1 if found else 0


def _print_report(report: dict) -> None:
    camera, detector = report["camera"], report["detector"]
    publishers = ", ".join(f"{p['node']} ({p['reliability']})" for p in camera["publishers"]) or "none"
    size = (f"{camera['width']}x{camera['height']} {camera['encoding']}, {camera['bytes_per_frame'] / 1024:.0f} KB"
            if camera["bytes_per_frame"] else "no frame")
    print(f"camera  {camera['topic']} [{camera['message_type']}] from {publishers}")
    print(f"        {size}; {camera['frames']} frames at {camera['rate_hz'] or 0:.1f} Hz received here, "
          f"{camera['missing_frames'] if camera['missing_frames'] is not None else '?'} missing by their stamps")
    if detector["status_name"]:
        print(f"detector {detector['status_name']}: input {detector['input_rate_hz']} Hz, processed "
              f"{detector['processed_rate_hz']} Hz; in the window received {detector['received']}, dropped "
              f"{detector['dropped']}, failed {sum(detector['failed'].values())}")
    else:
        print("detector no /diagnostics status for this topic")
    print("dds     " + ", ".join(f"{name}={value}" for name, value in report["dds"].items() if value != "(unset)")
          + f"; {report['discovery']}")
    for finding in report["findings"]:
        print(f"FINDING {finding}")
    if not report["findings"]:
        print("ok      frames arrive and the detector keeps up")


def _observe(topic: str, seconds: float) -> tuple[TopicObservation, DetectorObservation]:
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import CompressedImage, Image

    from ssd_ros.ros.statistics import node_counters
    from ssd_ros.stamps import cdr_stamp_ns

    context = rclpy.context.Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node("ssd_ros_doctor", context=context)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        camera = TopicObservation(topic)
        deadline = time.monotonic() + min(seconds, 3.0)
        while time.monotonic() < deadline and not node.get_publishers_info_by_topic(topic):
            executor.spin_once(timeout_sec=0.1)  # discovery
        infos = node.get_publishers_info_by_topic(topic)
        camera.publishers = [{"node": _node_name(i.node_namespace, i.node_name),
                              "reliability": "reliable" if i.qos_profile.reliability == ReliabilityPolicy.RELIABLE
                              else "best effort"} for i in infos]
        camera.message_type = infos[0].topic_type if infos else None
        message_class = CompressedImage if camera.message_type == "sensor_msgs/msg/CompressedImage" else Image
        stamps: list[int] = []
        arrivals: list[float] = []
        first: list[bytes] = []

        def on_frame(raw: bytes) -> None:
            stamps.append(cdr_stamp_ns(raw))
            arrivals.append(time.monotonic())
            if not first:
                first.append(raw)

        statuses: list[tuple[float, dict, str, str]] = []

        def on_diagnostics(array) -> None:
            for status in array.status:
                if status.name.endswith(f": {_node_topic(topic)}"):
                    values = {entry.key: entry.value for entry in status.values}
                    statuses.append((time.monotonic(), node_counters(status), status.name,
                                     values.get("last bad input", "")))
                    for key, name in DIAGNOSTIC_KEYS.items():
                        if name.endswith("_hz") and key in values:
                            statuses[-1][1][name] = float(values[key])

        # A deep history: a busy machine delays this process's callbacks, and frames it has not taken yet
        # must not be counted as lost on the way.
        listening = QoSProfile(depth=100, reliability=ReliabilityPolicy.BEST_EFFORT,
                               durability=qos_profile_sensor_data.durability)
        node.create_subscription(message_class, topic, on_frame, listening, raw=True)
        node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 10)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.05)
        camera.frames = len(stamps)
        if first:
            camera.bytes_per_frame = len(first[0])
            message = deserialize_message(first[0], message_class)
            if message_class is Image:
                camera.width, camera.height, camera.encoding = int(message.width), int(message.height), message.encoding
            else:
                camera.encoding = message.format
        if len(arrivals) > 1:
            camera.rate_hz = round((len(arrivals) - 1) / (arrivals[-1] - arrivals[0]), 2)
        camera.missing_frames = missing_from_stamps(stamps)
        detector = DetectorObservation()
        if statuses:
            _, last, name, last_error = statuses[-1]
            detector.status_name, detector.last_error = name, last_error
            detector.input_rate_hz = last.get("input_rate_hz")
            detector.processed_rate_hz = last.get("processed_rate_hz")
        if len(statuses) >= 2:  # counters are compared across the window
            _, earliest, _, _ = statuses[0]
            detector.received = last.get("received", 0) - earliest.get("received", 0)
            detector.dropped = last.get("dropped", 0) - earliest.get("dropped", 0)
            detector.failed = {key[len("failed: "):]: last[key] - earliest.get(key, 0) for key in last
                               if key.startswith("failed: ") and last[key] - earliest.get(key, 0)}
        executor.shutdown()
        node.destroy_node()
        return camera, detector
    finally:
        context.try_shutdown()


def _node_name(namespace: str, name: str) -> str:
    """The publisher's node name; Jazzy reports placeholders until node names are discovered."""
    if name.startswith("_NODE_NAME_UNKNOWN"):
        return "a node (name not yet discovered)"
    return f"{namespace.rstrip('/')}/{name}"


def _node_topic(topic: str) -> str:
    """The detector names its input without /compressed (it subscribes <topic>/compressed itself)."""
    return topic.removesuffix("/compressed")


if __name__ == "__main__":
    sys.exit(__import__("ssd_ros.cli", fromlist=["main"]).main(["doctor", *sys.argv[1:]]))
