"""Training loop features on a tiny synthetic dataset: seeded reproducibility, TensorBoard beside log.csv,
multi-scale inputs, resume, COCO / YOLO datasets and seeded validation splits through the command line."""
from __future__ import annotations

import csv
import itertools
import re

import pytest

torch = pytest.importorskip("torch")

from dataset_writers import write_coco, write_yolo  # noqa: E402
from ssd_ros_training import engine  # noqa: E402
from ssd_ros_training.engine import TrainConfig, scaled_size, train  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from ssd_ros.cli import main as ssd_ros_main  # noqa: E402
from ssd_ros.datasets import load_dataset  # noqa: E402


def tiny_config(data, out, **overrides) -> TrainConfig:
    settings = dict(data=str(data), out=str(out), width_mult=0.5, epochs=2, batch_size=8, lr=1e-3, val_every=1,
                    workers=0, threads=2, warmup_iterations=2, seed=5, tensorboard=False)
    return TrainConfig(**{**settings, **overrides})


def weights(path) -> dict:
    return torch.load(str(path), weights_only=True)["state_dict"]


@pytest.fixture(scope="module")
def seeded_runs(tiny_voc, start_weights, tmp_path_factory):
    """Two runs with one seed (one with TensorBoard and multi-scale inputs recorded), one with another."""
    root = tmp_path_factory.mktemp("seeded")
    shapes = []
    build = engine.build_model

    def recording_build(*args):
        model = build(*args)
        model.backbone.register_forward_pre_hook(lambda _m, inputs: shapes.append(tuple(inputs[0].shape[-2:])))
        return model

    engine.build_model = recording_build
    try:
        first = train(tiny_config(tiny_voc, root / "a", weights=str(start_weights), tensorboard=True,
                                  multi_scale=(0.6, 1.0, 1.4)))
    finally:
        engine.build_model = build
    again = train(tiny_config(tiny_voc, root / "b", weights=str(start_weights), multi_scale=(0.6, 1.0, 1.4)))
    other = train(tiny_config(tiny_voc, root / "c", weights=str(start_weights), multi_scale=(0.6, 1.0, 1.4),
                              seed=6))
    return root, first, again, other, shapes


def test_same_seed_same_weights_other_seed_other_weights(seeded_runs):
    _, first, again, other, _ = seeded_runs
    a, b, c = weights(first.last_checkpoint), weights(again.last_checkpoint), weights(other.last_checkpoint)
    assert all(torch.equal(a[name], b[name]) for name in a)
    assert not all(torch.equal(a[name], c[name]) for name in a)


