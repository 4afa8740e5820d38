"""Test helpers: write a DetectionDataset out again as VOC XML (in the layouts labelling tools write), COCO
JSON, YOLO txt or TensorFlow CSV (images copied), so one scene set can be read back through every reader;
and ``write_voc_scenes``, small VOC datasets of blank images with boxes given by hand (bad ones included)."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import cv2
import numpy as np

from ssd_ros.datasets import Annotation, DetectionDataset

VOC_LAYOUTS = {  # layout -> (annotation folder, image folder); None: the split folder (Roboflow)
    "devkit": ("Annotations", "JPEGImages"),  # + ImageSets/Main/<split>.txt
    "lowercase": ("annotations", "images"),  # labelImg / Kaggle exports
    "beside": ("images", "images"),  # labelImg's default: each XML next to its image
    "roboflow": (None, None),  # <split>/ holding the images and their XMLs
}


def _place_image(annotation, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / annotation.image_path.name
    if target.resolve() != annotation.image_path.resolve():
        shutil.copy(annotation.image_path, target)
    return target


def write_voc(dataset, root: Path, layout: str = "devkit", split: str | None = None, origin: int = 1) -> None:
    """XML per image in ``layout`` (VOC_LAYOUTS); boxes written as xmin = x1 + origin, xmax = x2 (origin 1: the
    devkit's 1-based indices; 0: the numbers as they are). ``split`` names the ImageSets/Main list (devkit) or the
    folder (roboflow)."""
    annotations_name, images_name = VOC_LAYOUTS[layout]
    if layout == "roboflow":
        if split is None:
            raise ValueError("the roboflow layout needs a split (its folder name)")
        annotations_dir = images_dir = root / split
    else:
        annotations_dir, images_dir = root / annotations_name, root / images_name
    annotations_dir.mkdir(parents=True, exist_ok=True)
    for annotation in dataset:
        image = _place_image(annotation, images_dir)
        items = "".join(
            f"<object><name>{dataset.class_names[c]}</name><difficult>{int(d)}</difficult><bndbox>"
            f"<xmin>{x1 + origin:g}</xmin><ymin>{y1 + origin:g}</ymin><xmax>{x2:g}</xmax><ymax>{y2:g}</ymax>"
            "</bndbox></object>"
            for (x1, y1, x2, y2), c, d in zip(annotation.boxes.tolist(), annotation.class_indices.tolist(),
                                              annotation.difficult.tolist(), strict=True))
        (annotations_dir / f"{image.stem}.xml").write_text(
            f"<annotation><folder>{images_dir.name}</folder><filename>{image.name}</filename>"
            f"<path>/home/someone/{image.name}</path><size><width>{annotation.width}</width>"
            f"<height>{annotation.height}</height><depth>3</depth></size>{items}</annotation>")
    if layout == "devkit" and split is not None:
        write_split_list(root / "ImageSets" / "Main" / f"{split}.txt", [a.image_path.stem for a in dataset])


def write_voc_scenes(root: Path, scenes: list[tuple[str, int, int, list]],
                     splits: dict[str, list[str]] | None = None) -> None:
    """Devkit VOC of blank images; scenes: (image id, width, height, [(name, x1, y1, x2, y2), ...]) with 0-based
    corner boxes, written as they are (flipped or outside boxes too)."""
    images = root / "JPEGImages"
    images.mkdir(parents=True, exist_ok=True)
    names = sorted({o[0] for _, _, _, objects in scenes for o in objects})
    annotations = []
    for image_id, width, height, objects in scenes:
        cv2.imwrite(str(images / f"{image_id}.jpg"), np.full((height, width, 3), 90, np.uint8))
        annotations.append(Annotation(image_id, images / f"{image_id}.jpg", width, height,
                                      np.asarray([o[1:] for o in objects], np.float32).reshape(-1, 4),
                                      np.asarray([names.index(o[0]) for o in objects], np.int64),
                                      np.zeros(len(objects), bool)))
    write_voc(DetectionDataset(root, tuple(names), tuple(annotations)), root)
    for split, ids in (splits or {}).items():
        write_split_list(root / "ImageSets" / "Main" / f"{split}.txt", ids)


def write_split_list(path: Path, entries: list[str]) -> None:
    """A split list: one image id, file name or path per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{entry}\n" for entry in entries))


def write_tf_csv(dataset, path: Path, images_dir: Path | None = None, origin: int = 0,
                 columns: tuple[str, ...] = ("filename", "width", "height", "class", "xmin", "ymin", "xmax",
                                             "ymax")) -> None:
    """TensorFlow Object Detection CSV, one row per box (an image without boxes: one row with class and box
    empty); xmin = x1 + origin (1 reproduces CSVs converted from VOC XML numbers). Images are copied into
    ``images_dir`` when given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for annotation in dataset:
            if images_dir is not None:
                _place_image(annotation, images_dir)
            values = {"filename": annotation.image_path.name, "width": annotation.width,
                      "height": annotation.height}
            boxes = list(zip(annotation.boxes.tolist(), annotation.class_indices.tolist(), strict=True))
            for (x1, y1, x2, y2), class_index in boxes or [((None,) * 4, None)]:
                row = {**values, "class": "" if class_index is None else dataset.class_names[class_index],
                       **{k: "" if v is None else f"{v:g}" for k, v in
                          zip(("xmin", "ymin", "xmax", "ymax"),
                              (x1 if x1 is None else x1 + origin, y1 if y1 is None else y1 + origin, x2, y2),
                              strict=True)}}
                writer.writerow([row[name] for name in columns])


def write_coco(dataset, root: Path, split: str = "train") -> Path:
    """root/annotations/instances_<split>.json and root/images/<split>/ (category ids from 1)."""
    images_dir = root / "images" / split
    images_dir.mkdir(parents=True, exist_ok=True)
    document = {"images": [], "annotations": [],
                "categories": [{"id": i + 1, "name": n} for i, n in enumerate(dataset.class_names)]}
    for number, annotation in enumerate(dataset):
        shutil.copy(annotation.image_path, images_dir / annotation.image_path.name)
        document["images"].append({"id": number, "file_name": annotation.image_path.name,
                                   "width": annotation.width, "height": annotation.height})
        for (x1, y1, x2, y2), class_index in zip(annotation.boxes.tolist(), annotation.class_indices.tolist(),
                                                 strict=True):
            document["annotations"].append({"id": len(document["annotations"]) + 1, "image_id": number,
                                            "category_id": class_index + 1, "bbox": [x1, y1, x2 - x1, y2 - y1],
                                            "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    path = root / "annotations" / f"instances_{split}.json"
    path.write_text(json.dumps(document))
    return path


def write_yolo(dataset, root: Path, split: str = "train") -> None:
    """root/data.yaml, root/images/<split>/ and root/labels/<split>/ (normalised cx cy w h)."""
    for folder in ("images", "labels"):
        (root / folder / split).mkdir(parents=True, exist_ok=True)
    names = "".join(f"  {i}: {n}\n" for i, n in enumerate(dataset.class_names))
    data_yaml = root / "data.yaml"
    entries = data_yaml.read_text().split("names:")[0] if data_yaml.exists() else ""  # splits written before
    data_yaml.write_text(f"{entries}{split}: images/{split}\nnames:\n{names}")
    for annotation in dataset:
        shutil.copy(annotation.image_path, root / "images" / split / annotation.image_path.name)
        lines = []
        for (x1, y1, x2, y2), class_index in zip(annotation.boxes.tolist(), annotation.class_indices.tolist(),
                                                 strict=True):
            width, height = annotation.width, annotation.height
            lines.append(f"{class_index} {(x1 + x2) / 2 / width:.6f} {(y1 + y2) / 2 / height:.6f} "
                         f"{(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}")
        (root / "labels" / split / f"{annotation.image_path.stem}.txt").write_text("\n".join(lines))
