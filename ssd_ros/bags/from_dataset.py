"""``ssd-ros bag from-dataset``: a labelled dataset as an evaluation bag (camera frames + ground truth).

Contract: ``write_dataset_bag(dataset, out, ...)`` writes one frame per dataset image, in dataset order
(the order ``load_dataset`` returns, so ``--match index`` pairs image i with frame i):
- frame i has header stamp = log time = ``start_ns + i / rate_hz`` and ``frame_id``;
- raw (default): ``sensor_msgs/Image`` bgr8 holding the pixels OpenCV reads from the file, exactly
  what ``ssd-ros eval --data`` gives the model; ``compressed``: ``sensor_msgs/CompressedImage`` on
  ``<image_topic>/compressed`` with the file's own bytes when it is JPEG or PNG (format "jpeg"/"png"),
  anything else re-encoded as PNG (lossless);
- ground truth: one ``vision_msgs/Detection2DArray`` per frame on ``truth_topic`` with the frame's
  header (empty for images without objects), class id = class name, score 1, difficult boxes with
  ``Detection2D.id`` "difficult"; one ``LabelInfo`` with every dataset class (ids in dataset order)
  on the sibling ``label_info`` topic, offered as transient local.
An image that cannot be read raises DatasetError naming it; annotation sizes that differ from the
image are counted in the summary.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ssd_ros.bags.messages import detection_array, label_info
from ssd_ros.bags.types import COMPRESSED_IMAGE, DETECTION_2D_ARRAY, IMAGE, LABEL_INFO
from ssd_ros.bags.writer import BagWriter
from ssd_ros.datasets import DatasetError, DetectionDataset
from ssd_ros.progress import progress_bar
from ssd_ros.stamps import ns_to_sec_nanosec

DEFAULT_START_NS = 1_700_000_000 * 1_000_000_000  # fixed, so the same dataset always gives the same bag
_JPEG_MAGIC, _PNG_MAGIC = b"\xff\xd8\xff", b"\x89PNG"


@dataclass(frozen=True)
class DatasetBagSummary:
    path: Path
    frames: int
    image_topic: str
    truth_topic: str
    label_topic: str
    objects: int
    size_mismatches: int


def _compressed_payload(image_path: Path) -> tuple[bytes, str]:
    data = image_path.read_bytes()
    if data.startswith(_JPEG_MAGIC):
        return data, "jpeg"
    if data.startswith(_PNG_MAGIC):
        return data, "png"
    image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f"cannot read image {image_path}")
    return cv2.imencode(".png", image)[1].tobytes(), "png"


def write_dataset_bag(dataset: DetectionDataset, out: Path, storage: str = "sqlite3", compressed: bool = False,
                      image_topic: str = "/camera/image_raw", truth_topic: str = "/ground_truth/detections",
                      rate_hz: float = 10.0, frame_id: str = "camera",
                      start_ns: int = DEFAULT_START_NS) -> DatasetBagSummary:
    if rate_hz <= 0:
        raise ValueError(f"rate must be positive, got {rate_hz}")
    if len(dataset) == 0:
        raise DatasetError(f"dataset {dataset.root} has no images")
    camera_topic = f"{image_topic}/compressed" if compressed else image_topic
    label_topic = f"{truth_topic.rsplit('/', 1)[0]}/label_info"
    objects = size_mismatches = 0
    with BagWriter(out, storage) as writer:
        store = writer.store
        types = store.types
        writer.write(label_topic, LABEL_INFO, start_ns, label_info(store, start_ns, frame_id, dataset.class_names),
                     latched=True)
        with progress_bar(len(dataset), "writing bag") as bar:
            for index, annotation in enumerate(dataset):
                stamp = start_ns + round(index * 1e9 / rate_hz)
                header = types["std_msgs/msg/Header"](
                    stamp=types["builtin_interfaces/msg/Time"](*ns_to_sec_nanosec(stamp)),
                    frame_id=frame_id)
                if compressed:
                    data, image_format = _compressed_payload(annotation.image_path)
                    size = None
                    writer.write(camera_topic, COMPRESSED_IMAGE, stamp, types[COMPRESSED_IMAGE](
                        header=header, format=image_format, data=np.frombuffer(data, np.uint8)))
                else:
                    image = cv2.imread(str(annotation.image_path), cv2.IMREAD_COLOR)
                    if image is None:
                        raise DatasetError(f"cannot read image {annotation.image_path}")
                    height, width = image.shape[:2]
                    size = (width, height)
                    writer.write(camera_topic, IMAGE, stamp, types[IMAGE](
                        header=header, height=height, width=width, encoding="bgr8", is_bigendian=0, step=width * 3,
                        data=image.reshape(-1)))
                size_mismatches += size is not None and size != (annotation.width, annotation.height)
                names = [dataset.class_names[i] for i in annotation.class_indices.tolist()]
                objects += len(names)
                writer.write(truth_topic, DETECTION_2D_ARRAY, stamp, detection_array(
                    store, stamp, frame_id, annotation.boxes, names, difficult=annotation.difficult))
                bar.update()
    return DatasetBagSummary(out, len(dataset), camera_topic, truth_topic, label_topic, objects, size_mismatches)
