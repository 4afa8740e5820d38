"""A stand-in for a third-party camera driver: plain rclpy, nothing of ssd_ros, its DDS settings from its env.

    python benchmarks/camera_publisher.py --width 640 --height 480 --rate 30 --frames 200 [--topic T]

Publishes ``--frames`` rgb8 Images (random pixels, made once) with sensor-data QoS, as camera
drivers do, stamping frame i with sec=i+1 so a receiver can tell exactly which arrived. It waits for
a subscriber first, then publishes at ``--rate`` and prints one JSON line: frames published and the
rate achieved. Used by benchmarks/bench_transport.py and test/ros/test_frame_delivery.py.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import rclpy
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topic", default="/camera/image_raw")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for a subscriber")
    args = parser.parse_args()

    rclpy.init()
    node = rclpy.create_node("third_party_camera")
    publisher = node.create_publisher(Image, args.topic, qos_profile_sensor_data)
    message = Image(height=args.height, width=args.width, encoding="rgb8", is_bigendian=0, step=args.width * 3)
    message.header.frame_id = "third_party_camera"
    message.data = np.random.default_rng(0).integers(0, 256, args.height * args.width * 3, np.uint8).tobytes()
    deadline = time.monotonic() + args.wait
    while publisher.get_subscription_count() == 0:
        if time.monotonic() > deadline:
            print(json.dumps({"error": f"no subscriber on {args.topic} within {args.wait} s"}), flush=True)
            return 1
        time.sleep(0.05)
    time.sleep(1.0)  # matching completes on each side on its own: give the subscriber's side time too
    started = time.monotonic()
    for index in range(args.frames):
        message.header.stamp.sec = index + 1
        publisher.publish(message)
        time.sleep(max(0.0, started + (index + 1) / args.rate - time.monotonic()))
    elapsed = time.monotonic() - started
    time.sleep(0.5)
    print(json.dumps({"published": args.frames, "rate_hz": round(args.frames / elapsed, 2)}), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
