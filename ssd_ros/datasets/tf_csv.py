"""TensorFlow Object Detection CSV datasets: one row per box, ``filename,width,height,class,xmin,ymin,xmax,ymax``.

The header names the columns (compared ignoring case, in any order; extra columns are ignored);
``width`` and ``height`` may be left out, and then come from the image file. A row whose class and
box are empty stands for an image without objects. The boxes are pixel corner coordinates and are
used as written: x1 = xmin, y1 = ymin, x2 = xmax, y2 = ymax (the usual generate_tfrecord scripts
divide them by the image size, with no 1-pixel shift). CSV files converted from VOC XML usually
copy the XML numbers: reading the XML with ``voc_origin=0`` gives the same boxes (voc.py).
Classes: the sorted set of names found, unless the caller gives a list.

Which CSV files: ``root`` itself when it is a .csv file (no split); with a split S, the list file
layout.find_split_list finds (``S.csv``, ``S_labels.csv`` ... in the folder or a folder below it),
or a .txt list (``S.txt``) picking images from every CSV file, else every CSV in a folder named S
(Roboflow: ``train/_annotations.csv``, ``valid/...``);
without a split, every CSV with this header in the folder and the folders directly below it. An
image listed by several files (a file of all labels beside the per-split ones) takes its rows
from the first file by path; different rows for it elsewhere are reported.
Images: ``filename`` relative to the CSV's folder, the image folder (``images/``, ``JPEGImages/``)
or the dataset folder, else the image of that name found below them.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ssd_ros.datasets.images import image_size
from ssd_ros.datasets.layout import (
    IMAGE_DIR_NAMES,
    ImageIndex,
    child_dir,
    find_split_list,
    image_id,
    read_split_list,
    split_names,
)
from ssd_ros.datasets.types import DatasetError, LabelRecord, ParsedDataset, Problem

REQUIRED_COLUMNS = ("filename", "class", "xmin", "ymin", "xmax", "ymax")
HEADER = "filename,width,height,class,xmin,ymin,xmax,ymax"


def _header(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return [name.strip().lower() for name in next(csv.reader(handle), [])]
    except (OSError, UnicodeDecodeError):
        return []


def is_box_csv(path: Path) -> bool:
    """True for a CSV file whose header has the TensorFlow Object Detection columns."""
    return path.suffix.lower() == ".csv" and path.is_file() and set(REQUIRED_COLUMNS) <= set(_header(path))


def box_csv_files(folder: Path, depth: int = 1) -> list[Path]:
    """TensorFlow CSV files in ``folder`` and (depth 1) the folders directly below it, sorted by path."""
    if not folder.is_dir():
        return []
    found = [path for path in sorted(folder.glob("*.csv")) if is_box_csv(path)]
    if depth > 0:
        for below in sorted(path for path in folder.iterdir() if path.is_dir()):
            found += box_csv_files(below, depth - 1)
    return found


def _csv_files(root: Path, split: str | None) -> tuple[list[Path], Path | None]:
    """The CSV files to read, and the .txt list that picks the split's images from them (or None)."""
    if root.suffix.lower() == ".csv":
        if not root.is_file():
            raise DatasetError(f"CSV file {root} does not exist")
        if split is not None:
            raise DatasetError(f"{root} is a single CSV file: leave out the split, or pass its folder")
        return [root], None
    if not root.is_dir():
        raise DatasetError(f"CSV dataset folder {root} does not exist")
    every = box_csv_files(root)
    if split is None:
        if not every:
            raise DatasetError(f"{root} has no TensorFlow CSV file (header {HEADER}) in it or in a folder below it")
        return every, None
    listed = find_split_list(root, split)
    if listed is not None and is_box_csv(listed):
        return [listed], None
    if listed is not None and listed.suffix.lower() == ".txt" and every:
        return every, listed
    folder = child_dir(root, split_names(split))
    files = box_csv_files(folder, depth=0) if folder is not None else []
    if files:
        return files, None
    found = [str(path.relative_to(root)) for path in every]
    raise DatasetError(f"CSV split {split!r} not found in {root}: looked for {split}.csv, {split}_labels.csv, "
                       f"{split}.txt (in it and the folders below it) and a folder {split}/ with CSV files (CSV files "
                       f"here: {found or 'none'})")


