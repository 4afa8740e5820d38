"""``make demo``: the real detector node, a camera-like publisher, and what comes back, live.

With no camera and no ROS install: starts the ``ssd_detector`` node as its own process on the
embedded default model, publishes synthetic 640x480 scenes (the kind of scenes the default model
was trained on) as sensor_msgs/Image at ``--rate`` Hz over real DDS on loopback, prints every
Detection2DArray as it arrives with its latency, checks the detections against the scenes' known
objects, saves the first annotated frames from the node's ``debug_image`` topic, and stops cleanly
after ``--duration`` seconds.

    python -m ssd_ros.demo [--duration 20] [--rate 10] [--out demo_output] [--model M.onnx]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from ssd_ros.node_command import DetectorCommand
from ssd_ros.processes import interrupt_and_wait
from ssd_ros.sandbox import apply_localhost_environ
from ssd_ros.stamps import stamp_to_ns

CAMERA_TOPIC = "/demo/camera/image_raw"
DETECTIONS_TOPIC = "/demo/detections"
DEBUG_TOPIC = "/demo/debug_image"


def match_objects(truth: list[tuple], detections, iou_threshold: float = 0.5) -> int:
    """How many known objects a detection of the same class covers with IoU >= 0.5."""
    from ssd_ros.core.boxes import iou_one_to_many

    found = 0
    boxes = np.array([[d.bbox.center.position.x - d.bbox.size_x / 2, d.bbox.center.position.y - d.bbox.size_y / 2,
                       d.bbox.center.position.x + d.bbox.size_x / 2, d.bbox.center.position.y + d.bbox.size_y / 2]
                      for d in detections]).reshape(-1, 4)
    labels = [d.results[0].hypothesis.class_id for d in detections]
    for name, *box in truth:
        same = [i for i, label in enumerate(labels) if label == name]
        if same and iou_one_to_many(np.array(box), boxes[same]).max() >= iou_threshold:
            found += 1
    return found


SCENES = 30  # rendered once, then published in turn: rendering one 640x480 scene costs up to ~80 ms of CPU,
# which on the executor's thread would delay the detections it receives and inflate the latency it measures


class DemoCamera:
    """Publishes synthetic scenes and collects what the detector says about them."""

    def __init__(self, node, rate: float, out: Path, frames_to_save: int, seed: int) -> None:
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import Image
        from vision_msgs.msg import Detection2DArray

        from ssd_ros.synthetic import render_scene

        self.node = node
        rng = np.random.default_rng(seed)
        self.scenes = [render_scene(rng, 640, 480) for _ in range(SCENES)]
        self.out, self.frames_to_save = out, frames_to_save
        self.publisher = node.create_publisher(Image, CAMERA_TOPIC, qos_profile_sensor_data)
        node.create_subscription(Detection2DArray, DETECTIONS_TOPIC, self.on_detections, 10)
        node.create_subscription(Image, DEBUG_TOPIC, self.on_debug_image, qos_profile_sensor_data)
        self.truth: dict[tuple[int, int], list[tuple]] = {}
        self.sent = self.received = self.objects = self.objects_found = self.false_alarms = 0
        self.latencies: list[float] = []
        self.saved: list[Path] = []
        self.lock = threading.Lock()
        node.create_timer(1.0 / rate, self.publish_frame)

    def publish_frame(self) -> None:
        from ssd_ros.ros.conversions import frame_to_image

        frame, objects = self.scenes[self.sent % len(self.scenes)]
        msg = frame_to_image(frame, self.header())
        with self.lock:
            self.truth[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = objects
            self.sent += 1
        self.publisher.publish(msg)

    def header(self):
        from std_msgs.msg import Header

        return Header(stamp=self.node.get_clock().now().to_msg(), frame_id="demo_camera_optical")

    def on_detections(self, msg) -> None:
        now_ns = self.node.get_clock().now().nanoseconds
        stamp_ns = stamp_to_ns(msg.header.stamp)
        latency_ms = (now_ns - stamp_ns) / 1e6
        with self.lock:
            objects = self.truth.pop((msg.header.stamp.sec, msg.header.stamp.nanosec), [])
            found = match_objects(objects, msg.detections)
            self.received += 1
            self.objects += len(objects)
            self.objects_found += found
            self.false_alarms += max(0, len(msg.detections) - found)
            self.latencies.append(latency_ms)
        listed = ", ".join(f"{d.results[0].hypothesis.class_id} {d.results[0].hypothesis.score:.2f}"
                           for d in msg.detections) or "nothing"
        print(f"[detections] frame {self.received:4d}: {listed:<60} ({found}/{len(objects)} objects, "
              f"{latency_ms:5.1f} ms)", flush=True)

    def on_debug_image(self, msg) -> None:
        if len(self.saved) >= self.frames_to_save:
            return
        from ssd_ros.ros.conversions import image_to_frame

        frame, color = image_to_frame(msg)
        path = self.out / f"annotated_{len(self.saved):02d}.png"
        cv2.imwrite(str(path), frame if color == "bgr" else frame[:, :, ::-1])
        self.saved.append(path)


def forward_output(process: subprocess.Popen, ready: threading.Event) -> None:
    assert process.stdout is not None  # started with stdout=subprocess.PIPE
    for line in process.stdout:
        print(f"[ssd_detector] {line.rstrip()}", flush=True)
        if "active:" in line:
            ready.set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of streaming")
    parser.add_argument("--rate", type=float, default=10.0, help="camera frames per second")
    parser.add_argument("--out", type=Path, default=Path("demo_output"), help="annotated frames go here")
    parser.add_argument("--frames", type=int, default=5, help="annotated frames to save")
    parser.add_argument("--model", default="", help="model file (default: the embedded default model)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    domain = apply_localhost_environ()  # loopback-only DDS, a domain of our own; the node inherits it
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from ssd_ros.resources import default_model_path

    model = args.model or str(default_model_path())
    args.out.mkdir(parents=True, exist_ok=True)
    command = DetectorCommand(parameters={"model_path": model}, remappings=[
        ("image", CAMERA_TOPIC), ("detections", DETECTIONS_TOPIC), ("debug_image", DEBUG_TOPIC)]).python_command()
    print(f"demo: ROS_DOMAIN_ID={domain}, DDS on loopback only; starting the detector on {model}", flush=True)
    detector = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=dict(os.environ))
    ready = threading.Event()
    threading.Thread(target=forward_output, args=(detector, ready), daemon=True).start()
    if not ready.wait(timeout=60) or detector.poll() is not None:
        print("demo: the detector did not become active (see its output above)", file=sys.stderr)
        detector.kill()
        return 1

    rclpy.init()
    node = rclpy.create_node("demo_camera")
    camera = DemoCamera(node, args.rate, args.out, args.frames, args.seed)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    started = time.monotonic()
    try:
        while time.monotonic() - started < args.duration:
            executor.spin_once(timeout_sec=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        interrupt_and_wait(detector)
        node.destroy_node()
        rclpy.try_shutdown()

    elapsed = time.monotonic() - started
    latencies = np.array(camera.latencies) if camera.latencies else np.zeros(1)
    print("\ndemo summary")
    print(f"  frames published       {camera.sent} ({camera.sent / elapsed:.1f} Hz)")
    print(f"  detection arrays       {camera.received} ({camera.received / elapsed:.1f} Hz); the node keeps the "
          "newest frame when busy, and reports drops on /diagnostics")
    print(f"  objects found          {camera.objects_found}/{camera.objects} "
          f"({camera.objects_found / max(1, camera.objects):.0%}), {camera.false_alarms} extra detections")
    print(f"  latency stamp->result  p50 {np.median(latencies):.1f} ms, max {latencies.max():.1f} ms")
    print(f"  annotated frames       {', '.join(str(p) for p in camera.saved) or 'none'}")
    print(f"  detector exit code     {detector.returncode}")
    return 0 if camera.received > 0 and detector.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
