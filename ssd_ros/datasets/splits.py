"""Reproducible train/validation splits for datasets that define none.

Contract: ``seeded_split(dataset, val_fraction, seed)`` returns (train, val) DetectionDatasets
that partition ``dataset``; membership depends only on the image ids, the fraction and the seed
(not on the order the reader listed the files), so the same call gives the same split anywhere.
"""
from __future__ import annotations

import numpy as np

from ssd_ros.datasets.types import DatasetError, DetectionDataset


def seeded_split(dataset: DetectionDataset, val_fraction: float,
                 seed: int) -> tuple[DetectionDataset, DetectionDataset]:
    if not 0.0 < val_fraction < 1.0:
        raise DatasetError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}")
    count = len(dataset)
    val_count = round(count * val_fraction)
    if count < 2 or not 0 < val_count < count:
        raise DatasetError(f"cannot split {count} images with val_fraction {val_fraction}: "
                           "both parts must get at least one image")
    by_id = sorted(range(count), key=lambda i: (dataset[i].image_id, str(dataset[i].image_path)))
    order = np.random.default_rng(seed).permutation(count)
    val = sorted(by_id[i] for i in order[:val_count])
    val_set = set(val)
    train = [i for i in range(count) if i not in val_set]
    name = dataset.split or "all"
    return (dataset.subset(train, f"{name}[train, seed {seed}]"), dataset.subset(val, f"{name}[val, seed {seed}]"))
