"""Where the parts of a dataset folder are: folders by name ignoring case, images by file name, split lists.

Labelling tools lay the same data out differently (VOC devkit ``Annotations/ JPEGImages/``,
labelImg and Roboflow ``annotations/ images/`` or an XML beside each image, Roboflow split folders
``train/ valid/ test/``, TensorFlow CSV files with a split in their name). The readers ask this
module instead of assuming one layout.

Contract:
- ``child_dir(root, names)``: the first folder directly below ``root`` whose name equals one of
  ``names`` ignoring case (in the order of ``names``), or None.
- ``split_names(split)``: the names a split goes by (val, valid and validation are one split).
- ``find_split_list(root, split)``: the file that lists the images of ``split``, or None. Looked for
  in ImageSets/Main/, then in ``root``, then in the folders directly below it (image and
  annotation folders excepted); names compared ignoring case: ``S.txt``, ``S.csv``, ``S_labels``,
  ``S_list``, ``S_annotations`` (.txt or .csv) for every name S of the split. The first place
  with a match wins; two equally good matches raise DatasetError naming both.
- ``read_split_list(path)``: the image ids a list file names, in order, each once. A .txt list has
  one image per line: its first whitespace-separated token, an id (``2008_000123``), a file name
  or a path (``images/a.jpg``); a .csv list is a TensorFlow Object Detection CSV (its ``filename``
  column). An id is the file name without an image or .xml suffix.
- ``ImageIndex(folders)``: finds the image a label file names: ``folder / name`` in the label
  file's own folder (``beside``) and each folder in order, then any image with that file name or
  (image suffixes aside) that id below those folders, ignoring case (an XML naming ``a.jpg`` finds
  ``images/sub/A.PNG``). ``find`` returns None when there is none (the check reports it missing).
"""
from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from ssd_ros.datasets.images import IMAGE_SUFFIXES, is_image
from ssd_ros.datasets.types import DatasetError

SPLIT_ALIASES = {"val": ("val", "valid", "validation"), "valid": ("valid", "val", "validation"),
                 "validation": ("validation", "val", "valid")}
ANNOTATION_DIR_NAMES = ("Annotations", "annotation", "xml", "xmls")
IMAGE_DIR_NAMES = ("JPEGImages", "images", "imgs", "img")
LIST_SUFFIXES = (".txt", ".csv")
LIST_STEM_PATTERNS = ("{}", "{}_labels", "{}_list", "{}_annotations", "{}-labels")


def child_dir(root: Path, names: Sequence[str]) -> Path | None:
    """The first folder directly below ``root`` named like one of ``names`` (ignoring case)."""
    if not root.is_dir():
        return None
    folders = {path.name.lower(): path for path in sorted(root.iterdir()) if path.is_dir()}
    for name in names:
        if name.lower() in folders:
            return folders[name.lower()]
    return None


def split_names(split: str) -> tuple[str, ...]:
    return SPLIT_ALIASES.get(split.lower(), (split,))


def image_id(entry: str) -> str:
    """The id of an image named by an id, a file name or a path (image and .xml suffixes dropped)."""
    name = Path(entry.replace("\\", "/")).name
    suffix = Path(name).suffix.lower()
    return name[:-len(suffix)] if suffix in (*IMAGE_SUFFIXES, ".xml") else name


def _list_candidates(folder: Path, split: str) -> list[Path]:
    """List files for ``split`` directly in ``folder``, best name first."""
    if not folder.is_dir():
        return []
    by_name: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
            by_name.setdefault(path.stem.lower(), []).append(path)
    found = []
    for name in split_names(split):
        for pattern in LIST_STEM_PATTERNS:
            found += by_name.get(pattern.format(name).lower(), [])
    return found


def _list_places(root: Path) -> list[list[Path]]:
    """Folders a split list may be in, grouped by precedence: ImageSets/Main, root, folders below root."""
    if not root.is_dir():
        return []
    image_sets = child_dir(root, ("ImageSets",))
    main = child_dir(image_sets, ("Main",)) if image_sets is not None else None
    skip = {name.lower() for name in (*ANNOTATION_DIR_NAMES, *IMAGE_DIR_NAMES, "ImageSets", "labels")}
    below = [path for path in sorted(root.iterdir()) if path.is_dir() and path.name.lower() not in skip]
    return [[main] if main is not None else [], [root], below]


def find_split_list(root: Path, split: str) -> Path | None:
    for folders in _list_places(root):
        found = [candidate for folder in folders for candidate in _list_candidates(folder, split)]
        if not found:
            continue
        best = [path for path in found if path.stem.lower() == found[0].stem.lower()]
        if len(best) > 1:
            listed = ", ".join(str(path.relative_to(root)) for path in best)
            raise DatasetError(f"split {split!r} of {root} is listed by several files ({listed}): keep one, or "
                               "name the split by its file (e.g. --split train_labels)")
        return found[0]
    return None


def available_split_lists(root: Path) -> list[str]:
    """The list files a split could be read from, relative to root (for error messages)."""
    return [str(path.relative_to(root)) for folders in _list_places(root) for folder in folders
            for path in sorted(folder.iterdir()) if path.is_file() and path.suffix.lower() in LIST_SUFFIXES]


def read_split_list(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"split list {path} is not readable text ({error})") from None
    if path.suffix.lower() == ".csv":
        rows = csv.reader(text.splitlines())
        header = [name.strip().lower() for name in next(rows, [])]
        if "filename" not in header:
            raise DatasetError(f"split list {path} has no 'filename' column (header: {header}); a CSV split must "
                               "be a TensorFlow Object Detection CSV (filename,width,height,class,xmin,ymin,xmax,ymax)")
        column = header.index("filename")
        entries = [row[column] for row in rows if len(row) > column and row[column].strip()]
    else:
        entries = [line.split()[0] for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return list(dict.fromkeys(image_id(entry.strip()) for entry in entries))


class ImageIndex:
    """Images below some folders, found by the name a label file gives them."""

    def __init__(self, folders: Iterable[Path]) -> None:
        self.folders = [folder for folder in dict.fromkeys(folders) if folder.is_dir()]
        self._by_name: dict[str, Path] | None = None
        self._by_id: dict[str, Path] = {}

    def _build(self) -> dict[str, Path]:
        if self._by_name is None:
            self._by_name = {}
            for folder in self.folders:
                for path in sorted(folder.rglob("*")):
                    if is_image(path) and path.is_file():
                        self._by_name.setdefault(path.name.lower(), path)
                        self._by_id.setdefault(image_id(path.name).lower(), path)
        return self._by_name

    def find(self, name: str, fallback_id: str | None = None, beside: Path | None = None) -> Path | None:
        """The image ``name`` (a file name or relative path) refers to, or the image of ``fallback_id``;
        ``beside``: a folder looked in first (the label file's own)."""
        name = name.replace("\\", "/").strip()
        if name and not Path(name).is_absolute():
            for folder in [beside, *self.folders] if beside is not None else self.folders:
                if (folder / name).is_file():
                    return folder / name
        by_name = self._build()
        if name and Path(name).name.lower() in by_name:
            return by_name[Path(name).name.lower()]
        for key in (image_id(name) if name else None, fallback_id):
            if key and key.lower() in self._by_id:
                return self._by_id[key.lower()]
        return None
