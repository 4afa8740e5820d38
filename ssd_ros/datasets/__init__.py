"""Labelled detection datasets, read without torch or ROS (training, evaluation, bag conversion).

Contract: ``load_dataset(root, format, split)`` returns a DetectionDataset whose items are
Annotation(image_id, image_path, width, height, boxes float32 [N, 4] x1, y1, x2, y2 in pixels,
class_indices int64 [N] into ``class_names`` (no background), difficult bool [N]).
"""
from ssd_ros.datasets.types import Annotation, DatasetError, DetectionDataset
from ssd_ros.datasets.voc import load_voc

FORMATS = {"voc": load_voc}


def load_dataset(root, format: str = "voc", split: str | None = None, class_names=None) -> DetectionDataset:
    if format not in FORMATS:
        raise DatasetError(f"unknown dataset format {format!r}; supported: {', '.join(FORMATS)}")
    return FORMATS[format](root, split=split, class_names=class_names)


__all__ = ["FORMATS", "Annotation", "DatasetError", "DetectionDataset", "load_dataset"]
