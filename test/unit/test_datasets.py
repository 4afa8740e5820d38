"""Dataset readers (VOC in the layouts labelling tools write, COCO, YOLO, TensorFlow CSV), split lists, seeded
splits and ``ssd-ros dataset check``: known answers on tiny datasets written in the test, and one scene set
written in every format and layout reading back the same."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from dataset_writers import write_coco, write_split_list, write_tf_csv, write_voc, write_voc_scenes, write_yolo

from ssd_ros.cli import main as ssd_ros_main
from ssd_ros.datasets import DatasetError, detect_format, load_dataset, seeded_split
from ssd_ros.datasets.check import check_dataset
from ssd_ros.synthetic import render_scene


def write_image(path: Path, width: int, height: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((height, width, 3), 90, np.uint8))


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


# -------------------------------------------------------------------------- one dataset, four formats
def scene_dataset(root: Path, count: int = 4, seed: int = 4):
    """``count`` synthetic scenes as a devkit VOC dataset (blank images, boxes of rendered scenes), read back."""
    rng = np.random.default_rng(seed)
    scenes = []
    for index in range(count):
        _, objects = render_scene(rng, 160, 120)
        scenes.append((f"s{index}", 160, 120, [(n, round(x1), round(y1), round(x2), round(y2))
                                                for n, x1, y1, x2, y2 in objects]))
    write_voc_scenes(root, scenes)
    return load_dataset(root, "auto")


def assert_same_dataset(a, b, atol: float = 0.0) -> None:
    """Same images (b's exist), sizes, boxes and class names of the boxes, in the same order."""
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.image_path.name == y.image_path.name and y.image_path.is_file()
        assert (x.width, x.height) == (y.width, y.height)
        np.testing.assert_allclose(x.boxes, y.boxes, atol=atol)
        assert [a.class_names[i] for i in x.class_indices] == [b.class_names[i] for i in y.class_indices]


def test_the_same_scenes_read_the_same_in_voc_coco_yolo_and_tf_csv(tmp_path):
    voc = scene_dataset(tmp_path / "voc")
    write_coco(voc, tmp_path / "coco")
    write_yolo(voc, tmp_path / "yolo")
    write_tf_csv(voc, tmp_path / "csv" / "labels.csv", tmp_path / "csv" / "images")
    coco, yolo, tf_csv = (load_dataset(tmp_path / name, "auto") for name in ("coco", "yolo", "csv"))
    assert voc.class_names == coco.class_names == yolo.class_names == tf_csv.class_names
    assert (voc.format, coco.format, yolo.format, tf_csv.format) == ("voc", "coco", "yolo", "csv")
    assert sum(len(a.boxes) for a in voc) >= 4
    assert_same_dataset(voc, coco)
    assert_same_dataset(voc, yolo, atol=1e-3)
    assert_same_dataset(voc, tf_csv)


# ---------------------------------------------------------------------------------------- VOC layouts
@pytest.mark.parametrize("layout, folders", [
    ("devkit", None),
    ("lowercase", None),  # annotations/ + images/ (labelImg, Kaggle)
    ("lowercase", ("ANNOTATIONS", "Images")),  # folder names in any case
    ("beside", None),  # images/ with each XML next to its image
])
def test_voc_layouts_are_detected_and_read_alike(tmp_path, layout, folders):
    source = scene_dataset(tmp_path / "source", count=5)
    root = tmp_path / "data"
    write_voc(source, root, layout, split="train" if layout == "devkit" else None)
    if folders is not None:
        (root / "annotations").rename(root / folders[0])
        (root / "images").rename(root / folders[1])
    assert detect_format(root) == "voc"
    read = load_dataset(root, "auto", "train" if layout == "devkit" else None)
    assert_same_dataset(source, read)
    assert read.format == "voc" and read.layout.startswith("XML beside" if layout == "beside" else "XML in ")
    assert ssd_ros_main(["dataset", "check", str(root)]) == 0


def test_roboflow_split_folders_and_valid_as_val(tmp_path, capsys):
    source = scene_dataset(tmp_path / "source", count=6)
    train, valid = source.subset(range(4), "train"), source.subset(range(4, 6), "valid")
    write_voc(train, tmp_path / "export", "roboflow", "train")
    write_voc(valid, tmp_path / "export", "roboflow", "valid")
    assert detect_format(tmp_path / "export") == "voc"
    assert_same_dataset(train, load_dataset(tmp_path / "export", "auto", "train"))
    val = load_dataset(tmp_path / "export", "auto", "val")  # Roboflow's valid/ is the val split
    assert_same_dataset(valid, val)
    assert val.layout == "XML beside the images, split val = folder valid/"
    assert len(load_dataset(tmp_path / "export", "auto")) == 6
    with pytest.raises(DatasetError, match=r"split 'test' not found .* no folder test/"):
        load_dataset(tmp_path / "export", "auto", "test")
    assert ssd_ros_main(["dataset", "check", str(tmp_path / "export"), "--split", "val"]) == 0
    assert "split val = folder valid/" in capsys.readouterr().out


@pytest.mark.parametrize("where, entries", [
    ("ImageSets/Main/train.txt", "ids"),
    ("train.txt", "names"),  # file names
    ("splits/train_list.txt", "paths"),  # paths, in a folder below the dataset
])
def test_voc_split_from_a_list_file_of_ids_names_or_paths(tmp_path, where, entries):
    source = scene_dataset(tmp_path / "source", count=5)
    root = tmp_path / "data"
    write_voc(source, root, "lowercase")
    chosen = [source[i] for i in (3, 0, 2)]
    lines = {"ids": [a.image_id for a in chosen], "names": [a.image_path.name for a in chosen],
             "paths": [f"images/{a.image_path.name}" for a in chosen]}[entries]
    write_split_list(root / where, lines)
    read = load_dataset(root, "auto", "train")
    assert [a.image_id for a in read] == [a.image_id for a in chosen]  # in the list's order
    assert read.layout == f"XML in annotations/, split train from {where}"


def test_voc_with_a_tf_csv_split_reads_boxes_from_the_xml_and_matches_the_csv_with_voc_origin_0(tmp_path):
    """The public layout of labelImg datasets shipped with TensorFlow CSV splits converted from the XML numbers
    (annotations/, images/, data/train_labels.csv, data/test_labels.csv): read as it is, no symlinks."""
    source = scene_dataset(tmp_path / "source", count=6)
    root = tmp_path / "data"
    write_voc(source, root, "lowercase")
    train, test = source.subset([0, 2, 4, 5], "train"), source.subset([1, 3], "test")
    for part in (train, test):
        write_tf_csv(part, root / "data" / f"{part.split}_labels.csv", origin=1)  # the XML numbers, copied
    assert detect_format(root) == "voc"
    voc_test = load_dataset(root, "auto", "test")
    assert_same_dataset(test, voc_test)
    assert voc_test.layout == "XML in annotations/, split test from data/test_labels.csv"
    # the same files as TensorFlow CSV: boxes as written, so 1 px larger at the top left than VOC's reading,
    # and identical to VOC's with voc_origin 0 (the numbers as written)
    csv_train = load_dataset(root, "csv", "train")
    voc_train, voc_train_0 = load_dataset(root, "voc", "train"), load_dataset(root, "voc", "train", voc_origin=0)
    assert_same_dataset(voc_train_0, csv_train)
    for a, b in zip(voc_train, voc_train_0, strict=True):
        np.testing.assert_array_equal(b.boxes - a.boxes, np.tile([1, 1, 0, 0], (len(a.boxes), 1)))


def test_voc_box_origin_known_answer_and_option(tmp_path, capsys):
    write_image(tmp_path / "images" / "a.jpg", 20, 10)
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "a.xml").write_text(
        "<annotation><filename>a.jpg</filename><size><width>20</width><height>10</height></size><object>"
        "<name>x</name><bndbox><xmin>0</xmin><ymin>1</ymin><xmax>10</xmax><ymax>10</ymax></bndbox></object>"
        "</annotation>")
    np.testing.assert_array_equal(load_dataset(tmp_path, "voc")[0].boxes, [[-1, 0, 10, 10]])  # devkit: 1-based
    np.testing.assert_array_equal(load_dataset(tmp_path, "voc", voc_origin=0)[0].boxes, [[0, 1, 10, 10]])
    with pytest.raises(DatasetError, match=r"voc_origin must be 1 .* or 0"):
        load_dataset(tmp_path, "voc", voc_origin=2)
    # xmin 0 cannot be a 1-based index: the check reports it, and passes when the numbers are read as written
    assert ssd_ros_main(["dataset", "check", str(tmp_path)]) == 1
    assert "reaches 1 px outside the 20x10 image" in capsys.readouterr().out
    assert ssd_ros_main(["dataset", "check", str(tmp_path), "--voc-origin", "0"]) == 0
    assert "boxes as written (voc_origin 0)" in capsys.readouterr().out


