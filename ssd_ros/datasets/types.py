"""Dataset value types (see the package docstring for the contract)."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class DatasetError(ValueError):
    """A dataset that cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class Annotation:
    image_id: str
    image_path: Path
    width: int
    height: int
    boxes: np.ndarray
    class_indices: np.ndarray
    difficult: np.ndarray


@dataclass(frozen=True)
class DetectionDataset(Sequence):
    root: Path
    class_names: tuple[str, ...]
    annotations: tuple[Annotation, ...]

    def __len__(self) -> int:
        return len(self.annotations)

    def __getitem__(self, index):  # type: ignore[override]
        return self.annotations[index]

    def __iter__(self) -> Iterator[Annotation]:
        return iter(self.annotations)
