"""Bags written in the test with rosbags' own writers (not the project's) evaluate correctly.

rosbag2 sqlite3 and mcap with raw rgb8 frames, ground truth as COCO JSON whose file names are the
frames' stamps (matched by stamp), and a ROS 1 .bag with the ground truth matched by index. The
reference is the Detector on the same rendered frames scored directly with pycocotools.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from eval_helpers import assert_frames_accounted, eval_report

from ssd_ros.eval.metrics import ImageDetections, ImageGroundTruth, evaluate
from ssd_ros.synthetic import CLASSES, render_scene

FRAMES = 12
START_NS = 1_712_345_678_000_000_000
PERIOD_NS = 33_333_333  # 30 Hz


@pytest.fixture(scope="module")
def scenes():
    rng = np.random.default_rng(23)
    return [render_scene(rng, 320, 240) for _ in range(FRAMES)]


@pytest.fixture(scope="module")
def reference(scenes, detector, postprocess):
    classes = sorted(CLASSES)
    truths, found = [], []
    for image, objects in scenes:
        truths.append(ImageGroundTruth(np.array([o[1:] for o in objects], np.float32).reshape(-1, 4),
                                       np.array([classes.index(o[0]) for o in objects], np.int64)))
        detections = detector.detect(image, "rgb", postprocess)
        found.append(ImageDetections(detections.boxes, detections.scores,
                                     np.array([classes.index(n) for n in detections.label_names], np.int64)))
    return evaluate(truths, found, classes)


def coco_truth(scenes, path, file_names) -> None:
    classes = sorted(CLASSES)
    images, annotations = [], []
    for image_id, ((image, objects), name) in enumerate(zip(scenes, file_names, strict=True)):
        images.append({"id": image_id + 100, "file_name": name, "width": image.shape[1], "height": image.shape[0]})
        for kind, x1, y1, x2, y2 in objects:
            annotations.append({"id": len(annotations) + 1, "image_id": image_id + 100,
                                "category_id": classes.index(kind) + 1, "bbox": [x1, y1, x2 - x1, y2 - y1],
                                "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
    path.write_text(json.dumps({"images": images, "annotations": annotations,
                                "categories": [{"id": i + 1, "name": n} for i, n in enumerate(classes)]}))


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_rosbag2_written_by_rosbags_evaluates_correctly(scenes, reference, tmp_path, storage):
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS2_HUMBLE)
    types = store.types
    bag = tmp_path / "camera_run"
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    with Writer(bag, version=8, storage_plugin=plugin) as writer:
        camera = writer.add_connection("/front/image_raw", "sensor_msgs/msg/Image", typestore=store)
        other = writer.add_connection("/front/camera_info", "sensor_msgs/msg/CameraInfo", typestore=store)
        for index, (image, _) in enumerate(scenes):
            stamp = START_NS + index * PERIOD_NS
            header = types["std_msgs/msg/Header"](
                stamp=types["builtin_interfaces/msg/Time"](sec=stamp // 10**9, nanosec=stamp % 10**9),
                frame_id="front_camera")
            message = types["sensor_msgs/msg/Image"](header=header, height=240, width=320, encoding="rgb8",
                                                     is_bigendian=0, step=960, data=image.reshape(-1))
            # log time = receipt on the robot, a few ms after the stamp
            writer.write(camera, stamp + 4_000_000, store.serialize_cdr(message, "sensor_msgs/msg/Image"))
            info = types["sensor_msgs/msg/CameraInfo"](
                header=header, height=240, width=320, distortion_model="plumb_bob", d=np.zeros(5), k=np.zeros(9),
                r=np.zeros(9), p=np.zeros(12), binning_x=0, binning_y=0,
                roi=types["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0,
                                                              do_rectify=False))
            writer.write(other, stamp + 4_000_000, store.serialize_cdr(info, "sensor_msgs/msg/CameraInfo"))
    labels = tmp_path / "labels.json"
    # as a labelling tool exports frames named by their stamp (ns)
    coco_truth(scenes, labels, [f"{START_NS + i * PERIOD_NS}.png" for i in range(FRAMES)])
    code, report = eval_report(tmp_path / "report", "--bag", bag, "--image-topic", "/front/image_raw", "--gt", labels,
                               "--match", "stamp")
    assert code == 0, report
    assert report["frames"]["evaluated"] == FRAMES and report["ground_truth"]["outcomes"]["matched"] == FRAMES
    assert report["metrics"]["map"] == reference.map and report["metrics"]["map_50"] == reference.map_50
    assert_frames_accounted(report)


def test_ros1_bag_written_by_rosbags_evaluates_correctly(scenes, reference, tmp_path):
    from rosbags.rosbag1 import Writer
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS1_NOETIC)
    types = store.types
    bag = tmp_path / "run.bag"
    with Writer(bag) as writer:
        camera = writer.add_connection("/camera/image_raw", "sensor_msgs/msg/Image", typestore=store)
        for index, (image, _) in enumerate(scenes):
            stamp = START_NS + index * PERIOD_NS
            header = types["std_msgs/msg/Header"](
                seq=index, stamp=types["builtin_interfaces/msg/Time"](sec=stamp // 10**9, nanosec=stamp % 10**9),
                frame_id="camera")
            bgr = np.ascontiguousarray(image[:, :, ::-1])
            message = types["sensor_msgs/msg/Image"](header=header, height=240, width=320, encoding="bgr8",
                                                     is_bigendian=0, step=960, data=bgr.reshape(-1))
            writer.write(camera, stamp, store.serialize_ros1(message, "sensor_msgs/msg/Image"))
    labels = tmp_path / "labels.json"
    coco_truth(scenes, labels, [f"frame{i:04d}.png" for i in range(FRAMES)])
    code, report = eval_report(tmp_path / "report", "--bag", bag, "--image-topic", "/camera/image_raw", "--gt", labels)
    assert code == 0, report
    assert report["source"]["match"] == "index" and report["frames"]["evaluated"] == FRAMES
    assert report["metrics"]["map"] == reference.map and report["metrics"]["map_50"] == reference.map_50

    # what online mode publishes from a ROS 1 bag: the same frame as a ROS 2 message (no header seq)
    from ssd_ros.bags.reader import Bag
    from ssd_ros.bags.types import bag_typestore

    with Bag(bag) as reader:
        message = next(m for m in reader.messages("/camera/image_raw") if m.index == 3)
        ros2 = bag_typestore().deserialize_cdr(reader.to_cdr(message), "sensor_msgs/msg/Image")
    stamp = START_NS + 3 * PERIOD_NS
    assert (ros2.header.stamp.sec, ros2.header.stamp.nanosec, ros2.header.frame_id) == (stamp // 10**9,
                                                                                        stamp % 10**9, "camera")
    assert ros2.encoding == "bgr8" and np.array_equal(ros2.data.reshape(240, 320, 3), scenes[3][0][:, :, ::-1])
