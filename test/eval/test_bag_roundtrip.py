"""Round trip: dataset -> `ssd-ros bag from-dataset` -> `ssd-ros eval` gives exactly the direct mAP.

Offline mode on every storage and image transport, ground truth from the bag's topic or from the
dataset files in each format (VOC, COCO JSON, YOLO), and recorded mode on a detections topic
recorded the way rosbag2 records the node (rclpy CDR, written with rosbags' own writer).
"""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from eval_helpers import COMPRESSED_TOPIC, IMAGE_TOPIC, TRUTH_TOPIC, assert_frames_accounted, eval_report

from ssd_ros.datasets import load_dataset


def assert_same_metrics(report: dict, direct) -> None:
    metrics = report["metrics"]
    assert (metrics["map"], metrics["map_50"], metrics["map_75"]) == (direct.map, direct.map_50, direct.map_75)
    assert {name: value["ap_50"] for name, value in metrics["per_class"].items()} == direct.ap_50_per_class
    assert metrics["images"] == direct.images and metrics["ground_truth_boxes"] == direct.ground_truth_boxes


@pytest.mark.parametrize("storage, compressed", [("sqlite3", False), ("mcap", False), ("sqlite3", True),
                                                 ("mcap", True)])
def test_offline_equals_direct_evaluation(dataset_bag, direct_metrics, tmp_path, storage, compressed):
    bag = dataset_bag(storage, compressed)
    code, report = eval_report(tmp_path, "--bag", bag, "--image-topic", COMPRESSED_TOPIC if compressed else IMAGE_TOPIC,
                               "--gt-topic", TRUTH_TOPIC)
    assert code == 0
    assert_same_metrics(report, direct_metrics)
    assert report["frames"] == {"read": 20, "evaluated": 20, "unmatched": 0, "unreadable": 0,
                                "evaluated_without_output": 0}
    assert report["ground_truth"]["outcomes"]["matched"] == 20 and report["warnings"] == []
    assert {"report.json", "report.md", "pr_curves.png"} <= {p.name for p in tmp_path.iterdir()}
    assert report["offline"]["frames_per_second"] > 0


def write_coco(dataset, path) -> None:
    images, annotations = [], []
    for image_id, item in enumerate(dataset):
        images.append({"id": image_id, "file_name": item.image_path.name, "width": item.width, "height": item.height})
        for box, class_index in zip(item.boxes.tolist(), item.class_indices.tolist(), strict=True):
            x1, y1, x2, y2 = box
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": class_index + 1,
                                "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(dataset.class_names)]
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))


def write_yolo(dataset, root) -> None:
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for item in dataset:
        shutil.copy(item.image_path, root / "images" / item.image_path.name)
        lines = [f"{c} {(x1 + x2) / 2 / item.width:.9f} {(y1 + y2) / 2 / item.height:.9f} "
                 f"{(x2 - x1) / item.width:.9f} {(y2 - y1) / item.height:.9f}"
                 for (x1, y1, x2, y2), c in zip(item.boxes.tolist(), item.class_indices.tolist(), strict=True)]
        (root / "labels" / f"{item.image_path.stem}.txt").write_text("\n".join(lines) + "\n")
    (root / "data.yaml").write_text(f"names: {list(dataset.class_names)}\ntest: images\n")


@pytest.mark.parametrize("gt_format", ["voc", "coco", "yolo"])
def test_ground_truth_from_dataset_files_matched_by_index(dataset_bag, synthetic_dataset, direct_metrics, tmp_path,
                                                          gt_format):
    dataset = load_dataset(synthetic_dataset, "voc")
    if gt_format == "voc":
        truth = synthetic_dataset
    elif gt_format == "coco":
        truth = tmp_path / "labels" / "instances.json"
        truth.parent.mkdir()
        shutil.copytree(synthetic_dataset / "JPEGImages", truth.parent, dirs_exist_ok=True)
        write_coco(dataset, truth)
    else:
        truth = tmp_path / "yolo"
        write_yolo(dataset, truth)
    code, report = eval_report(tmp_path / "report", "--bag", dataset_bag("mcap", True), "--image-topic",
                               COMPRESSED_TOPIC, "--gt", truth)
    assert code == 0, report
    assert report["source"]["match"] == "index" and report["ground_truth"]["outcomes"]["matched"] == 20
    if gt_format == "yolo":  # normalised text coordinates: equal to the printed precision, not bit for bit
        assert report["metrics"]["map_50"] == pytest.approx(direct_metrics.map_50, abs=1e-3)
    else:
        assert_same_metrics(report, direct_metrics)


