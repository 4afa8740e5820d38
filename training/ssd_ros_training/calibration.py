"""Calibration images for INT8 (onnxruntime static quantization and TensorRT), pre-processed like the Detector.

Contract: ``pick_images(root, format, split, count, seed)`` returns up to ``count`` image paths of
the dataset split, a seeded random choice when there are more; ``preprocessed_batches(spec,
paths)`` yields one model input [1, 3, H, W] per image, made by the core Preprocessor from the
file as read by OpenCV (BGR), exactly what the Detector feeds the model at run time.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from ssd_ros.core.preprocess import Preprocessor
from ssd_ros.core.spec import ModelSpec
from ssd_ros.datasets import DatasetError, load_dataset


def pick_images(root: str | Path, format: str, split: str | None, count: int, seed: int = 0) -> list[Path]:
    paths = [annotation.image_path for annotation in load_dataset(root, format, split)]
    if not paths:
        raise DatasetError(f"no images in {root} (split {split or 'all'}) to calibrate with")
    if len(paths) > count:
        chosen = np.random.default_rng(seed).choice(len(paths), count, replace=False)
        paths = [paths[i] for i in sorted(chosen)]
    return paths


def preprocessed_batches(spec: ModelSpec, paths: list[Path]) -> Iterator[np.ndarray]:
    preprocess = Preprocessor(spec.input)
    for path in paths:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise DatasetError(f"cannot read calibration image {path}")
        yield preprocess(image, "bgr")[0]
