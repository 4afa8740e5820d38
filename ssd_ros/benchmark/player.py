"""The benchmark's player process: camera frames from memory, published at a rate it is told, freshly stamped.

    python -m ssd_ros.benchmark.player --topics /a/image,/b/image [--width 640 --height 480 --encoding rgb8]

Contract: a camera driver's stand-in that costs as little as a bag player from memory: every frame
(:func:`ssd_ros.benchmark.frames.benchmark_frames`) becomes a sensor_msgs/Image and is serialised
once; a publish patches the header stamp into those bytes and publishes them as they are, with
sensor-data QoS. The stamp is the system clock at publish (nanoseconds), the clock the monitor reads.
Its DDS settings are the node's (:func:`ssd_ros.ros.transport.configure_transport`).

Protocol on stdin/stdout, one JSON object per line. At start it prints ``{"ready": true, ...}``; then
for each command ``{"rate": HZ, "seconds": S, "cameras": [i, ...]}`` (cameras: indices into
``--topics``, all when absent) it waits until every chosen topic has a subscriber (``--wait`` s), plays
``S`` seconds at ``HZ`` per camera and answers ``{"stamps": [[ns, ...] per chosen camera], "elapsed":
s}``, or ``{"error": "..."}``. Cameras tick together (``--phase sync``, as hardware-synchronised
cameras) or spread evenly over the period (``--phase spread``). A player that falls more than a period
behind rebases its schedule instead of bursting, so the achieved rate shows its limit. It exits at the
end of stdin.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

PHASES = ("sync", "spread")


def schedule_offsets(cameras: int, period: float, phase: str) -> list[float]:
    """Each camera's offset within a period."""
    return [camera * period / cameras if phase == "spread" else 0.0 for camera in range(cameras)]


def play(publishers: list, payloads: list[bytes], rate: float, seconds: float, phase: str) -> dict:
    from ssd_ros.stamps import restamp

    period = 1.0 / rate
    offsets = schedule_offsets(len(publishers), period, phase)
    stamps: list[list[int]] = [[] for _ in publishers]
    started = tick = time.monotonic()
    end, index = started + seconds, 0
    while tick < end:
        for camera, (publisher, offset) in enumerate(zip(publishers, offsets, strict=True)):
            delay = tick + offset - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            stamp = time.time_ns()
            publisher.publish(restamp(payloads[index % len(payloads)], stamp))
            stamps[camera].append(stamp)
        index += 1
        tick += period
        if time.monotonic() - tick > period:
            tick = time.monotonic()  # fell behind: rebase rather than burst
    return {"stamps": stamps, "elapsed": time.monotonic() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", required=True, help="comma-separated image topics, one per camera")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--encoding", default="rgb8", choices=("rgb8", "bgr8"))
    parser.add_argument("--frames", type=int, default=16, help="distinct frames held in memory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--phase", default="sync", choices=PHASES)
    parser.add_argument("--wait", type=float, default=30.0, help="seconds to wait for subscribers")
    args = parser.parse_args(argv)

    from ssd_ros.ros.transport import configure_transport

    configure_transport()  # before rclpy starts DDS: the node's transport settings
    import numpy as np
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from rclpy.serialization import serialize_message
    from sensor_msgs.msg import Image

    from ssd_ros.benchmark.frames import benchmark_frames

    topics = [topic for topic in args.topics.split(",") if topic]
    frames = benchmark_frames(args.frames, args.width, args.height, args.seed)
    payloads = []
    for frame in frames:
        pixels = frame if args.encoding == "rgb8" else frame[:, :, ::-1]
        message = Image(height=args.height, width=args.width, encoding=args.encoding, is_bigendian=0,
                        step=args.width * 3)
        message.header.frame_id = "benchmark_camera"
        message.data = np.ascontiguousarray(pixels).tobytes()
        payloads.append(serialize_message(message))
    rclpy.init()
    node = rclpy.create_node("ssd_ros_benchmark_player")
    publishers = [node.create_publisher(Image, topic, qos_profile_sensor_data) for topic in topics]
    print(json.dumps({"ready": True, "topics": topics, "bytes_per_frame": len(payloads[0])}), flush=True)
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            command = json.loads(line)
            chosen = [publishers[index] for index in command.get("cameras", range(len(publishers)))]
            deadline = time.monotonic() + args.wait
            while any(publisher.get_subscription_count() == 0 for publisher in chosen):
                if time.monotonic() > deadline:
                    missing = [p.topic_name for p in chosen if p.get_subscription_count() == 0]
                    print(json.dumps({"error": f"no subscriber on {missing} within {args.wait:g} s"}), flush=True)
                    break
                time.sleep(0.05)
            else:
                print(json.dumps(play(chosen, payloads, float(command["rate"]), float(command["seconds"]),
                                      args.phase)), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
