"""Pascal VOC XML datasets, in the layouts labelling tools write.

Where the XML files are (folder names compared ignoring case, see layout.py):
- an annotation folder (``Annotations/``, ``annotations/``, ``xml/``): the VOC devkit, labelImg
  ``annotations/ + images/``, Kaggle-style exports;
- otherwise anywhere below the dataset folder: an XML beside each image (labelImg's default,
  Roboflow's VOC export with ``train/ valid/ test/`` folders). XML files that are not VOC
  ``<annotation>`` documents (e.g. a CVAT export) are skipped and reported.
A split S is the list file layout.find_split_list finds (``ImageSets/Main/S.txt``, ``S.txt``,
``train_labels.csv`` ...: ids, file names or paths, or a TensorFlow CSV's filename column), else a
folder named S (``valid`` and ``val`` are one split) holding XML files; no split: every XML file.
The image of an XML is its ``<filename>`` beside the XML, in the image folder (``JPEGImages/``,
``images/``) or the dataset folder, else the image file of that name or id found below them.

Box coordinates (``voc_origin``): the VOC devkit defines ``xmin..xmax`` as 1-based, inclusive pixel
indices, so with ``voc_origin=1`` (the default) a box becomes the 0-based corner box
x1 = xmin - 1, y1 = ymin - 1, x2 = xmax, y2 = ymax: the pixels it covers, in the coordinates every
other reader (COCO, YOLO, TensorFlow CSV) and the Detector use; a box over pixels 1..10 is 10
pixels wide, as the devkit's own ``xmax - xmin + 1`` says. Many tools write the numbers unchanged
instead (labelImg stores its 0-based mouse positions, only raised to at least 1; converters to COCO
or TensorFlow CSV usually copy them), and a scorer that reads them as-is sees every box 1 px
larger at the top left. ``voc_origin=0`` reads the numbers as written (x1 = xmin, ...), which
matches such a scorer (``--voc-origin 0`` on the command line). The class list is the sorted set
of names found unless the caller gives one.
"""
from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np

from ssd_ros.datasets.layout import (
    ANNOTATION_DIR_NAMES,
    IMAGE_DIR_NAMES,
    ImageIndex,
    available_split_lists,
    child_dir,
    find_split_list,
    read_split_list,
    split_names,
)
from ssd_ros.datasets.types import DatasetError, LabelRecord, ParsedDataset, Problem

VOC_ORIGINS = (1, 0)


class _BadAnnotation(Exception):
    pass


class _NotVoc(Exception):
    pass


def _text(element: ET.Element, path: str) -> str:
    value = element.findtext(path)
    if value is None:
        raise _BadAnnotation(f"missing <{path}>")
    return value.strip()


def _number(element: ET.Element, path: str) -> float:
    text = _text(element, path)
    try:
        return float(text)
    except ValueError:
        raise _BadAnnotation(f"<{path}> is {text!r}, not a number") from None


def read_annotation(xml_file: Path, images: ImageIndex | Path, origin: int = 1) -> LabelRecord:
    """One XML file as a LabelRecord; raises _BadAnnotation with the reason when it cannot be read."""
    try:
        root = ET.parse(xml_file).getroot()
    except ET.ParseError as error:
        raise _BadAnnotation(f"not valid XML ({error})") from None
    if root.tag != "annotation":
        raise _NotVoc(f"root element <{root.tag}>, not <annotation>")
    filename = (root.findtext("filename") or "").strip() or f"{xml_file.stem}.jpg"
    names, boxes, difficult = [], [], []
    for item in root.iter("object"):
        names.append(_text(item, "name"))
        box = item.find("bndbox")
        if box is None:
            raise _BadAnnotation("an <object> has no <bndbox>")
        xmin, ymin, xmax, ymax = (_number(box, tag) for tag in ("xmin", "ymin", "xmax", "ymax"))
        boxes.append([xmin - origin, ymin - origin, xmax, ymax])
        difficult.append((item.findtext("difficult") or "0").strip() == "1")
    if isinstance(images, Path):
        image_path = images / filename
    else:
        image_path = images.find(filename, xml_file.stem, beside=xml_file.parent) or \
            (images.folders or [xml_file.parent])[0] / filename
    return LabelRecord(
        image_id=xml_file.stem,
        image_path=image_path,
        width=int(_number(root, "size/width")),
        height=int(_number(root, "size/height")),
        boxes=np.asarray(boxes, np.float32).reshape(-1, 4),
        names=tuple(names),
        difficult=np.asarray(difficult, bool),
        label_file=xml_file,
    )


