"""Helpers of the evaluation tests: the command line in-process, its report, small bags of synthetic scenes."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from ssd_ros.bags.messages import detection_array
from ssd_ros.bags.reader import Bag
from ssd_ros.bags.types import COMPRESSED_IMAGE, DETECTION_2D_ARRAY, IMAGE, bag_typestore
from ssd_ros.bags.writer import BagWriter
from ssd_ros.synthetic import render_scene

IMAGE_TOPIC = "/camera/image_raw"
COMPRESSED_TOPIC = "/camera/image_raw/compressed"
TRUTH_TOPIC = "/ground_truth/detections"


def run_cli(args: list[str]) -> int:
    from ssd_ros.cli import main

    return main([str(arg) for arg in args])


def eval_report(report_dir: Path, *args) -> tuple[int, dict | None]:
    """``ssd-ros eval ARGS --report report_dir``: exit code and report.json (None when not written)."""
    code = run_cli(["eval", *args, "--report", report_dir])
    report = report_dir / "report.json"
    return code, json.loads(report.read_text()) if report.is_file() else None


def assert_frames_accounted(report: dict) -> None:
    frames = report["frames"]
    assert frames["read"] == frames["evaluated"] + frames["unmatched"] + frames["unreadable"], frames
    truth = report["ground_truth"]
    assert sum(truth["outcomes"].values()) == truth["records"], truth


START_NS = 1_700_000_000_000_000_000
PERIOD_NS = 100_000_000


def stamp_of(index: int) -> int:
    return START_NS + index * PERIOD_NS


def header(store, stamp: int, frame_id: str = "camera"):
    return store.types["std_msgs/msg/Header"](
        stamp=store.types["builtin_interfaces/msg/Time"](sec=stamp // 10**9, nanosec=stamp % 10**9), frame_id=frame_id)


def scene_bag(path, frames: int = 6, compressed: bool = False, rename: dict[str, str] | None = None,
              truth_frame_id: str = "camera", edit_truth=None, storage: str = "sqlite3", also_raw: bool = False):
    """Synthetic frames and their ground truth topic; ``rename`` changes class names in the ground truth,
    ``edit_truth(index, boxes, names) -> (boxes, names)`` changes the boxes written for frame ``index``;
    ``also_raw`` with ``compressed`` writes each frame on both camera topics."""
    rng = np.random.default_rng(5)
    rename = rename or {}
    with BagWriter(path, storage) as writer:
        store = writer.store
        for index in range(frames):
            image, objects = render_scene(rng, 320, 240)
            stamp = stamp_of(index)
            if compressed:
                data = cv2.imencode(".jpg", image[:, :, ::-1])[1].reshape(-1)
                writer.write(IMAGE_TOPIC + "/compressed", COMPRESSED_IMAGE, stamp, store.types[COMPRESSED_IMAGE](
                    header=header(store, stamp), format="jpeg", data=data))
            if not compressed or also_raw:
                writer.write(IMAGE_TOPIC, IMAGE, stamp, store.types[IMAGE](
                    header=header(store, stamp), height=240, width=320, encoding="rgb8", is_bigendian=0, step=960,
                    data=image.reshape(-1)))
            boxes = np.array([o[1:] for o in objects], np.float64).reshape(-1, 4)
            names = [rename.get(o[0], o[0]) for o in objects]
            if edit_truth is not None:
                boxes, names = edit_truth(index, boxes, names)
            writer.write(TRUTH_TOPIC, DETECTION_2D_ARRAY, stamp,
                         detection_array(store, stamp, truth_frame_id, boxes, names))
    return path


def corrupt_frames(source: Path, out: Path, compressed: bool) -> tuple[Path, str]:
    """A copy of a ``scene_bag`` whose frame 2 has truncated pixels (or a corrupt JPEG) and frame 4 broken CDR."""
    topic = IMAGE_TOPIC + ("/compressed" if compressed else "")
    store = bag_typestore()
    with Bag(source) as reader, BagWriter(out) as writer:
        for name in (topic, TRUTH_TOPIC):
            for message in reader.messages(name):
                raw = bytes(message.raw)
                if name == topic and message.index == 2:
                    msg = reader.decode(message)
                    if compressed:
                        msg.data = msg.data[: len(msg.data) // 3].copy()  # a JPEG cut short
                        msg.data[:2] = 0  # ... and without its start marker
                    else:
                        msg.data = msg.data[:1000]  # a truncated Image: rows missing
                    raw = bytes(store.serialize_cdr(msg, message.msgtype))
                if name == topic and message.index == 4:
                    raw = raw[:30]  # not even valid CDR
                writer.write(name, message.msgtype, message.log_ns, raw)
    return out, topic
