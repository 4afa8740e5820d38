"""Dataset value types, and the one strict conversion from what a reader found to a dataset.

Readers (voc.py, coco.py, yolo.py, tf_csv.py) parse leniently into a ``ParsedDataset``: every labelled image
as a ``LabelRecord`` (class names as written, boxes x1, y1, x2, y2 in pixels, 0-based corners)
plus the ``Problem``s met while parsing (unreadable files, malformed lines). ``to_dataset`` turns
that into the strict ``DetectionDataset`` contract (see the package docstring) and raises
DatasetError on the first fatal problem or unknown class, naming the file; ``check.py`` reports
all of them instead.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ssd_ros.errors import UserError


class DatasetError(UserError, ValueError):
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
    format: str = ""
    split: str | None = None
    layout: str = ""  # where the reader found things, e.g. "XML in annotations/, split train from train.csv"

    def __len__(self) -> int:
        return len(self.annotations)

    def __getitem__(self, index):
        return self.annotations[index]

    def __iter__(self) -> Iterator[Annotation]:
        return iter(self.annotations)

    def subset(self, indices: Sequence[int], split: str) -> DetectionDataset:
        return DetectionDataset(self.root, self.class_names, tuple(self.annotations[i] for i in indices),
                                self.format, split, self.layout)


@dataclass(frozen=True)
class Problem:
    """Something wrong in the dataset files. Fatal ones stop ``load_dataset``; all are reported by check."""

    kind: str  # e.g. "unreadable annotation", "malformed label line", "missing image"
    file: Path
    message: str
    fatal: bool = True

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass(frozen=True)
class LabelRecord:
    """One image and its objects as the dataset files state them (not validated)."""

    image_id: str
    image_path: Path
    width: int | None  # None: unknown (e.g. a YOLO label whose image is missing)
    height: int | None
    boxes: np.ndarray  # float32 [N, 4] x1, y1, x2, y2 pixels; NaN where the size is unknown
    names: tuple[str, ...]  # class name per box; unknown class ids appear as "<class id K>"
    difficult: np.ndarray  # bool [N]
    label_file: Path


@dataclass
class ParsedDataset:
    root: Path
    format: str
    split: str | None
    declared_names: tuple[str, ...] | None  # the dataset's own class list (COCO categories, YOLO names)
    records: list[LabelRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    layout: list[str] = field(default_factory=list)  # where things were found, for summaries


def unknown_class_name(class_id: int) -> str:
    return f"<class id {class_id}>"


def to_dataset(parsed: ParsedDataset, class_names: Sequence[str] | None = None) -> DetectionDataset:
    """The strict dataset: raises DatasetError on the first fatal problem or unknown class."""
    fatal = [problem for problem in parsed.problems if problem.fatal]
    if fatal:
        more = f" (and {len(fatal) - 1} more problems)" if len(fatal) > 1 else ""
        raise DatasetError(f"{fatal[0]}{more}; run `ssd-ros dataset check {parsed.root} --format {parsed.format}` "
                           "for the full list")
    if class_names:
        names = tuple(class_names)
    elif parsed.declared_names is not None:
        names = parsed.declared_names
    else:
        names = tuple(sorted({name for record in parsed.records for name in record.names}))
    index = {name: i for i, name in enumerate(names)}
    annotations = []
    for record in parsed.records:
        unknown = sorted({name for name in record.names if name not in index})
        if unknown:
            raise DatasetError(f"{record.label_file}: unknown classes {unknown}; known: {list(names)}")
        annotations.append(Annotation(record.image_id, record.image_path, record.width or 0, record.height or 0,
                                      record.boxes, np.asarray([index[n] for n in record.names], np.int64),
                                      record.difficult))
    return DetectionDataset(parsed.root, names, tuple(annotations), parsed.format, parsed.split,
                            ", ".join(parsed.layout))
