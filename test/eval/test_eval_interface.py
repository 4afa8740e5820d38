"""One evaluation interface for datasets and bags: same options, same report, per-class thresholds for the node.

The synthetic dataset and the bag `ssd-ros bag from-dataset` makes of it hold the same images and
boxes, so ``eval --data`` and ``eval --bag`` (offline) must give the same report layout and the same
metrics; ``--write-thresholds`` closes the tune-on-a-bag loop: its file is a params file the node
starts with, and its thresholds change what the node publishes.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from eval_helpers import TRUTH_TOPIC, eval_report, run_cli

from ssd_ros.core import PostprocessConfig
from ssd_ros.core.postprocess import postprocess


def _keys(report: dict) -> set[str]:
    return set(report) - {"source", "dataset", "offline", "files"}


def test_data_and_bag_give_the_same_report_layout_and_metrics(synthetic_dataset, dataset_bag, tmp_path):
    code, from_data = eval_report(tmp_path / "data", "--data", synthetic_dataset, "--nms-iou", "0.5")
    assert code == 0 and from_data is not None
    # no --image-topic: the bag's only camera topic is used
    code, from_bag = eval_report(tmp_path / "bag", "--bag", dataset_bag(), "--gt-topic", TRUTH_TOPIC,
                                 "--nms-iou", "0.5")
    assert code == 0 and from_bag is not None
    assert _keys(from_data) == _keys(from_bag)
    assert set(from_data["metrics"]) == set(from_bag["metrics"])
    assert from_data["mode"] == "dataset" and from_bag["mode"] == "offline"
    assert from_data["metrics"]["map"] == pytest.approx(from_bag["metrics"]["map"], abs=1e-9)
    assert from_data["metrics"]["f1_best"] == from_bag["metrics"]["f1_best"]
    assert from_data["nms_iou_threshold"] == from_bag["nms_iou_threshold"] == 0.5
    assert (tmp_path / "data" / "report.md").is_file() and (tmp_path / "data" / "pr_curves.png").is_file()


def test_nms_iou_changes_what_is_scored(synthetic_dataset, tmp_path, capsys):
    def detections(iou: str) -> int:
        assert run_cli(["eval", "--data", synthetic_dataset, "--nms-iou", iou, "--json"]) == 0
        return json.loads(capsys.readouterr().out)["metrics"]["detections"]

    assert detections("0.1") < detections("0.9"), "a looser NMS keeps more overlapping boxes"


def test_a_bag_with_several_camera_topics_needs_image_topic(synthetic_dataset, tmp_path, capsys):
    from eval_helpers import scene_bag

    bag = scene_bag(tmp_path / "two", frames=2)
    assert run_cli(["eval", "--bag", bag, "--gt-topic", TRUTH_TOPIC]) == 0  # one camera topic: found
    capsys.readouterr()
    two = scene_bag(tmp_path / "cameras", frames=2, compressed=True, also_raw=True)
    assert run_cli(["eval", "--bag", two, "--gt-topic", TRUTH_TOPIC]) == 2
    assert "2 camera topics" in capsys.readouterr().err


def test_per_class_thresholds_replace_the_global_one_for_their_class():
    scores = np.array([[0.1, 0.8, 0.3], [0.1, 0.4, 0.7], [0.2, 0.2, 0.45]], np.float32)
    boxes = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]], np.float32)
    everything = PostprocessConfig(score_threshold=0.25)
    _, _, classes = postprocess(scores, boxes, everything, background_index=0)
    assert sorted(classes.tolist()) == [1, 1, 2, 2, 2]
    strict_for_two = PostprocessConfig(score_threshold=0.25, class_score_thresholds=((2, 0.6),))
    _, kept_scores, classes = postprocess(scores, boxes, strict_for_two, background_index=0)
    assert sorted(classes.tolist()) == [1, 1, 2] and kept_scores[classes == 2].tolist() == [pytest.approx(0.7)]
    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        PostprocessConfig(class_score_thresholds=((1, 1.5),))


@pytest.mark.ros
def test_thresholds_written_on_a_bag_are_a_params_file_the_node_runs_with(dataset_bag, tmp_path):
    from ros_helpers import ros_process

    thresholds = tmp_path / "thresholds.yaml"
    assert run_cli(["eval", "--bag", dataset_bag(), "--gt-topic", TRUTH_TOPIC, "--write-thresholds", thresholds]) == 0
    entries = yaml.safe_load(thresholds.read_text())["/**"]["ros__parameters"]["class_score_thresholds"]
    assert {entry.split("=")[0] for entry in entries} <= {"circle", "square", "star", "triangle"} and entries
    log = tmp_path / "node.log"
    with ros_process(["-m", "ssd_ros.ros.detector_node", "--ros-args", "--params-file", str(thresholds)], log,
                     ready_text="active:", timeout=120) as node:
        assert node.poll() is None
    assert "cannot configure" not in log.read_text()


@pytest.mark.parametrize("compressed", [False, True])
def test_frames_detected_at_once_give_the_same_detections_as_one_at_a_time(dataset_bag, detector, postprocess,
                                                                         compressed):
    from ssd_ros.bags.reader import Bag
    from ssd_ros.eval.offline import run_offline

    topic = "/camera/image_raw/compressed" if compressed else "/camera/image_raw"
    with Bag(dataset_bag("mcap", compressed)) as bag:
        wanted = set(range(bag.topics[topic].count)) - {3}  # a frame left out stays out
        one = run_offline(bag, topic, wanted, detector, postprocess, workers=1)
        three = run_offline(bag, topic, wanted, detector, postprocess, workers=3)
    assert one.report["frames_at_once"] == 1 and three.report["frames_at_once"] == 3
    assert sorted(three.outputs) == sorted(one.outputs) == sorted(wanted) and three.frame_sizes == one.frame_sizes
    for index, output in one.outputs.items():
        assert output.names == three.outputs[index].names
        np.testing.assert_array_equal(output.boxes, three.outputs[index].boxes)
        np.testing.assert_array_equal(output.scores, three.outputs[index].scores)


@pytest.mark.parametrize("source", ["data", "bag"])
def test_eval_workers_option_reaches_the_report(synthetic_dataset, dataset_bag, tmp_path, source):
    given = ["--data", synthetic_dataset] if source == "data" else ["--bag", dataset_bag(), "--gt-topic", TRUTH_TOPIC]
    mode = "dataset" if source == "data" else "offline"
    reports = {}
    for workers in ("1", "3"):
        code, reports[workers] = eval_report(tmp_path / workers, *given, "--workers", workers)
        assert code == 0 and reports[workers] is not None
    assert reports["1"][mode]["frames_at_once"] == 1 and reports["3"][mode]["frames_at_once"] == 3
    assert reports["1"][mode]["frames_per_second"] > 0
    assert reports["1"]["metrics"] == reports["3"]["metrics"]  # the same detections, every figure equal
    assert "3 at once" in (tmp_path / "3" / "report.md").read_text()