def test_voc_images_found_by_name_or_id_and_foreign_xml_reported(tmp_path):
    write_image(tmp_path / "images" / "sub" / "A.PNG", 20, 10)  # the XML says a.jpg
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "a.xml").write_text(
        "<annotation><filename>a.jpg</filename><size><width>20</width><height>10</height></size></annotation>")
    (tmp_path / "annotations" / "cvat.xml").write_text("<annotations><image name='a.jpg'/></annotations>")
    dataset = load_dataset(tmp_path, "auto")
    assert [a.image_path for a in dataset] == [tmp_path / "images" / "sub" / "A.PNG"]
    report = check_dataset(tmp_path)
    assert report.issue_counts == {"not a VOC annotation": 1} and "cvat.xml" in report.issues[0].file


def test_split_errors_name_what_was_looked_for(tmp_path):
    source = scene_dataset(tmp_path / "source", count=3)
    write_voc(source, tmp_path / "data", "lowercase")
    write_split_list(tmp_path / "data" / "a" / "train.txt", ["s0"])
    write_split_list(tmp_path / "data" / "b" / "train.txt", ["s1"])
    with pytest.raises(DatasetError, match=r"split 'train' .* listed by several files \(a/train.txt, b/train.txt\)"):
        load_dataset(tmp_path / "data", "auto", "train")
    with pytest.raises(DatasetError, match=r"split 'val' not found .*here: \['a/train.txt', 'b/train.txt'\]"):
        load_dataset(tmp_path / "data", "auto", "val")
    write_split_list(tmp_path / "data" / "val.txt", ["s0", "gone"])
    with pytest.raises(DatasetError, match=r"gone.xml: listed in val.txt \(split 'val'\)"):
        load_dataset(tmp_path / "data", "auto", "val")


