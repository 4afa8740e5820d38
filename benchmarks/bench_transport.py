"""Frame delivery from a third-party camera into the detector node, by the camera's DDS settings.

    tools/run python benchmarks/bench_transport.py [--frames 200] [--rate 30] [--sizes 640x480,1280x720]

For every frame size and every camera setting (Fast DDS defaults; FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA;
ssd_ros's robot profile config/fastdds_large_frames.xml) it starts the ssd_detector node from a plain
shell (no Fast DDS variable: the node applies its own profile) and benchmarks/camera_publisher.py
(plain rclpy, nothing of ssd_ros) with that setting, publishes ``--frames`` rgb8 frames at
``--rate``, and reads how many the node received from its /diagnostics. Discovery stays on this
machine (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST), each run on a domain of its own. Prints a table
and, last, one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from ssd_ros import sandbox  # noqa: E402
from ssd_ros.node_command import DetectorCommand  # noqa: E402
from ssd_ros.resources import share_path  # noqa: E402
from ssd_ros.ros.transport import LARGE_FRAMES_PROFILE  # noqa: E402

SETTINGS = {
    "Fast DDS defaults": {},
    "FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA": {"FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"},
    "ssd_ros robot profile": {"FASTRTPS_DEFAULT_PROFILES_FILE": str(share_path(LARGE_FRAMES_PROFILE))},
}


def plain_shell(domain: int, **extra: str) -> dict[str, str]:
    shell = {name: value for name, value in os.environ.items() if not name.startswith(("FASTRTPS_", "FASTDDS_"))}
    for name, value in sandbox.loopback_variables(os.environ.get("ROS_DISTRO")).items():  # discovery stays here
        if value is None:
            shell.pop(name, None)
        else:
            shell[name] = value
    shell["ROS_DOMAIN_ID"] = str(domain)
    shell.update(extra)
    return shell


def received_by_node(domain: int, camera_env: dict[str, str], width: int, height: int, frames: int,
                     rate: float) -> int:
    """Frames the node counted as received (its /diagnostics) while the camera published ``frames``."""
    node = subprocess.Popen(DetectorCommand(parameters={"publish_debug_image": False},
                                            remappings=[("image", "/camera/image_raw")]).python_command(),
                            env=plain_shell(domain), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watcher = subprocess.Popen([sys.executable, "-c", WATCHER, str(frames / rate + 15)], env=plain_shell(domain),
                               stdout=subprocess.PIPE, text=True)
    try:
        for line in node.stdout:  # type: ignore[union-attr]
            if "active:" in line:
                break
        camera = subprocess.run([sys.executable, str(HERE / "camera_publisher.py"), "--width", str(width),
                                 "--height", str(height), "--frames", str(frames), "--rate", str(rate)],
                                env=camera_env, capture_output=True, text=True, timeout=frames / rate + 90)
        if camera.returncode != 0:
            raise RuntimeError(f"camera_publisher failed: {camera.stdout} {camera.stderr}")
        time.sleep(3.0)  # the node's /diagnostics after the last frame
    finally:
        node.terminate()
        node.wait(timeout=30)
        watcher.terminate()
    return int(watcher.communicate(timeout=30)[0].strip().splitlines()[-1] or 0)


# A separate process (so the benchmark's own DDS settings cannot matter): prints the highest
# "frames received" the node reports on /diagnostics, whenever it is told to stop.
WATCHER = """
import signal, sys, time, rclpy
from diagnostic_msgs.msg import DiagnosticArray
best = [0]
def on(array):
    for status in array.status:
        for entry in status.values:
            if entry.key == "frames received":
                best[0] = max(best[0], int(entry.value))
def stop(*_):
    print(best[0], flush=True); sys.exit(0)
signal.signal(signal.SIGTERM, stop)
rclpy.init(); node = rclpy.create_node("bench_transport_watcher")
node.create_subscription(DiagnosticArray, "/diagnostics", on, 10)
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    rclpy.spin_once(node, timeout_sec=0.1)
stop()
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--sizes", default="640x480,1280x720")
    args = parser.parse_args()
    results = []
    print(f"{'camera setting':40s} {'size':>10s} {'received':>9s} {'share':>7s}", flush=True)
    for size in args.sizes.split(","):
        width, height = (int(value) for value in size.split("x"))
        for name, extra in SETTINGS.items():
            domain = sandbox.claim_domain_id()
            try:
                received = received_by_node(domain, plain_shell(domain, **extra), width, height, args.frames,
                                            args.rate)
            finally:
                sandbox.release_domain_id(domain)
            results.append({"camera": name, "size": size, "published": args.frames, "received": received,
                            "rate_hz": args.rate})
            print(f"{name:40s} {size:>10s} {received:>5d}/{args.frames} {received / args.frames:>7.0%}", flush=True)
    print(json.dumps({"frame_delivery": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
