"""YOLO txt datasets (Ultralytics / Darknet / Roboflow layouts).

Layout: ``data.yaml`` (or dataset.yaml / data.yml) with ``names`` (list, or mapping id -> name),
optional ``path`` (base folder) and one entry per split (``train``, ``val``, ``test``), each a
folder of images, a .txt file listing image paths, or a list of those. Without a YAML file the
class names come from classes.txt / obj.names (one per line) and a split S is images/S or S/images
(every image below images/ without a split).

Each image's labels are the .txt of the same name in the parallel ``labels`` folder (the last
``images`` path component replaced by ``labels``; beside the image when there is none), one object
per line: ``class cx cy w h`` normalised to 0..1, or ``class x1 y1 x2 y2 x3 y3 ...`` (a polygon,
whose bounding box is used). An image without a label file has no objects. Image sizes come from
the file headers (YOLO does not store them). Boxes become x1, y1, x2, y2 pixels.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from ssd_ros.datasets.images import image_size, is_image
from ssd_ros.datasets.layout import split_names
from ssd_ros.datasets.types import DatasetError, LabelRecord, ParsedDataset, Problem, unknown_class_name

YAML_NAMES = ("data.yaml", "dataset.yaml", "data.yml", "dataset.yml")
CLASS_LIST_NAMES = ("classes.txt", "obj.names", "classes.names", "names.txt")


def label_path(image: Path) -> Path:
    parts = list(image.parts)
    for position in range(len(parts) - 2, -1, -1):
        if parts[position] == "images":
            parts[position] = "labels"
            return Path(*parts).with_suffix(".txt")
    return image.with_suffix(".txt")


def _names_from(value, source: Path) -> tuple[str, ...]:
    if isinstance(value, dict):
        try:
            ordered = sorted((int(k), str(v)) for k, v in value.items())
        except (TypeError, ValueError):
            raise DatasetError(f"{source}: 'names' keys must be class ids (0, 1, ...)") from None
        if [k for k, _ in ordered] != list(range(len(ordered))):
            raise DatasetError(f"{source}: 'names' ids must be 0..{len(ordered) - 1} without gaps")
        return tuple(v for _, v in ordered)
    if isinstance(value, list) and value:
        return tuple(str(v) for v in value)
    raise DatasetError(f"{source}: 'names' must be a non-empty list or an id -> name mapping")


def _resolve(base: Path, yaml_dir: Path, entry: str) -> Path:
    """A split entry path: relative to the base, else to the YAML's folder (Roboflow writes '../train')."""
    path = Path(entry)
    if path.is_absolute():
        return path
    for candidate in (base / path, yaml_dir / path, yaml_dir / Path(*[p for p in path.parts if p != ".."])):
        if candidate.exists():
            return candidate
    return base / path


def _images_of(source: Path, parsed: ParsedDataset) -> list[Path]:
    if source.is_dir():
        return sorted(p for p in source.rglob("*") if is_image(p) and p.is_file())
    if source.suffix == ".txt" and source.is_file():
        listed = [line.strip() for line in source.read_text().splitlines() if line.strip()]
        return [p if p.is_absolute() else (source.parent / p) for p in map(Path, listed)]
    parsed.problems.append(Problem("missing split", source, "split source is neither a folder nor a .txt list"))
    return []


