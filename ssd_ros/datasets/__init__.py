"""Labelled detection datasets, read without torch or ROS (training, evaluation, bag conversion).

Contract: ``load_dataset(root, format, split, class_names, voc_origin)`` returns a DetectionDataset
whose items are Annotation(image_id, image_path, width, height, boxes float32 [N, 4] x1, y1, x2, y2
in pixels, 0-based corner coordinates (pixel (0, 0) spans 0..1), class_indices int64 [N] into
``class_names`` (no background), difficult bool [N]).
``format`` is "voc", "coco", "yolo", "csv" (TensorFlow Object Detection CSV) or "auto": guessed from
the folder's layout by ``detect_format``, the one place every command (``dataset check``, ``train``,
``eval --data``, ``bag from-dataset``) asks. ``split`` is a split the dataset defines (a VOC or CSV
list file such as ImageSets/Main/S.txt or S_labels.csv, a split folder, a COCO annotation file, a
YOLO data.yaml entry) or None for every image; layout.py says where each is looked for.
``voc_origin`` is how VOC XML numbers become pixels: 1 (the VOC devkit's 1-based pixel indices,
x1 = xmin - 1; the default) or 0 (as written); voc.py explains the choice.
Problems raise DatasetError naming the file; ``ssd-ros dataset check`` lists all of them.
``seeded_split`` makes a reproducible train/val split when the dataset has none.
"""
from __future__ import annotations

from pathlib import Path

from ssd_ros.datasets.coco import parse_coco
from ssd_ros.datasets.splits import seeded_split
from ssd_ros.datasets.tf_csv import box_csv_files, parse_tf_csv
from ssd_ros.datasets.types import Annotation, DatasetError, DetectionDataset, ParsedDataset, to_dataset
from ssd_ros.datasets.voc import VOC_ORIGINS, annotation_dir, has_voc_files, parse_voc
from ssd_ros.datasets.yolo import YAML_NAMES, parse_yolo

FORMATS = {"voc": parse_voc, "coco": parse_coco, "yolo": parse_yolo, "csv": parse_tf_csv}
FORMAT_CHOICES = ("auto", *FORMATS)


def detect_format(root: str | Path) -> str:
    """The format of a dataset folder from its layout; DatasetError when it matches none.

    In this order: a .json file is COCO and a .csv file TensorFlow CSV; a folder of VOC XML files
    (Annotations/ or annotations/) is VOC; data.yaml or labels/ is YOLO; COCO .json files are COCO;
    XML files in the folder or a folder directly below it (beside the images) are VOC; CSV files
    with the TensorFlow header there are CSV. A VOC dataset with a CSV split (train_labels.csv) is
    VOC: its boxes come from the XML files, the CSV only picks the images.
    """
    root = Path(root)
    if root.suffix.lower() == ".json" and root.is_file():
        return "coco"
    if root.suffix.lower() == ".csv" and root.is_file():
        return "csv"
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} does not exist")
    if annotation_dir(root) is not None:
        return "voc"
    if any((root / name).is_file() for name in YAML_NAMES) or (root / "labels").is_dir() \
            or any(root.glob("*/labels")):
        return "yolo"
    if any((root / "annotations").glob("*.json")) or any(root.glob("*.json")) \
            or any(root.glob("*/_annotations.coco.json")):
        return "coco"
    if has_voc_files(root):
        return "voc"
    if box_csv_files(root):
        return "csv"
    raise DatasetError(f"cannot tell the format of {root}: expected VOC XML files (in Annotations/ or beside the "
                       "images), data.yaml or labels/ (YOLO), a COCO .json or a TensorFlow CSV "
                       "(filename,width,height,class,xmin,ymin,xmax,ymax); pass the format explicitly")


def parse_dataset(root: str | Path, format: str = "auto", split: str | None = None,
                  voc_origin: int = 1) -> ParsedDataset:
    """What the dataset files say, problems collected rather than raised (used by the check)."""
    if format == "auto":
        format = detect_format(root)
    if format not in FORMATS:
        raise DatasetError(f"unknown dataset format {format!r}; supported: {', '.join(FORMAT_CHOICES)}")
    if format == "voc":
        return parse_voc(root, split, voc_origin)
    return FORMATS[format](root, split)


def load_dataset(root, format: str = "voc", split: str | None = None, class_names=None,
                 voc_origin: int = 1) -> DetectionDataset:
    return to_dataset(parse_dataset(root, format, split, voc_origin), class_names)


__all__ = ["FORMATS", "FORMAT_CHOICES", "VOC_ORIGINS", "Annotation", "DatasetError", "DetectionDataset",
           "detect_format", "load_dataset", "parse_dataset", "seeded_split"]
