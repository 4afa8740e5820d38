"""Issue 13, ``ssd-ros eval``: bad runs never look good, and every error is one line with exit 2.

- Ground truth with boxes outside the image, negative, NaN, infinite or without area: every problem
  counted in report.json and warned about; nothing scorable left: exit 2 (never mAP 0 or -1, exit 0).
- A damaged bag (an MCAP chunk whose checksum fails): the frames it holds are counted unreadable.
- The report folder: checked before the evaluation, a foreign folder refused without --overwrite,
  a failed run leaves no stale report.json, no file of an earlier run is mixed in.
- Tracebacks that were: an SQLite file named .bag, COCO entries that are not objects, a sidecar whose
  input size or labels do not match the model (also for `ssd-ros detect`).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from eval_helpers import IMAGE_TOPIC, TRUTH_TOPIC, assert_frames_accounted, eval_report, run_cli, scene_bag
from model_faults import default_model_sidecar

from ssd_ros.eval.truth_boxes import CLIPPED, DEGENERATE, NOT_FINITE, OUTSIDE

BAD_BOXES = {  # added to the real boxes of frame 0 (320 x 240)
    NOT_FINITE: [[np.nan, 10, 50, 60], [10, 10, np.inf, 60]],
    DEGENERATE: [[40, 40, 40, 90], [60, 80, 70, 70]],
    OUTSIDE: [[400, 10, 450, 60], [-80, -60, -10, -5]],
    CLIPPED: [[-20, 100, 30, 150]],
}


def add_bad_boxes(index, boxes, names):
    if index != 0:
        return boxes, names
    extra = np.array([box for group in BAD_BOXES.values() for box in group], np.float64)
    return np.vstack([boxes, extra]), [*names, *["circle"] * len(extra)]


def only_bad_boxes(index, boxes, names):
    bad = np.array([[np.nan, 1, 2, 3], [500, 500, 600, 600], [-50, -50, -1, -1]], np.float64)
    return bad, ["circle"] * len(bad)


def test_ground_truth_problems_are_counted_and_warned_never_silent(tmp_path, capsys):
    bag = scene_bag(tmp_path / "bad_truth", edit_truth=add_bad_boxes)
    code, report = eval_report(tmp_path / "report", "--bag", bag, "--image-topic", IMAGE_TOPIC,
                               "--gt-topic", TRUTH_TOPIC)
    assert code == 0 and report is not None
    problems = report["ground_truth"]["problems"]
    assert {kind: problems.get(kind) for kind in BAD_BOXES} == {kind: len(b) for kind, b in BAD_BOXES.items()}
    assert any("ground-truth problems" in warning for warning in report["warnings"])
    assert_frames_accounted(report)
    assert 0 < report["metrics"]["map_50"] <= 1
    assert "ground-truth problems" in capsys.readouterr().out


def test_ground_truth_with_nothing_scorable_is_an_error_not_a_zero(tmp_path, capsys):
    bag = scene_bag(tmp_path / "only_bad", edit_truth=only_bad_boxes)
    code, report = eval_report(tmp_path / "report", "--bag", bag, "--image-topic", IMAGE_TOPIC,
                               "--gt-topic", TRUTH_TOPIC)
    error = capsys.readouterr().err
    assert code == 2 and report is None
    assert "no ground-truth box can be scored" in error and len(error.strip().splitlines()) == 1


def _mcap_with_checksums(source: Path, target: Path) -> Path:
    """The same messages rewritten by the mcap library with chunk CRCs (as rosbag2's own MCAP writer writes)."""
    from mcap.reader import make_reader
    from mcap.writer import CompressionType, Writer

    with source.open("rb") as stream, target.open("wb") as out:
        reader = make_reader(stream)
        writer = Writer(out, chunk_size=150_000, compression=CompressionType.NONE, enable_crcs=True)
        writer.start(profile="ros2", library="test")
        summary = reader.get_summary()
        schema_ids = {key: writer.register_schema(schema.name, schema.encoding, schema.data)
                      for key, schema in summary.schemas.items()}
        channel_ids = {key: writer.register_channel(channel.topic, channel.message_encoding,
                                                    schema_ids[channel.schema_id], channel.metadata)
                       for key, channel in summary.channels.items()}
        for _, channel, message in reader.iter_messages(log_time_order=True):
            writer.add_message(channel_ids[channel.id], message.log_time, message.data, message.publish_time)
        writer.finish()
    return target


def test_a_damaged_mcap_chunk_counts_its_frames_unreadable(tmp_path):
    source = next(scene_bag(tmp_path / "mcap_source", storage="mcap").glob("*.mcap"))
    bag = _mcap_with_checksums(source, tmp_path / "checked.mcap")
    data = bytearray(bag.read_bytes())
    middle = len(data) * 2 // 3
    data[middle:middle + 64] = bytes(np.random.default_rng(1).integers(0, 256, 64, dtype=np.uint8))
    bag.write_bytes(bytes(data))
    code, report = eval_report(tmp_path / "report", "--bag", bag, "--image-topic", IMAGE_TOPIC,
                               "--gt-topic", TRUTH_TOPIC)
    assert code in (0, 2)
    if code == 0:
        assert report["frames"]["unreadable"] > 0, report["frames"]
        assert_frames_accounted(report)
        assert any("could not be read" in warning for warning in report["warnings"])


def test_the_report_folder_is_checked_first_owned_and_never_stale(tmp_path, capsys):
    bag = scene_bag(tmp_path / "bag")
    args = ["--bag", bag, "--image-topic", IMAGE_TOPIC, "--gt-topic", TRUTH_TOPIC]
    a_file = tmp_path / "a_file"
    a_file.write_text("mine")
    assert run_cli(["eval", *args, "--report", a_file]) == 2
    assert "is a file" in capsys.readouterr().err and a_file.read_text() == "mine"

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert run_cli(["eval", *args, "--report", foreign]) == 2
    assert "--overwrite" in capsys.readouterr().err and not (foreign / "report.json").exists()
    assert run_cli(["eval", *args, "--report", foreign, "--overwrite"]) == 0
    assert (foreign / "report.json").is_file() and (foreign / "notes.txt").read_text() == "mine"

    own = tmp_path / "own"
    assert run_cli(["eval", *args, "--report", own]) == 0
    (own / "latency_histogram.png").write_bytes(b"from an earlier online run")
    assert run_cli(["eval", *args, "--report", own]) == 0
    assert not (own / "latency_histogram.png").exists(), "a file of an earlier run was mixed into the report"
    assert sorted(path.name for path in own.iterdir()) == ["pr_curves.png", "report.json", "report.md"]
    assert run_cli(["eval", "--bag", bag, "--image-topic", IMAGE_TOPIC, "--gt-topic", "/no/such/topic",
                    "--report", own]) == 2
    assert not (own / "report.json").exists(), "a failed run left the previous report.json in place"


def test_an_sqlite_file_named_bag_is_one_line(tmp_path, capsys):
    bag = scene_bag(tmp_path / "bag")
    misnamed = tmp_path / "recording.bag"
    shutil.copy(next(bag.glob("*.db3")), misnamed)
    assert run_cli(["eval", "--bag", misnamed, "--image-topic", IMAGE_TOPIC, "--gt-topic", TRUTH_TOPIC]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "SQLite" in error and ".db3" in error


@pytest.mark.parametrize("document", [
    {"images": [1, "two"], "annotations": [], "categories": [{"id": 1, "name": "circle"}]},
    {"images": [{"id": 1, "file_name": "a.png", "width": 320, "height": 240}], "annotations": [None, 3],
     "categories": [{"id": 1, "name": "circle"}]},
    {"images": [], "annotations": {"not": "a list"}, "categories": [{"id": 1, "name": "circle"}]},
    {"images": [], "annotations": [], "categories": ["circle"]},
])
def test_coco_entries_that_are_not_objects_are_one_line(tmp_path, capsys, document):
    bag = scene_bag(tmp_path / "bag", frames=2)
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps(document))
    assert run_cli(["eval", "--bag", bag, "--image-topic", IMAGE_TOPIC, "--gt", truth]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "truth.json" in error, error


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"input_changes": {"width": 300, "height": 300}}, "300x300"),
    ({"labels": ["background", "circle", "square"]}, "labels"),
])
def test_a_sidecar_that_does_not_fit_the_model_is_one_line_in_eval_and_detect(tmp_path, capsys, changes, fragment):
    from ssd_ros.resources import default_model_path

    sidecar = default_model_sidecar(tmp_path / "sidecar.yaml", **changes)
    bag = scene_bag(tmp_path / "bag", frames=2)
    assert run_cli(["eval", "--bag", bag, "--image-topic", IMAGE_TOPIC, "--gt-topic", TRUTH_TOPIC,
                    "--model", default_model_path(), "--model-config", sidecar]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and fragment in error, error
    image = tmp_path / "scene.png"
    import cv2

    from ssd_ros.synthetic import render_scene
    cv2.imwrite(str(image), render_scene(np.random.default_rng(0), 320, 240)[0])
    assert run_cli(["detect", "--model", default_model_path(), "--model-config", sidecar, image]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and fragment in error, error
