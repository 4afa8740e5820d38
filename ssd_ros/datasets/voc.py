"""Pascal VOC: Annotations/*.xml, JPEGImages/*, ImageSets/Main/<split>.txt.

VOC boxes are 1-based inclusive pixel indices; they become 0-based corner coordinates
(x1 = xmin - 1, x2 = xmax), so a box covering pixels 1..10 is 10 pixels wide. The image is
JPEGImages/<filename> from the XML (<id>.jpg when the XML names none); the class list is the
sorted set of names found unless the caller gives one.
"""
from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np

from ssd_ros.datasets.types import DatasetError, LabelRecord, ParsedDataset, Problem


class _BadAnnotation(Exception):
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


def read_annotation(xml_file: Path, images: Path) -> LabelRecord:
    """One XML file as a LabelRecord; raises _BadAnnotation with the reason when it cannot be read."""
    try:
        root = ET.parse(xml_file).getroot()
    except ET.ParseError as error:
        raise _BadAnnotation(f"not valid XML ({error})") from None
    filename = (root.findtext("filename") or "").strip() or f"{xml_file.stem}.jpg"
    names, boxes, difficult = [], [], []
    for item in root.iter("object"):
        names.append(_text(item, "name"))
        box = item.find("bndbox")
        if box is None:
            raise _BadAnnotation("an <object> has no <bndbox>")
        xmin, ymin, xmax, ymax = (_number(box, tag) for tag in ("xmin", "ymin", "xmax", "ymax"))
        boxes.append([xmin - 1, ymin - 1, xmax, ymax])
        difficult.append((item.findtext("difficult") or "0").strip() == "1")
    return LabelRecord(
        image_id=xml_file.stem,
        image_path=images / filename,
        width=int(_number(root, "size/width")),
        height=int(_number(root, "size/height")),
        boxes=np.asarray(boxes, np.float32).reshape(-1, 4),
        names=tuple(names),
        difficult=np.asarray(difficult, bool),
        label_file=xml_file,
    )


def parse_voc(root: str | Path, split: str | None = None) -> ParsedDataset:
    root = Path(root)
    annotations_dir = root / "Annotations"
    if not annotations_dir.is_dir():
        raise DatasetError(f"{root} is not a VOC dataset: no Annotations/ folder")
    if split is not None:
        split_file = root / "ImageSets" / "Main" / f"{split}.txt"
        if not split_file.is_file():
            available = sorted(p.stem for p in (root / "ImageSets" / "Main").glob("*.txt"))
            raise DatasetError(f"split {split!r} not found: {split_file} does not exist "
                               f"(splits here: {available or 'none'}; leave out the split to use every image)")
        ids = [line.split()[0] for line in split_file.read_text().splitlines() if line.strip()]
        xml_files = [annotations_dir / f"{image_id}.xml" for image_id in ids]
    else:
        xml_files = sorted(annotations_dir.glob("*.xml"))
    parsed = ParsedDataset(root, "voc", split, declared_names=None)
    for xml_file in xml_files:
        if not xml_file.is_file():
            parsed.problems.append(Problem("missing annotation", xml_file, f"listed in split {split!r} but missing"))
            continue
        try:
            parsed.records.append(read_annotation(xml_file, root / "JPEGImages"))
        except _BadAnnotation as error:
            parsed.problems.append(Problem("unreadable annotation", xml_file, str(error)))
    return parsed