def annotation_dir(root: Path) -> Path | None:
    """The folder of XML files, when the dataset has one (else the XMLs lie beside the images)."""
    folder = child_dir(root, ANNOTATION_DIR_NAMES)
    return folder if folder is not None and next(folder.rglob("*.xml"), None) is not None else None


def has_voc_files(root: Path) -> bool:
    """True when ``root`` looks like a VOC dataset: an annotation folder of XMLs, or XMLs in or below it."""
    if annotation_dir(root) is not None or child_dir(root, ("JPEGImages",)) is not None:
        return True
    folders = [root, *(path for path in root.iterdir() if path.is_dir())] if root.is_dir() else []
    return any(next(folder.glob("*.xml"), None) is not None for folder in folders)


def _split_files(root: Path, annotations: Path | None, split: str, parsed: ParsedDataset) -> list[Path]:
    everywhere = annotations or root
    listed = find_split_list(root, split)
    if listed is not None:
        parsed.layout.append(f"split {split} from {listed.relative_to(root)}")
        by_id: dict[str, Path] = {}
        for path in sorted(everywhere.rglob("*.xml")):
            by_id.setdefault(path.stem.lower(), path)
        files = []
        for entry in read_split_list(listed):
            found = by_id.get(entry.lower())
            if found is None:
                parsed.problems.append(Problem("missing annotation", everywhere / f"{entry}.xml",
                                               f"listed in {listed.name} (split {split!r}) but there is no "
                                               f"{entry}.xml in {everywhere}"))
            else:
                files.append(found)
        return files
    folder = child_dir(root, split_names(split))
    if folder is None and annotations is not None:
        folder = child_dir(annotations, split_names(split))
    if folder is not None and next(folder.rglob("*.xml"), None) is not None:
        parsed.layout.append(f"split {split} = folder {folder.relative_to(root)}/")
        return sorted(folder.rglob("*.xml"))
    lists = available_split_lists(root)
    raise DatasetError(f"split {split!r} not found in {root}: no list file (ImageSets/Main/{split}.txt, {split}.txt, "
                       f"{split}.csv, {split}_labels.csv, ...) and no folder {split}/ with XML files (list files "
                       f"here: {lists or 'none'}); leave out the split to use every image")


def parse_voc(root: str | Path, split: str | None = None, voc_origin: int = 1) -> ParsedDataset:
    root = Path(root)
    if voc_origin not in VOC_ORIGINS:
        raise DatasetError(f"voc_origin must be 1 (VOC devkit, 1-based pixel indices) or 0 (coordinates as "
                           f"written), got {voc_origin!r}")
    if not root.is_dir():
        raise DatasetError(f"VOC dataset folder {root} does not exist")
    annotations = annotation_dir(root)
    if annotations is None and not has_voc_files(root):
        raise DatasetError(f"{root} is not a VOC dataset: no Annotations/ (or annotations/) folder of XML files and "
                           "no XML files beside the images")
    parsed = ParsedDataset(root, "voc", split, declared_names=None)
    parsed.layout.append(f"XML in {annotations.relative_to(root)}/" if annotations is not None
                         else "XML beside the images")
    if voc_origin == 0:
        parsed.layout.append("boxes as written (voc_origin 0)")
    xml_files = _split_files(root, annotations, split, parsed) if split is not None \
        else sorted((annotations or root).rglob("*.xml"))
    image_folder = child_dir(root, IMAGE_DIR_NAMES)
    images = ImageIndex([image_folder, root] if image_folder is not None else [root])
    for xml_file in xml_files:
        try:
            parsed.records.append(read_annotation(xml_file, images, voc_origin))
        except _NotVoc as error:
            parsed.problems.append(Problem("not a VOC annotation", xml_file, f"{error}: ignored", fatal=False))
        except _BadAnnotation as error:
            parsed.problems.append(Problem("unreadable annotation", xml_file, str(error)))
    return parsed
