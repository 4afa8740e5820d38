"""Test helpers: write a DetectionDataset out again as COCO JSON or YOLO txt (images copied), so one scene
set can be read back through every reader."""
from __future__ import annotations

import json
import shutil
from pathlib import Path


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
