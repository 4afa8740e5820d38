"""``ssd-ros synth``: a seeded synthetic detection dataset in VOC layout with the variety the issue asks for
(several classes of varied size and colour, partial occlusion, varied backgrounds)."""
from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

pytest.importorskip("torch")

from ssd_ros.cli import main as ssd_ros_main
from ssd_ros.datasets import load_dataset
from ssd_ros.synthetic import CLASSES


@pytest.fixture(scope="module")
def synth_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        assert ssd_ros_main(["synth", "--out", str(root / name), "--images", "40", "--seed", str(seed)]) == 0
    return root


def test_layout_splits_and_seeding(synth_dirs):
    dataset = load_dataset(synth_dirs / "a", "voc")
    assert len(dataset) == 40 and set(dataset.class_names) == set(CLASSES)
    sizes = {split: len(load_dataset(synth_dirs / "a", "voc", split)) for split in ("train", "val", "test", "trainval")}
    assert sizes == {"train": 32, "val": 4, "test": 4, "trainval": 36}
    same = [(synth_dirs / "a" / "Annotations" / p.name).read_bytes() == p.read_bytes()
            for p in (synth_dirs / "b" / "Annotations").iterdir()]
    assert len(same) == 40 and all(same)
    other = load_dataset(synth_dirs / "c", "voc")
    assert any(not np.array_equal(a.boxes, b.boxes) for a, b in zip(dataset, other, strict=True))


def test_objects_vary_in_class_size_colour_and_overlap(synth_dirs):
    dataset = load_dataset(synth_dirs / "a", "voc")
    counts = np.bincount(np.concatenate([a.class_indices for a in dataset]), minlength=len(CLASSES))
    assert (counts >= 10).all(), counts
    sides = np.sqrt(np.concatenate([(a.boxes[:, 2] - a.boxes[:, 0]) * (a.boxes[:, 3] - a.boxes[:, 1])
                                    for a in dataset]))
    assert sides.max() / sides.min() >= 3
    colours, corners, overlapping = [], [], 0
    for annotation in dataset:
        image = cv2.imread(str(annotation.image_path))
        corners.append(image[:8, :8].reshape(-1, 3).mean(0))
        for x1, y1, x2, y2 in annotation.boxes.astype(int):
            centre = image[(y1 + y2) // 2 - 2:(y1 + y2) // 2 + 2, (x1 + x2) // 2 - 2:(x1 + x2) // 2 + 2]
            colours.append(centre.reshape(-1, 3).mean(0))
        for a, b in itertools.combinations(annotation.boxes, 2):
            overlapping += bool(min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1]))
    assert np.std(colours, axis=0).min() > 30  # object colours spread over every channel
    assert np.std(corners, axis=0).min() > 30  # so do the backgrounds
    assert overlapping >= 3  # partial occlusion happens