def test_recorded_detections_topic_equals_direct_evaluation(dataset_bag, detector, postprocess, direct_metrics,
                                                            tmp_path):
    """Detections as the node publishes them, serialised by rclpy as rosbag2 records them, in a copy of the bag."""
    from rclpy.serialization import serialize_message
    from rosbags.highlevel import AnyReader
    from rosbags.rosbag2 import StoragePlugin, Writer
    from std_msgs.msg import Header

    from ssd_ros.bags.types import bag_typestore
    from ssd_ros.camera_frames import image_to_frame
    from ssd_ros.ros.conversions import detections_to_msg, hypothesis_class_ids

    source, recorded = dataset_bag("sqlite3", False), tmp_path / "robot_bag"
    class_ids = hypothesis_class_ids(detector.spec.labels, label_as_id=True)  # numeric ids, names via LabelInfo
    with AnyReader([source], default_typestore=bag_typestore()) as reader, \
            Writer(recorded, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connections = {c.topic: writer.add_connection(c.topic, c.msgtype, msgdef=c.msgdef.data, rihs01=c.digest)
                       for c in reader.connections if c.topic != "/ground_truth/label_info"}
        label_connection = writer.add_connection("/ssd/label_info", "vision_msgs/msg/LabelInfo",
                                                 typestore=bag_typestore())
        detections_connection = writer.add_connection("/ssd/detections", "vision_msgs/msg/Detection2DArray",
                                                      typestore=bag_typestore())
        store = bag_typestore()
        entries = [store.types["vision_msgs/msg/VisionClass"](class_id=i, class_name=name)
                   for i, name in enumerate(detector.spec.labels) if i > 0]
        writer.write(label_connection, 1, store.serialize_cdr(store.types["vision_msgs/msg/LabelInfo"](
            header=store.types["std_msgs/msg/Header"](stamp=store.types["builtin_interfaces/msg/Time"](sec=0,
                                                                                                         nanosec=0),
                                                      frame_id=""), class_map=entries, threshold=0.01),
            "vision_msgs/msg/LabelInfo"))
        for connection, timestamp, raw in reader.messages():
            if connection.topic not in connections:
                continue
            writer.write(connections[connection.topic], timestamp, raw)
            if connection.topic == IMAGE_TOPIC:
                image = reader.deserialize(raw, connection.msgtype)
                frame, color = image_to_frame(image)
                header = Header(frame_id=image.header.frame_id)
                header.stamp.sec, header.stamp.nanosec = image.header.stamp.sec, image.header.stamp.nanosec
                msg = detections_to_msg(detector.detect(frame, color, postprocess), header, class_ids)
                writer.write(detections_connection, timestamp + 15_000_000, serialize_message(msg))
    code, report = eval_report(tmp_path / "report", "--bag", recorded, "--image-topic", IMAGE_TOPIC,
                               "--gt-topic", TRUTH_TOPIC, "--detections-topic", "/ssd/detections")
    assert code == 0, report
    assert report["mode"] == "recorded" and report["recorded"]["message_outcomes"] == {"matched": 20}
    assert_same_metrics(report, direct_metrics)
    assert_frames_accounted(report)
    assert report["detections"]["of_classes_not_in_ground_truth"] == {}


def test_pr_curve_and_voc07_in_the_report_come_from_the_same_evaluation(dataset_bag, direct_metrics, tmp_path):
    code, report = eval_report(tmp_path, "--bag", dataset_bag(), "--image-topic", IMAGE_TOPIC, "--gt-topic",
                               TRUTH_TOPIC)
    assert code == 0
    curves = report["metrics"]["precision_at_recall"]
    assert len(curves["recall"]) == 101
    for name, values in report["metrics"]["per_class"].items():
        assert values["ap_50"] == pytest.approx(float(np.mean(curves[name])))
        assert values["ap_voc07"] == pytest.approx(float(np.mean(curves[name][::10])))
        assert values["ap_voc07"] == direct_metrics.ap_voc07_per_class[name]
    assert "| circle |" in (tmp_path / "report.md").read_text()