def _read_rows(path: Path, parsed: ParsedDataset) -> dict[str, list[tuple[str, list[float], int | None, int | None]]]:
    """filename -> [(class, [x1, y1, x2, y2] or [], width, height), ...] in file order."""
    rows: dict[str, list[tuple[str, list[float], int | None, int | None]]] = {}
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [name.strip().lower() for name in next(reader, [])]
            missing = [name for name in REQUIRED_COLUMNS if name not in header]
            if missing:
                raise DatasetError(f"{path}: no column {', '.join(missing)} in the header {header}; a TensorFlow "
                                   f"Object Detection CSV starts with {HEADER}")
            column = {name: header.index(name) for name in (*REQUIRED_COLUMNS, "width", "height") if name in header}
            for number, row in enumerate(reader, 2):
                if not any(cell.strip() for cell in row):
                    continue
                cells = {name: row[i].strip() if i < len(row) else "" for name, i in column.items()}
                try:
                    if not cells["filename"]:
                        raise ValueError("empty filename")
                    size = [int(float(cells[k])) if cells.get(k) else None for k in ("width", "height")]
                    coordinates = [cells[k] for k in ("xmin", "ymin", "xmax", "ymax")]
                    if not cells["class"] and not any(coordinates):
                        box: list[float] = []  # an image without objects
                    else:
                        if not cells["class"]:
                            raise ValueError("a box without a class")
                        box = [float(value) for value in coordinates]
                except ValueError as error:
                    parsed.problems.append(Problem("malformed csv row", path, f"line {number}: {error}"))
                    continue
                rows.setdefault(cells["filename"], []).append((cells["class"], box, size[0], size[1]))
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: not a readable CSV file ({error})") from None
    return rows


def parse_tf_csv(root: str | Path, split: str | None = None) -> ParsedDataset:
    root = Path(root)
    files, split_list = _csv_files(root, split)
    parsed = ParsedDataset(root, "csv", split, declared_names=None)
    base = root if root.is_dir() else root.parent
    parsed.layout.append("boxes from " + ", ".join(str(path.relative_to(base)) for path in files))
    wanted = None
    if split_list is not None:
        parsed.layout.append(f"split {split} from {split_list.relative_to(base)}")
        wanted = {entry.lower() for entry in read_split_list(split_list)}
    image_folder = child_dir(base, IMAGE_DIR_NAMES)
    images = ImageIndex([image_folder, base] if image_folder is not None else [base])
    taken: dict[str, tuple[Path, list]] = {}
    for path in files:
        for filename, rows in _read_rows(path, parsed).items():
            key = filename.replace("\\", "/").lower()
            if wanted is not None and image_id(filename).lower() not in wanted:
                continue
            if key in taken:
                if taken[key][1] != rows:
                    parsed.problems.append(Problem(
                        "conflicting csv rows", path, f"{filename}: its rows differ from those in "
                        f"{taken[key][0].name}, which are used", fatal=False))
                continue
            taken[key] = (path, rows)
            image = images.find(filename, beside=path.parent) or path.parent / filename
            width, height = rows[0][2], rows[0][3]
            if width is None or height is None:
                width, height = image_size(image) or (None, None)
            boxed = [(name, box) for name, box, _, _ in rows if box]
            parsed.records.append(LabelRecord(
                image_id=image_id(filename), image_path=image, width=width, height=height,
                boxes=np.asarray([box for _, box in boxed], np.float32).reshape(-1, 4),
                names=tuple(name for name, _ in boxed), difficult=np.zeros(len(boxed), bool), label_file=path))
    if split_list is not None and wanted is not None:
        found = {image_id(record.image_path.name).lower() for record in parsed.records} | \
            {record.image_id.lower() for record in parsed.records}
        for entry in sorted(wanted - found):
            parsed.problems.append(Problem("missing annotation", split_list, f"{entry} is listed in split "
                                           f"{split!r} but no CSV file has a row for it"))
    return parsed
