"""Pascal VOC: Annotations/*.xml, JPEGImages/*, ImageSets/Main/<split>.txt.

VOC boxes are 1-based inclusive pixel indices; they become 0-based corner coordinates
(x1 = xmin - 1, x2 = xmax), so a box covering pixels 1..10 is 10 pixels wide.
"""
from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np

from ssd_ros.datasets.types import Annotation, DatasetError, DetectionDataset


def _text(element: ET.Element, path: str, file: Path) -> str:
    value = element.findtext(path)
    if value is None:
        raise DatasetError(f"{file}: missing <{path}>")
    return value.strip()


def read_annotation(xml_file: Path, images: Path) -> tuple[Annotation, list[str]]:
    try:
        root = ET.parse(xml_file).getroot()
    except ET.ParseError as error:
        raise DatasetError(f"{xml_file}: not valid XML ({error})") from None
    filename = root.findtext("filename") or f"{xml_file.stem}.jpg"
    names, boxes, difficult = [], [], []
    for item in root.iter("object"):
        names.append(_text(item, "name", xml_file))
        box = item.find("bndbox")
        if box is None:
            raise DatasetError(f"{xml_file}: an <object> has no <bndbox>")
        xmin, ymin, xmax, ymax = (float(_text(box, tag, xml_file)) for tag in ("xmin", "ymin", "xmax", "ymax"))
        boxes.append([xmin - 1, ymin - 1, xmax, ymax])
        difficult.append(item.findtext("difficult", "0").strip() == "1")
    annotation = Annotation(
        image_id=xml_file.stem,
        image_path=images / filename,
        width=int(float(_text(root, "size/width", xml_file))),
        height=int(float(_text(root, "size/height", xml_file))),
        boxes=np.asarray(boxes, np.float32).reshape(-1, 4),
        class_indices=np.zeros(len(names), np.int64),
        difficult=np.asarray(difficult, bool),
    )
    return annotation, names


def load_voc(root: str | Path, split: str | None = None, class_names=None) -> DetectionDataset:
    root = Path(root)
    annotations_dir = root / "Annotations"
    if not annotations_dir.is_dir():
        raise DatasetError(f"{root} is not a VOC dataset: no Annotations/ folder")
    if split is not None:
        split_file = root / "ImageSets" / "Main" / f"{split}.txt"
        if not split_file.is_file():
            raise DatasetError(f"split {split!r} not found: {split_file} does not exist")
        ids = [line.split()[0] for line in split_file.read_text().splitlines() if line.strip()]
        xml_files = [annotations_dir / f"{image_id}.xml" for image_id in ids]
    else:
        xml_files = sorted(annotations_dir.glob("*.xml"))
    parsed = [read_annotation(xml_file, root / "JPEGImages") for xml_file in xml_files]
    names = tuple(class_names) if class_names else tuple(sorted({n for _, found in parsed for n in found}))
    index = {name: i for i, name in enumerate(names)}
    annotations = []
    for annotation, found in parsed:
        unknown = [n for n in found if n not in index]
        if unknown:
            raise DatasetError(f"{annotation.image_id}: unknown classes {unknown}; known: {list(names)}")
        annotations.append(Annotation(annotation.image_id, annotation.image_path, annotation.width,
                                      annotation.height, annotation.boxes,
                                      np.asarray([index[n] for n in found], np.int64), annotation.difficult))
    return DetectionDataset(root, names, tuple(annotations))
