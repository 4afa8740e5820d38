"""``ssd-ros bag``: make evaluation bags from labelled datasets, and summarise bags.

    ssd-ros bag from-dataset --data DIR [--format auto|voc|coco|yolo] [--split S] --out BAG
                             [--storage sqlite3|mcap] [--compressed] [--rate 10] [--image-topic T]
                             [--gt-topic T] [--frame-id camera]
    ssd-ros bag info BAG [--json]

``from-dataset`` writes the images (sensor_msgs/Image bgr8, or CompressedImage with --compressed),
one ground-truth vision_msgs/Detection2DArray per image and a LabelInfo (see from_dataset.py), then
evaluate with ``ssd-ros eval --bag BAG --image-topic T --gt-topic T``. ``info`` lists every topic
with its type, message count, rate and time span, and the bag's duration. Exit code 2 on bad input.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ssd_ros.datasets import FORMAT_CHOICES
from ssd_ros.datasets.cli import add_voc_origin_argument


def add_parser(subparsers) -> None:
    bag = subparsers.add_parser("bag", help="make evaluation bags from datasets; summarise bags",
                                description="Make evaluation bags from labelled datasets, and summarise bags.")
    commands = bag.add_subparsers(dest="bag_command", required=True, metavar="SUBCOMMAND")
    make = commands.add_parser("from-dataset", help="a labelled dataset as a bag of frames plus ground truth",
                               description="Write a labelled dataset as a bag: frames, ground truth, LabelInfo.")
    make.add_argument("--data", type=Path, required=True, help="dataset folder (or COCO .json)")
    make.add_argument("--format", default="auto", choices=FORMAT_CHOICES, help="(default: %(default)s)")
    add_voc_origin_argument(make)
    make.add_argument("--split", default=None, help="dataset split (default: every image)")
    make.add_argument("--out", type=Path, required=True, help="bag to create (must not exist)")
    make.add_argument("--storage", choices=["sqlite3", "mcap"], default="sqlite3")
    make.add_argument("--compressed", action="store_true",
                      help="sensor_msgs/CompressedImage on <image-topic>/compressed (the files' JPEG/PNG bytes)")
    make.add_argument("--rate", type=float, default=10.0, help="frame rate of the stamps, Hz")
    make.add_argument("--image-topic", default="/camera/image_raw")
    make.add_argument("--gt-topic", default="/ground_truth/detections")
    make.add_argument("--frame-id", default="camera")
    make.set_defaults(func=run_from_dataset)

    info = commands.add_parser("info", help="topics, types, counts, rates and duration of a bag",
                               description="Summarise a bag: topics, types, counts, rates, duration.")
    info.add_argument("bag", type=Path)
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=run_info)


def run_from_dataset(args: argparse.Namespace) -> int:
    from ssd_ros.bags.from_dataset import write_dataset_bag
    from ssd_ros.bags.reader import BagError
    from ssd_ros.datasets import DatasetError, detect_format, load_dataset

    try:
        data_format = detect_format(args.data) if args.format == "auto" else args.format
        dataset = load_dataset(args.data, data_format, args.split, voc_origin=args.voc_origin)
        summary = write_dataset_bag(dataset, args.out, args.storage, args.compressed, args.image_topic,
                                    args.gt_topic, args.rate, args.frame_id)
    except (DatasetError, BagError, ValueError) as error:
        print(f"ssd-ros bag from-dataset: {error}", file=sys.stderr)
        return 2
    print(f"wrote {summary.path} ({args.storage}): {summary.frames} frames on {summary.image_topic}, "
          f"{summary.objects} objects on {summary.truth_topic}, classes on {summary.label_topic}")
    if summary.size_mismatches:
        print(f"warning: {summary.size_mismatches} images differ in size from their annotation", file=sys.stderr)
    print(f"evaluate: ssd-ros eval --bag {summary.path} --image-topic {summary.image_topic} "
          f"--gt-topic {summary.truth_topic} --report <folder>")
    return 0


def bag_summary(path: Path) -> dict:
    from ssd_ros.bags.reader import Bag

    with Bag(path) as bag:
        times = bag.topic_times()
        topics = []
        for name, topic in bag.topics.items():
            span = times.get(name)
            topics.append({"topic": name, "type": topic.msgtype, "count": topic.count,
                           "rate_hz": round(span.rate_hz, 3) if span and span.rate_hz else None,
                           "first_s": span.first_ns / 1e9 if span else None,
                           "last_s": span.last_ns / 1e9 if span else None})
        messages = sum(topic.count for topic in bag.topics.values())
        return {"bag": str(path), "format": "ROS 1" if bag.is_ros1 else "rosbag2", "messages": messages,
                "start_s": bag.start_ns / 1e9 if messages else None,
                "duration_s": (bag.end_ns - bag.start_ns) / 1e9 if messages else 0.0, "topics": topics}


def run_info(args: argparse.Namespace) -> int:
    from ssd_ros.bags.reader import BagError

    try:
        summary = bag_summary(args.bag)
    except BagError as error:
        print(f"ssd-ros bag info: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{summary['bag']} ({summary['format']}): {summary['messages']} messages, "
          f"{summary['duration_s']:.3f} s" + (f" from {summary['start_s']:.3f} s" if summary["start_s"] else ""))
    width = max([len(t["topic"]) for t in summary["topics"]] + [5])
    type_width = max([len(t["type"]) for t in summary["topics"]] + [4])
    print(f"  {'topic':<{width}}  {'type':<{type_width}}  {'count':>7}  {'rate Hz':>8}")
    for topic in summary["topics"]:
        rate = f"{topic['rate_hz']:.2f}" if topic["rate_hz"] else "-"
        print(f"  {topic['topic']:<{width}}  {topic['type']:<{type_width}}  {topic['count']:>7}  {rate:>8}")
    return 0
