"""``ssd-ros train --tune N``: hyper-parameter search with Optuna over N short training runs.

Contract: ``tune(config, trials, trial_epochs)`` runs ``trials`` trainings of ``trial_epochs``
epochs each (validating every epoch) in ``<out>/tune/trial_NNN``, sampled by a seeded TPE sampler
around the given config: learning rate (config.lr / 5 .. x 5, log), weight decay (1e-5 .. 1e-2,
log), batch size (8, 16, 32, capped by the training set), zoom-out (1 .. 3) and the IoU crop on or
off. Trials below the median of earlier ones at the same epoch are pruned. It maximises
validation mAP@0.5, writes ``<out>/tune/trials.csv`` and ``<out>/tune/best.json`` (the settings and
the ``ssd-ros train`` options that reproduce them) and returns the best settings.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, replace
from pathlib import Path

from ssd_ros_training.engine import TrainConfig, load_splits, train

BATCH_SIZES = (8, 16, 32)


@dataclass(frozen=True)
class TuneResult:
    params: dict
    map_50: float
    options: str  # the train command-line options for these settings
    trials: int
    pruned: int


def _options(params: dict) -> str:
    flags = [f"--lr {params['lr']:.3g}", f"--weight-decay {params['weight_decay']:.3g}",
             f"--batch-size {params['batch_size']}", f"--zoom-out {params['zoom_out']:.2f}"]
    if not params["iou_crop"]:
        flags.append("--no-iou-crop")
    return " ".join(flags)


def _trial_config(config: TrainConfig, trial, folder: Path, trial_epochs: int, train_images: int) -> TrainConfig:
    sizes = [size for size in BATCH_SIZES if size <= train_images] or [BATCH_SIZES[0]]
    params = {
        "lr": trial.suggest_float("lr", config.lr / 5, config.lr * 5, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-5, 1e-2, log=True),
        "batch_size": trial.suggest_categorical("batch_size", sizes),
        "zoom_out": trial.suggest_float("zoom_out", 1.0, 3.0),
        "iou_crop": trial.suggest_categorical("iou_crop", [True, False]),
    }
    return replace(config, out=str(folder / f"trial_{trial.number:03d}"), epochs=trial_epochs, val_every=1,
                   patience=0, resume=False, tensorboard=False, lr=params["lr"],
                   weight_decay=params["weight_decay"], batch_size=params["batch_size"],
                   augment=replace(config.augment, zoom_out=params["zoom_out"], iou_crop=params["iou_crop"]))


def tune(config: TrainConfig, trials: int, trial_epochs: int) -> TuneResult:
    import optuna

    if trials < 1 or trial_epochs < 1:
        raise ValueError(f"--tune needs at least 1 trial of at least 1 epoch, got {trials} trials of {trial_epochs}")
    train_images = len(load_splits(config)[0])
    folder = Path(config.out) / "tune"
    folder.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=config.seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1))

    def objective(trial) -> float:
        trial_config = _trial_config(config, trial, folder, trial_epochs, train_images)

        def report(epoch: int, metrics: dict) -> None:
            trial.report(metrics["map_50"], epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()

        result = train(trial_config, on_validation=report)
        return result.best_map_50

    study.optimize(objective, n_trials=trials)
    finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not finished:
        raise RuntimeError("no tuning trial finished: see the errors above")
    with (folder / "trials.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["trial", "state", "map_50", "lr", "weight_decay", "batch_size", "zoom_out", "iou_crop"])
        for t in study.trials:
            writer.writerow([t.number, t.state.name, "" if t.value is None else f"{t.value:.4f}",
                             *(t.params.get(k, "") for k in ("lr", "weight_decay", "batch_size", "zoom_out",
                                                              "iou_crop"))])
    best = study.best_trial
    assert best.value is not None  # optuna's best trial is a completed one: it has its value
    result = TuneResult(dict(best.params), float(best.value), _options(best.params), len(study.trials),
                        sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials))
    (folder / "best.json").write_text(json.dumps({"map_50": result.map_50, "params": result.params,
                                                  "trial": best.number, "train_options": result.options,
                                                  "trial_epochs": trial_epochs}, indent=2))
    return result
