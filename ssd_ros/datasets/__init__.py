"""Labelled detection datasets, read without torch or ROS (training, evaluation, bag conversion).

Contract: ``load_dataset(root, format, split)`` returns a DetectionDataset whose items are
Annotation(image_id, image_path, width, height, boxes float32 [N, 4] x1, y1, x2, y2 in pixels,
class_indices int64 [N] into ``class_names`` (no background), difficult bool [N]).
``format`` is "voc", "coco", "yolo" or "auto" (guessed from the folder's layout); ``split`` is a
split the dataset defines (VOC ImageSets, a COCO annotation file, a YOLO data.yaml entry) or None
for every image. Problems raise DatasetError naming the file; ``ssd-ros dataset check`` lists all
of them. ``seeded_split`` makes a reproducible train/val split when the dataset has none.
"""
from __future__ import annotations

from pathlib import Path

from ssd_ros.datasets.coco import parse_coco
from ssd_ros.datasets.splits import seeded_split
from ssd_ros.datasets.types import Annotation, DatasetError, DetectionDataset, ParsedDataset, to_dataset
from ssd_ros.datasets.voc import parse_voc
from ssd_ros.datasets.yolo import YAML_NAMES, parse_yolo

FORMATS = {"voc": parse_voc, "coco": parse_coco, "yolo": parse_yolo}
FORMAT_CHOICES = ("auto", *FORMATS)


def detect_format(root: str | Path) -> str:
    """The format of a dataset folder from its layout; DatasetError when it matches none."""
    root = Path(root)
    if root.suffix.lower() == ".json" and root.is_file():
        return "coco"
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} does not exist")
    if (root / "Annotations").is_dir():
        return "voc"
    if any((root / name).is_file() for name in YAML_NAMES) or (root / "labels").is_dir() \
            or any(root.glob("*/labels")):
        return "yolo"
    if any((root / "annotations").glob("*.json")) or any(root.glob("*.json")) \
            or any(root.glob("*/_annotations.coco.json")):
        return "coco"
    raise DatasetError(f"cannot tell the format of {root}: expected Annotations/ (VOC), data.yaml or labels/ "
                       "(YOLO) or a COCO .json; pass the format explicitly")


def parse_dataset(root: str | Path, format: str = "auto", split: str | None = None) -> ParsedDataset:
    """What the dataset files say, problems collected rather than raised (used by the check)."""
    if format == "auto":
        format = detect_format(root)
    if format not in FORMATS:
        raise DatasetError(f"unknown dataset format {format!r}; supported: {', '.join(FORMAT_CHOICES)}")
    return FORMATS[format](root, split)


def load_dataset(root, format: str = "voc", split: str | None = None, class_names=None) -> DetectionDataset:
    return to_dataset(parse_dataset(root, format, split), class_names)


__all__ = ["FORMATS", "FORMAT_CHOICES", "Annotation", "DatasetError", "DetectionDataset", "detect_format",
           "load_dataset", "parse_dataset", "seeded_split"]
