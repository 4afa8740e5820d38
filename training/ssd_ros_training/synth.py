"""``ssd-ros synth``: datasets of synthetic scenes (ssd_ros.synthetic) in Pascal VOC layout.

Writes JPEGImages/, Annotations/ and ImageSets/Main/{train,val,trainval,test}.txt; the same seed
gives the same dataset.
"""
from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

import cv2
import numpy as np

from ssd_ros.synthetic import render_scene


def _annotation_xml(name: str, width: int, height: int, objects) -> ET.Element:
    root = ET.Element("annotation")
    ET.SubElement(root, "filename").text = f"{name}.jpg"
    size = ET.SubElement(root, "size")
    for tag, value in (("width", width), ("height", height), ("depth", 3)):
        ET.SubElement(size, tag).text = str(value)
    for kind, x1, y1, x2, y2 in objects:
        item = ET.SubElement(root, "object")
        ET.SubElement(item, "name").text = kind
        ET.SubElement(item, "difficult").text = "0"
        box = ET.SubElement(item, "bndbox")
        # VOC boxes are 1-based inclusive pixel indices
        for tag, value in (("xmin", x1 + 1), ("ymin", y1 + 1), ("xmax", x2), ("ymax", y2)):
            ET.SubElement(box, tag).text = str(round(value))
    return root


def write_voc_dataset(out: Path, images: int, seed: int, width: int = 320, height: int = 240,
                      val_fraction: float = 0.1, test_fraction: float = 0.1) -> dict[str, int]:
    """Render ``images`` scenes into a VOC folder; returns the split sizes."""
    rng = np.random.default_rng(seed)
    for folder in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    names = []
    for index in range(images):
        name = f"synth_{seed}_{index:06d}"
        image, objects = render_scene(rng, width, height)
        cv2.imwrite(str(out / "JPEGImages" / f"{name}.jpg"), image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
        ET.ElementTree(_annotation_xml(name, width, height, objects)).write(out / "Annotations" / f"{name}.xml")
        names.append(name)
    test_count, val_count = int(images * test_fraction), int(images * val_fraction)
    splits = {"test": names[:test_count], "val": names[test_count:test_count + val_count],
              "train": names[test_count + val_count:]}
    splits["trainval"] = splits["val"] + splits["train"]
    for split, members in splits.items():
        (out / "ImageSets" / "Main" / f"{split}.txt").write_text("".join(f"{n}\n" for n in members))
    return {split: len(members) for split, members in splits.items()}
