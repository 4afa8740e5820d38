"""Dataset readers (VOC, COCO, YOLO), seeded splits and ``ssd-ros dataset check``: known answers on tiny
datasets written in the test, and one scene set written in all three formats reading back the same."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from dataset_writers import write_coco, write_yolo

from ssd_ros.cli import main as ssd_ros_main
from ssd_ros.datasets import DatasetError, detect_format, load_dataset, seeded_split
from ssd_ros.datasets.check import check_dataset
from ssd_ros.synthetic import render_scene


def write_image(path: Path, width: int, height: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((height, width, 3), 90, np.uint8))


def write_voc(root: Path, scenes: list[tuple[str, int, int, list]], splits: dict[str, list[str]] | None = None) -> None:
    """scenes: (image id, width, height, [(name, x1, y1, x2, y2), ...]) with 0-based corner boxes."""
    (root / "Annotations").mkdir(parents=True, exist_ok=True)
    for image_id, width, height, objects in scenes:
        write_image(root / "JPEGImages" / f"{image_id}.jpg", width, height)
        items = "".join(f"<object><name>{n}</name><difficult>0</difficult><bndbox><xmin>{x1 + 1:g}</xmin>"
                        f"<ymin>{y1 + 1:g}</ymin><xmax>{x2:g}</xmax><ymax>{y2:g}</ymax></bndbox></object>"
                        for n, x1, y1, x2, y2 in objects)
        (root / "Annotations" / f"{image_id}.xml").write_text(
            f"<annotation><filename>{image_id}.jpg</filename><size><width>{width}</width><height>{height}</height>"
            f"<depth>3</depth></size>{items}</annotation>")
    for split, ids in (splits or {}).items():
        (root / "ImageSets" / "Main").mkdir(parents=True, exist_ok=True)
        (root / "ImageSets" / "Main" / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))


# ----------------------------------------------------------------------------------------------- COCO
def test_coco_boxes_classes_crowd_and_negatives(tmp_path):
    write_image(tmp_path / "images" / "a.jpg", 64, 48)
    write_image(tmp_path / "images" / "b.jpg", 32, 32)
    document = {
        "images": [{"id": 7, "file_name": "a.jpg", "width": 64, "height": 48},
                   {"id": 9, "file_name": "b.jpg", "width": 32, "height": 32}],
        "categories": [{"id": 5, "name": "dog"}, {"id": 2, "name": "cat"}],  # listed out of id order
        "annotations": [{"id": 1, "image_id": 7, "category_id": 5, "bbox": [10, 4, 20, 8], "iscrowd": 0},
                        {"id": 2, "image_id": 7, "category_id": 2, "bbox": [0.5, 1.5, 3, 4], "iscrowd": 1}],
    }
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "instances_val.json").write_text(json.dumps(document))
    dataset = load_dataset(tmp_path, "coco", "val")
    assert dataset.class_names == ("cat", "dog")  # category id order: 2, 5
    first, second = dataset
    assert first.image_path == tmp_path / "images" / "a.jpg" and (first.width, first.height) == (64, 48)
    np.testing.assert_array_equal(first.boxes, [[10, 4, 30, 12], [0.5, 1.5, 3.5, 5.5]])
    np.testing.assert_array_equal(first.class_indices, [1, 0])
    np.testing.assert_array_equal(first.difficult, [False, True])
    assert len(second.boxes) == 0 and second.image_id == "9"
    assert detect_format(tmp_path) == "coco"
    assert len(load_dataset(tmp_path / "annotations" / "instances_val.json", "coco")) == 2


def test_coco_errors_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(DatasetError, match="split 'train' not found"):
        load_dataset(tmp_path, "coco", "train")
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": [], "categories": [{"id": 1, "name": "a"}], "annotations": '
                   '[{"id": 1, "image_id": 3, "category_id": 4, "bbox": [0, 0, 1, 1]}]}')
    with pytest.raises(DatasetError, match=r"bad\.json.*refer to image ids not in 'images'"):
        load_dataset(bad, "coco")


# ----------------------------------------------------------------------------------------------- YOLO
def test_yolo_normalised_boxes_polygons_and_images_without_labels(tmp_path):
    (tmp_path / "data.yaml").write_text("path: /nowhere/on/this/machine\ntrain: images/train\nval: images/val\n"
                                        "names:\n  0: cat\n  1: dog\n")
    write_image(tmp_path / "images" / "train" / "a.png", 200, 100)
    write_image(tmp_path / "images" / "train" / "b.png", 50, 50)
    write_image(tmp_path / "images" / "val" / "c.png", 50, 50)
    (tmp_path / "labels" / "train").mkdir(parents=True)
    (tmp_path / "labels" / "train" / "a.txt").write_text("1 0.5 0.5 0.2 0.4\n\n0 0.1 0.2 0.3 0.2 0.2 0.6\n")
    dataset = load_dataset(tmp_path, "yolo", "train")
    assert dataset.class_names == ("cat", "dog") and [a.image_id for a in dataset] == ["a", "b"]
    np.testing.assert_allclose(dataset[0].boxes, [[80, 30, 120, 70], [20, 20, 60, 60]], atol=1e-4)
    np.testing.assert_array_equal(dataset[0].class_indices, [1, 0])
    assert (dataset[0].width, dataset[0].height) == (200, 100) and len(dataset[1].boxes) == 0
    assert len(load_dataset(tmp_path, "yolo", "val")) == 1 and len(load_dataset(tmp_path, "yolo")) == 3
    assert detect_format(tmp_path) == "yolo"


def test_yolo_bad_lines_and_unknown_ids_are_errors_naming_the_label_file(tmp_path):
    (tmp_path / "classes.txt").write_text("cat\n")
    write_image(tmp_path / "images" / "train" / "a.jpg", 20, 20)
    (tmp_path / "labels" / "train").mkdir(parents=True)
    label = tmp_path / "labels" / "train" / "a.txt"
    label.write_text("0 0.5 0.5 0.2\n")
    with pytest.raises(DatasetError, match=r"a\.txt: line 1: 4 fields"):
        load_dataset(tmp_path, "yolo", "train")
    label.write_text("3 0.5 0.5 0.2 0.2\n")
    with pytest.raises(DatasetError, match=r"a\.txt: unknown classes \['<class id 3>'\]"):
        load_dataset(tmp_path, "yolo", "train")
    with pytest.raises(DatasetError, match="YOLO split 'test' not found"):
        load_dataset(tmp_path, "yolo", "test")


# ------------------------------------------------------------------------- one dataset, three formats
def test_the_same_scenes_read_the_same_in_voc_coco_and_yolo(tmp_path):
    rng = np.random.default_rng(4)
    scenes = []
    for index in range(4):
        _, objects = render_scene(rng, 160, 120)
        scenes.append((f"s{index}", 160, 120, [(n, round(x1), round(y1), round(x2), round(y2))
                                                for n, x1, y1, x2, y2 in objects]))
    write_voc(tmp_path / "voc", scenes)
    voc = load_dataset(tmp_path / "voc", "auto")
    write_coco(voc, tmp_path / "coco")
    write_yolo(voc, tmp_path / "yolo")
    coco, yolo = load_dataset(tmp_path / "coco", "auto"), load_dataset(tmp_path / "yolo", "auto")
    assert voc.class_names == coco.class_names == yolo.class_names
    assert (voc.format, coco.format, yolo.format) == ("voc", "coco", "yolo")
    assert sum(len(a.boxes) for a in voc) >= 4
    for a, b, c in zip(voc, coco, yolo, strict=True):
        assert a.image_path.name == b.image_path.name == c.image_path.name
        np.testing.assert_array_equal(a.boxes, b.boxes)
        np.testing.assert_allclose(a.boxes, c.boxes, atol=1e-3)
        np.testing.assert_array_equal(a.class_indices, b.class_indices)
        np.testing.assert_array_equal(a.class_indices, c.class_indices)


# ------------------------------------------------------------------------------------------ splits
def test_seeded_split_is_a_reproducible_partition_independent_of_listing_order(tmp_path):
    write_voc(tmp_path, [(f"img{i:02d}", 20, 20, [("a", 1, 1, 9, 9)]) for i in range(20)])
    dataset = load_dataset(tmp_path, "voc")
    train, val = seeded_split(dataset, 0.25, seed=3)
    assert len(val) == 5 and len(train) == 15
    assert {a.image_id for a in train}.isdisjoint(a.image_id for a in val)
    reversed_dataset = dataset.subset(range(len(dataset) - 1, -1, -1), "reversed")
    assert {a.image_id for a in seeded_split(reversed_dataset, 0.25, seed=3)[1]} == {a.image_id for a in val}
    assert {a.image_id for a in seeded_split(dataset, 0.25, seed=4)[1]} != {a.image_id for a in val}
    with pytest.raises(DatasetError, match="val_fraction"):
        seeded_split(dataset, 1.5, seed=0)


# ------------------------------------------------------------------------------------------- check
def test_check_reports_every_kind_of_issue_with_its_file(tmp_path, capsys):
    write_voc(tmp_path, [
        ("good", 40, 30, [("cell", 2, 2, 20, 20)]),
        ("empty", 40, 30, [("cell", 5, 5, 5, 15)]),
        ("flipped", 40, 30, [("cell", 20, 5, 10, 15)]),
        ("outside", 40, 30, [("cell", 30, 10, 52, 20)]),
        ("alien", 40, 30, [("ufo", 1, 1, 9, 9)]),
        ("noimage", 40, 30, [("cell", 1, 1, 9, 9)]),
        ("wrongsize", 40, 30, []),
    ])
    (tmp_path / "JPEGImages" / "noimage.jpg").unlink()
    write_image(tmp_path / "JPEGImages" / "wrongsize.jpg", 41, 30)
    (tmp_path / "Annotations" / "broken.xml").write_text("<annotation><size>")
    report = check_dataset(tmp_path, "voc", class_names=["cell"])
    by_kind = {kind: [i for i in report.issues if i.kind == kind] for kind in report.issue_counts}
    assert report.issue_counts == {"unreadable annotation": 1, "empty box": 1, "degenerate box": 1,
                                   "box outside image": 1, "unknown class": 1, "missing image": 1,
                                   "size mismatch": 1}
    assert by_kind["unreadable annotation"][0].file.endswith("broken.xml")
    assert by_kind["empty box"][0].file.endswith("empty.xml")
    assert by_kind["degenerate box"][0].file.endswith("flipped.xml")
    assert "12 px outside the 40x30 image" in by_kind["box outside image"][0].detail
    assert by_kind["unknown class"][0].file.endswith("alien.xml") and "'ufo'" in by_kind["unknown class"][0].detail
    assert "noimage.jpg does not exist" in by_kind["missing image"][0].detail
    assert "declared 40x30" in by_kind["size mismatch"][0].detail and "41x30" in by_kind["size mismatch"][0].detail
    assert report.images == 7 and report.images_without_objects == 1
    assert report.boxes_per_class == {"cell": 5, "ufo": 1}
    assert report.median_box_size["cell"] == [18.0, 10.0]
    assert report.size_histogram["8-16"] == 3 and sum(report.size_histogram.values()) == 4  # 2 boxes have no area

    assert ssd_ros_main(["dataset", "check", str(tmp_path), "--classes", "cell"]) == 1
    printed = capsys.readouterr().out
    assert "missing image: 1" in printed and "broken.xml" in printed and "images: 7 (1 without objects)" in printed


def test_check_of_a_clean_dataset_passes_and_bad_paths_exit_2(tmp_path, capsys):
    write_voc(tmp_path / "ok", [("a", 40, 30, [("cell", 2, 2, 20, 20)])])
    assert ssd_ros_main(["dataset", "check", str(tmp_path / "ok"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["issue_counts"] == {}
    assert ssd_ros_main(["dataset", "check", str(tmp_path / "absent")]) == 2
    assert "does not exist" in capsys.readouterr().err