def _split_sources(root: Path, split: str | None, parsed: ParsedDataset) -> list[Path]:
    yaml_file = next((root / n for n in YAML_NAMES if (root / n).is_file()), None)
    if yaml_file is not None:
        try:
            document = yaml.safe_load(yaml_file.read_text()) or {}
        except yaml.YAMLError as error:
            raise DatasetError(f"{yaml_file}: not valid YAML ({error})") from None
        if "names" not in document:
            raise DatasetError(f"{yaml_file}: no 'names' (the class list)")
        parsed.declared_names = _names_from(document["names"], yaml_file)
        base = Path(document["path"]) if document.get("path") else root
        if not base.is_absolute():
            base = root / base
        if not base.is_dir():  # 'path' often names the author's machine
            base = root
        keys = [k for k in split_names(split) if document.get(k)] if split else \
            [k for k in ("train", "val", "valid", "test") if document.get(k)]
        if split and not keys:
            present = [k for k in ("train", "val", "valid", "test") if document.get(k)]
            raise DatasetError(f"{yaml_file}: no split {split!r} (it lists {present})")
        entries: list[str] = []
        for key in keys[:1] if split else keys:
            value = document[key]
            entries += [str(v) for v in value] if isinstance(value, list) else [str(value)]
        return list(dict.fromkeys(_resolve(base, yaml_file.parent, entry) for entry in entries))
    class_file = next((root / n for n in CLASS_LIST_NAMES if (root / n).is_file()), None)
    if class_file is None:
        raise DatasetError(f"{root}: no class list for this YOLO dataset: add data.yaml with 'names' "
                           f"(or one of {', '.join(CLASS_LIST_NAMES)}, one class name per line)")
    parsed.declared_names = tuple(line.strip() for line in class_file.read_text().splitlines() if line.strip())
    if split is None:
        return [root / "images"] if (root / "images").is_dir() else [root]
    for name in split_names(split):
        for candidate in (root / "images" / name, root / name / "images", root / f"{name}.txt"):
            if candidate.exists():
                return [candidate]
    raise DatasetError(f"YOLO split {split!r} not found in {root}: looked for images/{split}, {split}/images "
                       f"and {split}.txt")


def _read_labels(label_file: Path, width: int | None, height: int | None, names: tuple[str, ...],
                 parsed: ParsedDataset) -> tuple[np.ndarray, tuple[str, ...]]:
    boxes, classes = [], []
    scale = np.array([width or np.nan, height or np.nan] * 2, np.float32)
    for number, line in enumerate(label_file.read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            values = [float(v) for v in fields]
            if not values[0].is_integer() or values[0] < 0:
                raise ValueError(f"class id {fields[0]!r} is not a non-negative integer")
            if len(values) == 5:
                cx, cy, w, h = values[1:]
                box = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
            elif len(values) >= 7 and len(values) % 2 == 1:  # polygon: its bounding box
                xs, ys = values[1::2], values[2::2]
                box = [min(xs), min(ys), max(xs), max(ys)]
            else:
                raise ValueError(f"{len(fields)} fields; expected 'class cx cy w h' or a polygon 'class x y x y ...'")
        except ValueError as error:
            parsed.problems.append(Problem("malformed label line", label_file, f"line {number}: {error}"))
            continue
        class_id = int(values[0])
        classes.append(names[class_id] if class_id < len(names) else unknown_class_name(class_id))
        boxes.append(np.asarray(box, np.float32) * scale)
    return np.asarray(boxes, np.float32).reshape(-1, 4), tuple(classes)


def parse_yolo(root: str | Path, split: str | None = None) -> ParsedDataset:
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"YOLO dataset folder {root} does not exist")
    parsed = ParsedDataset(root, "yolo", split, declared_names=None)
    sources = _split_sources(root, split, parsed)
    names = parsed.declared_names or ()
    images: list[Path] = []
    for source in sources:
        images += _images_of(source, parsed)
    used_labels = set()
    for image in images:
        labels = label_path(image)
        used_labels.add(labels)
        size = image_size(image)
        if size is None:
            kind = "missing image" if not image.exists() else "unreadable image"
            parsed.problems.append(Problem(kind, image, "listed in the dataset but " +
                                           ("does not exist" if kind == "missing image" else "not a readable image")))
        width, height = size if size is not None else (None, None)
        boxes, found = _read_labels(labels, width, height, names, parsed) if labels.is_file() else \
            (np.zeros((0, 4), np.float32), ())
        parsed.records.append(LabelRecord(
            image_id=image.stem, image_path=image, width=size[0] if size else None, height=size[1] if size else None,
            boxes=boxes, names=found, difficult=np.zeros(len(found), bool), label_file=labels))
    for source in sources:
        folder = label_path(source / "x.jpg").parent if source.is_dir() else None
        if folder is not None and folder != source and folder.is_dir():
            for orphan in sorted(set(folder.rglob("*.txt")) - used_labels):
                if orphan.name in CLASS_LIST_NAMES:
                    continue
                parsed.problems.append(Problem("label without image", orphan,
                                               "no image of this name in the images folder: ignored", fatal=False))
    return parsed