def test_tensorboard_events_beside_the_csv_log(seeded_runs):
    root, *_ = seeded_runs
    with (root / "a" / "log.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    events = EventAccumulator(str(root / "a" / "tensorboard"))
    events.Reload()
    steps = [event.step for event in events.Scalars("train/loss")]
    assert steps == [1, 2, 3, 4]  # 18 training images, batches of 8: 2 steps per epoch
    val = events.Scalars("val/mAP_50")
    assert [event.step for event in val] == [1, 2]
    assert [f"{event.value:.4f}" for event in val] == [row["val_map_50"] for row in rows]
    assert {"train/lr", "train/cls_loss", "val/mAP", "val/AP50/circle"} <= set(events.Tags()["scalars"])


def test_multi_scale_varies_the_training_input_and_validates_at_the_trained_size(seeded_runs):
    *_, shapes = seeded_runs
    allowed = {scaled_size((320, 320), factor)[::-1] for factor in (0.6, 1.0, 1.4)}
    assert len(shapes) == 7  # the feature-map probe at the trained size, then per epoch 2 steps and 1 val batch
    training, validation = shapes[1:3] + shapes[4:6], [shapes[0], shapes[3], shapes[6]]
    assert set(shapes) <= allowed and len(set(training)) > 1
    assert scaled_size((320, 320), 0.6) == (192, 192) and scaled_size((512, 384), 1.4) == (704, 544)
    assert validation == [(320, 320)] * 3


def test_resume_continues_from_the_last_epoch(tiny_voc, start_weights, tmp_path):
    train(tiny_config(tiny_voc, tmp_path, weights=str(start_weights), epochs=1, tensorboard=True))
    result = train(tiny_config(tiny_voc, tmp_path, weights=str(start_weights), epochs=2, resume=True,
                               tensorboard=True))
    assert result.epochs_run == 2
    state = torch.load(str(tmp_path / "last.pt"), weights_only=True)
    assert state["epoch"] == 1 and state["global_step"] == 4
    assert [line.split(",")[0] for line in (tmp_path / "log.csv").read_text().splitlines()] == ["epoch", "1", "2"]


@pytest.mark.parametrize("dataset_format", ["coco", "yolo"])
def test_train_command_on_coco_and_yolo_with_a_seeded_validation_split(dataset_format, tiny_voc, start_weights,
                                                                        tmp_path, capsys):
    voc = load_dataset(tiny_voc, "voc")
    (write_coco if dataset_format == "coco" else write_yolo)(voc, tmp_path / "data", split="train")
    code = ssd_ros_main(["train", "--data", str(tmp_path / "data"), "--format", dataset_format, "--val-fraction",
                         "0.25", "--width-mult", "0.5", "--epochs", "1", "--batch-size", "8", "--workers", "0",
                         "--threads", "2", "--weights", str(start_weights), "--no-tensorboard",
                         "--out", str(tmp_path / "run")])
    assert code == 0, capsys.readouterr().err
    state = torch.load(str(tmp_path / "run" / "best.pt"), weights_only=True)
    assert state["labels"] == ["background", *voc.class_names]
    assert state["dataset"]["format"] == dataset_format
    assert (state["dataset"]["train_images"], state["dataset"]["val_images"]) == (18, 6)
    assert state["dataset"]["val_split"] == "train[val, seed 0]"


def test_train_command_explains_a_missing_validation_split(tiny_voc, tmp_path, capsys):
    code = ssd_ros_main(["train", "--data", str(tiny_voc), "--val-split", "nothere", "--out", str(tmp_path)])
    assert code == 2
    assert "split 'nothere' not found" in capsys.readouterr().err


def test_dataset_summary_and_problems_are_reported_before_training(tmp_path):
    from ssd_ros_training.synth import write_voc_dataset

    write_voc_dataset(tmp_path, images=8, seed=1, val_fraction=0.25, test_fraction=0.0)
    config = tiny_config(tmp_path, tmp_path / "run", val_fraction=0.5)
    printed = engine.dataset_report(config, *engine.load_splits(config))
    assert printed.startswith(f"dataset: voc {tmp_path} (XML in Annotations/, split train from "
                              "ImageSets/Main/train.txt), ")
    assert re.search(r"\n  train \(train\[train, seed 5\]\): 3 images; boxes: \w+ \d+", printed)
    assert "\n  val (train[val, seed 5]): 3 images; boxes: " in printed
    assert "dataset check, split train: no issues" in printed  # said also when the dataset is clean
    xml = next((tmp_path / "Annotations").glob("*.xml"))
    flipped = re.sub(r"<xmin>\d+</xmin>", "<xmin>60</xmin>", xml.read_text(), count=1)
    xml.write_text(re.sub(r"<xmax>\d+</xmax>", "<xmax>20</xmax>", flipped, count=1))
    printed = engine.dataset_report(config, *engine.load_splits(config))
    assert "dataset check, split train: degenerate box: 1" in printed and "ssd-ros dataset check" in printed


def test_time_budget_fits_the_schedule_and_stops_with_a_lasting_progress_line(tiny_voc, start_weights, tmp_path,
                                                                               capsys):
    """A hand-driven clock (one second per reading, about two readings a step) stands in for time: a 30 s
    budget ends the run after the planned steps, long before its 50 epochs, with the learning rate annealed."""
    readings = itertools.count()
    config = tiny_config(tiny_voc, tmp_path, weights=str(start_weights), epochs=50, val_every=2, time_budget=0.5)
    result = train(config, clock=lambda: float(next(readings)))
    out, err = capsys.readouterr()
    state = torch.load(str(tmp_path / "last.pt"), weights_only=True)
    assert 2 <= result.epochs_run < 50 and state["global_step"] == state["total_steps"] < 100
    assert state["optimizer"]["param_groups"][0]["lr"] < 0.02 * config.lr  # the cosine ran to its end
    assert out.index("dataset: voc") < out.index("training: time budget 0.5 min (at most 50 epochs)")
    assert "6 validation images (fewer than 50): too few to rank checkpoints" in out
    assert "time budget: stopping" in out and "nan" not in out + err
    final_bar = err.rstrip().rsplit("\r", 1)[-1]  # the whole-run bar, left on screen: steps, elapsed<ETA
    assert f"{state['global_step']}/{state['total_steps']}" in final_bar
    assert re.search(r"\[\d+:\d\d<\d+:\d\d", final_bar)
    best = torch.load(str(result.best_checkpoint), weights_only=True)
    assert best["epoch"] == state["epoch"] and best["validation"]["epoch"] == result.epochs_run  # small: last wins
    with (tmp_path / "log.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    validated = [row["epoch"] for row in rows if row["val_map_50"]]
    assert validated == [str(e) for e in range(2, result.epochs_run + 1, 2)] + \
        ([str(result.epochs_run)] if result.epochs_run % 2 else [])  # every 2nd epoch and the last
    assert all(row["val_map"] == "" for row in rows if row["epoch"] not in validated)
