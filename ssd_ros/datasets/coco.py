"""COCO JSON detection datasets (instances files as written by COCO, CVAT, Label Studio, Roboflow).

Where the annotation file is, for ``root`` and ``split`` (first match wins):
- ``root`` itself when it is a .json file (no split);
- with a split S: annotations/instances_S.json, annotations/S.json, S/_annotations.coco.json, S.json;
- without a split: the only .json in root/annotations/ or in root (several: name a split).
Images: ``file_name`` relative to the first folder that holds the first images among the JSON's
folder, root/images/S, root/S, root/images and root (absolute ``file_name``s are used as is); without
a split, S is the JSON file's name without ``instances_`` (instances_val.json: val).

Boxes are COCO ``bbox`` [x, y, w, h] in pixels -> x1 = x, y1 = y, x2 = x + w, y2 = y + h.
Classes are the ``categories`` in id order; ``iscrowd`` objects become difficult (ignored by the
metrics, left out of training targets); images without annotations are kept (negatives).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ssd_ros.datasets.types import DatasetError, LabelRecord, ParsedDataset, Problem, unknown_class_name


def annotation_file(root: Path, split: str | None) -> Path:
    if root.suffix.lower() == ".json":
        if not root.is_file():
            raise DatasetError(f"COCO annotation file {root} does not exist")
        if split is not None:
            raise DatasetError(f"{root} is a single annotation file: leave out the split, or pass its folder")
        return root
    if not root.is_dir():
        raise DatasetError(f"COCO dataset folder {root} does not exist")
    if split is not None:
        candidates = [root / "annotations" / f"instances_{split}.json", root / "annotations" / f"{split}.json",
                      root / split / "_annotations.coco.json", root / f"{split}.json"]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        tried = ", ".join(str(c.relative_to(root)) for c in candidates)
        raise DatasetError(f"COCO split {split!r} not found in {root}: looked for {tried}")
    found = sorted((root / "annotations").glob("*.json")) or sorted(root.glob("*.json"))
    if len(found) == 1:
        return found[0]
    if not found:
        raise DatasetError(f"{root} has no COCO annotation file (.json in annotations/ or in the folder itself)")
    names = ", ".join(p.name for p in found)
    raise DatasetError(f"{root} has several annotation files ({names}): choose one with a split "
                       "(e.g. split 'val' for instances_val.json) or pass the file itself")


def _image_folder(root: Path, json_file: Path, split: str | None, file_names: list[str]) -> Path:
    base = root if root.is_dir() else json_file.parent
    candidates = [json_file.parent]
    named = split if split is not None else json_file.stem.removeprefix("instances_")  # instances_val.json: val
    candidates += [base / "images" / named, base / named]
    candidates += [base / "images", base, json_file.parent.parent]
    sample = [name for name in file_names[:5] if not Path(name).is_absolute()]
    for folder in candidates:
        if any((folder / name).is_file() for name in sample):
            return folder
    return candidates[0]  # none there: the check reports the images as missing


def _integer(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    return int(value)


def parse_coco(root: str | Path, split: str | None = None) -> ParsedDataset:
    root = Path(root)
    json_file = annotation_file(root, split)
    try:
        document = json.loads(json_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DatasetError(f"{json_file}: not readable JSON ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("images"), list) \
            or not isinstance(document.get("categories"), list):
        raise DatasetError(f"{json_file}: not a COCO instances file (needs 'images' and 'categories' lists)")
    parsed = ParsedDataset(root, "coco", split, declared_names=None)
    try:
        categories = sorted((_integer(c["id"], "category id"), str(c["name"])) for c in document["categories"])
    except (KeyError, TypeError, ValueError) as error:
        raise DatasetError(f"{json_file}: a category lacks a usable id or name ({error})") from None
    names_by_id = dict(categories)
    parsed.declared_names = tuple(name for _, name in categories)
    if len(set(parsed.declared_names)) != len(parsed.declared_names):
        raise DatasetError(f"{json_file}: category names repeat: {list(parsed.declared_names)}")

    objects: dict[int, list[dict]] = {}
    annotations = document.get("annotations", [])
    if not isinstance(annotations, list):
        raise DatasetError(f"{json_file}: 'annotations' must be a list of objects, got {type(annotations).__name__}")
    for number, item in enumerate(annotations):
        if not isinstance(item, dict):
            parsed.problems.append(Problem("malformed annotation", json_file,
                                           f"annotations[{number}] is a {type(item).__name__}, not an object"))
            continue
        try:
            image_id = _integer(item["image_id"], "image_id")
            x, y, w, h = (float(v) for v in item["bbox"])
            class_id = _integer(item["category_id"], "category_id")
        except (KeyError, TypeError, ValueError) as error:
            parsed.problems.append(Problem("malformed annotation", json_file,
                                           f"annotations[{number}] (id {item.get('id')}): {error}"))
            continue
        objects.setdefault(image_id, []).append(
            {"box": [x, y, x + w, y + h], "name": names_by_id.get(class_id, unknown_class_name(class_id)),
             "crowd": bool(item.get("iscrowd", 0))})

    images = document["images"]
    folder = _image_folder(root, json_file, split, [str(image.get("file_name", "")) for image in images
                                                    if isinstance(image, dict)])
    seen: set[int] = set()
    for number, image in enumerate(images):
        if not isinstance(image, dict):
            parsed.problems.append(Problem("malformed image entry", json_file,
                                           f"images[{number}] is a {type(image).__name__}, not an object"))
            continue
        try:
            image_id = _integer(image["id"], "image id")
            file_name = str(image["file_name"])
            width, height = _integer(image["width"], "width"), _integer(image["height"], "height")
        except (KeyError, TypeError, ValueError) as error:
            parsed.problems.append(Problem("malformed image entry", json_file, f"images[{number}]: {error}"))
            continue
        seen.add(image_id)
        found = objects.get(image_id, [])
        parsed.records.append(LabelRecord(
            image_id=str(image_id),
            image_path=Path(file_name) if Path(file_name).is_absolute() else folder / file_name,
            width=width, height=height,
            boxes=np.asarray([o["box"] for o in found], np.float32).reshape(-1, 4),
            names=tuple(o["name"] for o in found),
            difficult=np.asarray([o["crowd"] for o in found], bool),
            label_file=json_file,
        ))
    orphans = sorted(set(objects) - seen)
    if orphans:
        parsed.problems.append(Problem("annotation without image", json_file,
                                       f"{sum(len(objects[i]) for i in orphans)} annotations refer to image ids "
                                       f"not in 'images' (e.g. {orphans[:5]})"))
    return parsed
