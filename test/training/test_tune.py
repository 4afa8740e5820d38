"""``ssd-ros train --tune N``: N short Optuna trials, their record, and the best settings reported."""
from __future__ import annotations

import csv
import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("optuna")

from ssd_ros.cli import main as ssd_ros_main


def test_tune_runs_n_trials_and_reports_the_best(tiny_voc, start_weights, tmp_path, capsys):
    code = ssd_ros_main(["train", "--data", str(tiny_voc), "--width-mult", "0.5", "--lr", "1e-3", "--tune", "2",
                         "--tune-epochs", "1", "--workers", "0", "--threads", "2", "--warmup-iterations", "2",
                         "--weights", str(start_weights), "--seed", "3", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert code == 0
    with (tmp_path / "tune" / "trials.csv").open() as handle:
        trials = list(csv.DictReader(handle))
    assert [t["trial"] for t in trials] == ["0", "1"] and all(t["state"] == "COMPLETE" for t in trials)
    best = json.loads((tmp_path / "tune" / "best.json").read_text())
    assert best["map_50"] == pytest.approx(max(float(t["map_50"]) for t in trials), abs=1e-4)
    params = best["params"]
    assert 2e-4 <= params["lr"] <= 5e-3 and 1e-5 <= params["weight_decay"] <= 1e-2
    assert params["batch_size"] in (8, 16) and 1.0 <= params["zoom_out"] <= 3.0  # 18 training images: no 32
    assert f"--lr {params['lr']:.3g}" in best["train_options"]
    assert "best of 2 trials" in printed and best["train_options"] in printed
    assert sorted(p.name for p in (tmp_path / "tune").iterdir()) == ["best.json", "trial_000", "trial_001",
                                                                     "trials.csv"]