# ------------------------------------------------------------------------------------ TensorFlow CSV
def test_tf_csv_known_answer_any_column_order_negatives_and_bad_rows(tmp_path):
    write_image(tmp_path / "images" / "a.jpg", 64, 48)
    write_image(tmp_path / "images" / "b.jpg", 32, 32)
    csv_file = tmp_path / "train_labels.csv"
    csv_file.write_text("class,filename,xmin,ymin,xmax,ymax,extra\n"  # no width/height: read from the images
                        "dog,a.jpg,10,4,30,12.5,x\n"
                        "cat,a.jpg,0,0,5,5,x\n"
                        ",b.jpg,,,,,x\n")  # an image without objects
    assert detect_format(tmp_path) == "csv" and detect_format(csv_file) == "csv"
    dataset = load_dataset(tmp_path, "auto", "train")
    assert dataset.class_names == ("cat", "dog") and [a.image_id for a in dataset] == ["a", "b"]
    np.testing.assert_array_equal(dataset[0].boxes, [[10, 4, 30, 12.5], [0, 0, 5, 5]])  # as written
    np.testing.assert_array_equal(dataset[0].class_indices, [1, 0])
    assert (dataset[0].width, dataset[0].height, dataset[1].width) == (64, 48, 32) and len(dataset[1].boxes) == 0
    assert dataset[0].image_path == tmp_path / "images" / "a.jpg"
    assert len(load_dataset(csv_file, "csv")) == 2
    csv_file.write_text("filename,width,height,class,xmin,ymin,xmax,ymax\na.jpg,64,48,dog,10,four,30,12\n")
    with pytest.raises(DatasetError, match=r"train_labels.csv: line 2: could not convert string to float: 'four'"):
        load_dataset(tmp_path, "csv")
    csv_file.write_text("file,class,xmin,ymin,xmax,ymax\n")
    with pytest.raises(DatasetError, match="no TensorFlow CSV file"):
        load_dataset(tmp_path, "csv")


def test_tf_csv_splits_from_files_folders_and_txt_lists(tmp_path):
    source = scene_dataset(tmp_path / "source", count=6)
    train, valid = source.subset([0, 1, 2, 3], "train"), source.subset([4, 5], "valid")
    roboflow = tmp_path / "roboflow"  # train/_annotations.csv beside the images
    write_tf_csv(train, roboflow / "train" / "_annotations.csv", roboflow / "train")
    write_tf_csv(valid, roboflow / "valid" / "_annotations.csv", roboflow / "valid")
    assert detect_format(roboflow) == "csv"
    assert_same_dataset(valid, load_dataset(roboflow, "auto", "val"))
    assert_same_dataset(source, load_dataset(roboflow, "auto"))
    # one CSV of every box, plus a text list per split; a file of all labels beside per-split files counts once
    flat = tmp_path / "flat"
    write_tf_csv(source, flat / "all_labels.csv", flat / "images")
    write_tf_csv(valid, flat / "valid_labels.csv")
    write_split_list(flat / "train.txt", [a.image_path.name for a in train])
    assert_same_dataset(train, load_dataset(flat, "csv", "train"))
    assert_same_dataset(valid, load_dataset(flat, "csv", "valid"))
    assert_same_dataset(source, load_dataset(flat, "csv"))
    write_tf_csv(valid, flat / "valid_labels.csv", origin=1)  # now it disagrees with all_labels.csv
    report = check_dataset(flat, "csv")
    assert report.issue_counts == {"conflicting csv rows": 2} and report.images == 6


# ------------------------------------------------------------------------------------------ splits
def test_seeded_split_is_a_reproducible_partition_independent_of_listing_order(tmp_path):
    write_voc_scenes(tmp_path, [(f"img{i:02d}", 20, 20, [("a", 1, 1, 9, 9)]) for i in range(20)])
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
    write_voc_scenes(tmp_path, [
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
    write_voc_scenes(tmp_path / "ok", [("a", 40, 30, [("cell", 2, 2, 20, 20)])])
    assert ssd_ros_main(["dataset", "check", str(tmp_path / "ok"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["issue_counts"] == {}
    assert ssd_ros_main(["dataset", "check", str(tmp_path / "absent")]) == 2
    assert "does not exist" in capsys.readouterr().err
