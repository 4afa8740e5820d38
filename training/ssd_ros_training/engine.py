"""The training loop: seeded, logged, validated, checkpointed; one process or DistributedDataParallel.

Contract: ``train(config)`` trains torchvision's SSD (its MultiBox loss with 3:1 hard negative
mining) on ``config.data`` and writes to ``config.out``: ``last.pt`` every epoch, ``best.pt`` by
the rule of best_checkpoint.py (the highest validation mAP@0.5 beyond noise; the last validated
checkpoint when the validation set is small), ``log.csv`` with one row per epoch (validation
columns empty where none ran) and TensorBoard events in ``tensorboard/``. The run lasts
``epochs`` epochs, or with ``time_budget`` (minutes) as long as the budget allows, the warm-up
and cosine schedule fitted to it (schedule.py). It prints the dataset summary first (images, boxes
per class, the issues ``ssd-ros dataset check`` finds), then one whole-run progress bar (step,
elapsed, ETA, loss, the latest validation mAP once there is one) that stays on screen, and a line
per validation. Checkpoints hold arch, labels (background first), width_mult, the model config
(input size, anchor scales) and the raw ModelSpec with its priors, state_dict, optimizer /
scheduler / grad-scaler states and the full config and command, so export, ``--resume`` and the
core's torch backend need nothing else.

Reproducible: the same config and seed give the same weights on the same machine (CPU, workers
or not). Under torchrun every process trains on its DistributedSampler share with ``batch_size``
images per step (gloo on CPU, nccl on CUDA); only rank 0 validates, logs and writes files. AMP
(autocast + GradScaler) runs on CUDA only. ``on_validation(epoch, metrics)`` is called on rank 0
after each validation (the hyper-parameter search prunes trials through it); ``clock`` is the time
source of the time budget (tests pass their own).
"""
from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ssd_ros.core.checkpoint import read_checkpoint, write_checkpoint
from ssd_ros.core.torchvision_ssd import canonical_architecture
from ssd_ros.datasets import DatasetError, DetectionDataset, load_dataset, seeded_split
from ssd_ros.eval.metrics import ImageDetections, ImageGroundTruth, evaluate
from ssd_ros_training.best_checkpoint import BestCheckpointRule
from ssd_ros_training.data import TorchDetectionDataset, collate
from ssd_ros_training.distributed import CPU, Distributed
from ssd_ros_training.models import ModelConfig, build_model, load_matching_weights, raw_model_spec
from ssd_ros_training.runlog import RunLog
from ssd_ros_training.schedule import RunPlan
from ssd_ros_training.transforms import AugmentConfig, eval_transforms, train_transforms


@dataclass
class TrainConfig:
    data: str
    out: str
    format: str = "voc"
    arch: str = "ssdlite320"
    width_mult: float = 1.0
    input_size: tuple[int, int] | None = None  # (width, height); None: the architecture's own
    anchor_scales: tuple[float, ...] | None = None  # one per feature map plus one; None: torchvision's
    epochs: int = 120
    batch_size: int = 16  # per process
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_iterations: int = 300
    train_split: str | None = "train"
    val_split: str | None = "val"
    val_fraction: float = 0.0  # > 0: validate on this seeded share of train_split instead of val_split
    val_every: int = 5
    time_budget: float | None = None  # minutes for the whole run; the schedule is fitted to it
    best_min_val_images: int = 50  # fewer validation images: best.pt is the last validated checkpoint
    best_tolerance: float = 0.01  # mAP@0.5 differences up to this are noise: the later checkpoint wins
    voc_origin: int = 1  # VOC XML boxes: 1 = 1-based devkit indices (x1 = xmin - 1), 0 = as written
    workers: int = 2
    seed: int = 0
    weights: str | None = None
    threads: int = 0
    resume: bool = False
    patience: int = 0  # epochs without improvement before stopping; 0 = never
    device: str = "auto"
    amp: bool = True  # mixed precision, used on CUDA only
    multi_scale: tuple[float, ...] = ()  # input-size factors drawn per batch, e.g. (0.8, 1.0, 1.2)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    cache_images: bool = False
    tensorboard: bool = True
    command: list[str] = field(default_factory=lambda: list(sys.argv))

    def model_config(self) -> ModelConfig:
        return ModelConfig(canonical_architecture(self.arch), self.width_mult,
                           (*self.input_size,) if self.input_size else None,  # a tuple, also from a list
                           tuple(self.anchor_scales) if self.anchor_scales else None)


VALIDATION_STEP_COST = 0.5  # a validation batch guessed at half a training step until one is timed


@dataclass(frozen=True)
class TrainResult:
    best_checkpoint: Path
    last_checkpoint: Path
    best_map_50: float
    epochs_run: int


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _seed_worker(worker_id: int) -> None:
    """numpy and random in each DataLoader worker follow the worker's torch seed (itself from the generator)."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def scaled_size(size: tuple[int, int], factor: float) -> tuple[int, int]:
    """(width, height) times factor, rounded to a multiple of 32 so every feature map keeps whole cells."""
    return tuple(max(32, 32 * round(side * factor / 32)) for side in size)  # type: ignore[return-value]


@torch.inference_mode()
def validate(model: torch.nn.Module, dataset: DetectionDataset, batch_size: int,
             device: torch.device = CPU) -> dict:
    was_training = model.training
    model.eval()
    loader = torch.utils.data.DataLoader(TorchDetectionDataset(dataset, eval_transforms()), batch_size=batch_size,
                                         collate_fn=collate)
    truths, found = [], []
    for images, targets in loader:
        for output, target in zip(model([image.to(device) for image in images]), targets, strict=True):
            truths.append(ImageGroundTruth(target["boxes"].numpy(), target["labels"].numpy() - 1))
            found.append(ImageDetections(output["boxes"].cpu().numpy(), output["scores"].cpu().numpy(),
                                         output["labels"].cpu().numpy() - 1))
    model.train(was_training)
    result = evaluate(truths, found, dataset.class_names)
    return {"map": result.map, "map_50": result.map_50, "ap_50_per_class": result.ap_50_per_class}


def load_splits(config: TrainConfig) -> tuple[DetectionDataset, DetectionDataset]:
    train_set = load_dataset(config.data, config.format, config.train_split, voc_origin=config.voc_origin)
    if config.val_fraction > 0:
        return seeded_split(train_set, config.val_fraction, config.seed)
    try:
        val_set = load_dataset(config.data, config.format, config.val_split, class_names=train_set.class_names,
                               voc_origin=config.voc_origin)
    except DatasetError as error:
        raise DatasetError(f"validation set: {error}; or validate on a seeded share of the training images "
                           "with --val-fraction 0.1") from None
    return train_set, val_set


def _class_counts(dataset: DetectionDataset) -> str:
    counts = np.bincount(np.concatenate([a.class_indices for a in dataset] or [np.zeros(0, np.int64)]),
                         minlength=len(dataset.class_names))
    return ", ".join(f"{name} {count}" for name, count in zip(dataset.class_names, counts.tolist(), strict=True))


def dataset_report(config: TrainConfig, train_set: DetectionDataset, val_set: DetectionDataset) -> str:
    """What training reads, printed before anything else: where from, images and boxes per class of each part,
    and what ``ssd-ros dataset check`` finds (training drops bad boxes; it must not do so silently)."""
    from ssd_ros.datasets.check import check_dataset

    lines = [f"dataset: {train_set.format} {config.data}" + (f" ({train_set.layout})" if train_set.layout else "")
             + f", {len(train_set.class_names)} classes"]
    for role, part in (("train", train_set), ("val", val_set)):
        lines.append(f"  {role} ({part.split or 'every image'}): {len(part)} images; boxes: {_class_counts(part)}")
    splits = [config.train_split] if config.val_fraction > 0 else [config.train_split, config.val_split]
    for split in dict.fromkeys(splits):
        counts = check_dataset(config.data, config.format, split, voc_origin=config.voc_origin).issue_counts
        where = f"split {split}" if split else "every image"
        if counts:
            listed = ", ".join(f"{kind}: {count}" for kind, count in sorted(counts.items()))
            option = f" --split {split}" if split else ""
            lines.append(f"  dataset check, {where}: {listed} (boxes under 2 px or outside the image are clamped or "
                         f"dropped in training; details: ssd-ros dataset check {config.data}{option})")
        else:
            lines.append(f"  dataset check, {where}: no issues")
    return "\n".join(lines)


def _build_model(config: TrainConfig, model_config: ModelConfig, labels: list[str], env: Distributed):
    """The torchvision SSD to train, with --weights loaded where they fit."""
    model = build_model(model_config, len(labels))
    if config.multi_scale and model.anchor_generator.steps:
        raise ValueError(f"multi-scale training needs anchors centred on the feature grid, but {model_config.arch} "
                         "uses fixed steps at its own input size: also pass --input-size (e.g. 300x300)")
    if config.weights:
        loaded, skipped = load_matching_weights(model, Path(config.weights))
        if env.is_main:
            print(f"loaded {loaded} tensors from {config.weights} ({skipped} re-initialised for the new classes)")
    return model


def _train_loader(config: TrainConfig, train_set: DetectionDataset, env: Distributed):
    """(loader, its DistributedSampler or None, the batch size per process) of the training split."""
    per_process = len(train_set) // env.world_size
    if per_process < 2:
        raise DatasetError(f"{len(train_set)} training images are too few for {env.world_size} processes: "
                           "each needs at least 2 (BatchNorm)")
    batch_size = min(config.batch_size, per_process)
    if batch_size < config.batch_size and env.is_main:
        print(f"batch size {config.batch_size} is more than the {per_process} training images per process: "
              f"using {batch_size}")
    dataset = TorchDetectionDataset(train_set, train_transforms(config.augment), config.cache_images)
    sampler: torch.utils.data.DistributedSampler[int] | None = (
        torch.utils.data.DistributedSampler(dataset, env.world_size, env.rank, shuffle=True, seed=config.seed,
                                            drop_last=True) if env.enabled else None)
    torch.manual_seed(config.seed + 1000 * env.rank)  # augmentation in this process differs per rank
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=sampler is None, sampler=sampler, collate_fn=collate,
        num_workers=config.workers, generator=torch.Generator().manual_seed(config.seed + env.rank),
        worker_init_fn=_seed_worker, drop_last=True, persistent_workers=config.workers > 0)
    return loader, sampler, batch_size


def _training_state(optimizer, scheduler, scaler) -> dict:
    """What --resume restores besides the weights."""
    return {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict()}


def _resume(path: Path, model, optimizer, scheduler, scaler) -> dict:
    """Load weights and training state from ``path``; returns the checkpoint for the loop's counters."""
    state = read_checkpoint(path, "--resume checkpoint", ("state_dict", "optimizer", "scheduler", "epoch"))
    model.load_state_dict(state["state_dict"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    if "scaler" in state:
        scaler.load_state_dict(state["scaler"])
    return state


def _optimise_one_step(model, images, targets, optimizer, scaler, scheduler, device, amp: bool) -> tuple[float, float]:
    """One optimiser step on a batch (autocast + gradient scaling on CUDA, gradients clipped at 10);
    returns the (box regression, classification) losses."""
    images = [image.to(device, non_blocking=True) for image in images]
    targets = [{key: value.to(device) for key, value in target.items()} for target in targets]
    with torch.autocast(device.type, enabled=amp):
        losses = model(images, targets)
    loss = losses["bbox_regression"] + losses["classification"]
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
    scaler.step(optimizer)
    scaler.update()
    scheduler.step()
    return losses["bbox_regression"].item(), losses["classification"].item()


def train(config: TrainConfig, on_validation: Callable[[int, dict], None] | None = None,
          clock: Callable[[], float] = time.monotonic) -> TrainResult:
    env = Distributed.from_environment(config.device)
    try:
        return _train(config, env, on_validation, clock)
    finally:
        env.close()


def _train(config: TrainConfig, env: Distributed, on_validation: Callable[[int, dict], None] | None,
           clock: Callable[[], float]) -> TrainResult:
    called = clock()  # the time budget counts from here: loading the data and building the model included
    seed_everything(config.seed)  # the same initial weights on every rank
    if config.threads:
        torch.set_num_threads(config.threads)
    out = Path(config.out)
    train_set, val_set = load_splits(config)
    if env.is_main:
        out.mkdir(parents=True, exist_ok=True)
        print(dataset_report(config, train_set, val_set), flush=True)
    labels = ["background", *train_set.class_names]
    model_config = config.model_config()
    model = _build_model(config, model_config, labels, env)
    spec = raw_model_spec(model_config, labels, model)
    base_size = model_config.size()
    device, amp = env.device, config.amp and env.device.type == "cuda"
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scaler = torch.amp.GradScaler(device.type, enabled=amp)

    loader, sampler, batch_size = _train_loader(config, train_set, env)
    budget_s = config.time_budget * 60 if config.time_budget else None
    plan = RunPlan(len(loader), config.epochs, config.warmup_iterations, budget_s, config.val_every,
                   validation_steps=VALIDATION_STEP_COST * math.ceil(len(val_set) / batch_size), clock=clock)
    # a plain function, not the plan: LambdaLR would otherwise pickle the plan (and its clock) into checkpoints
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: plan.lr_factor(step))
    rule = BestCheckpointRule(len(val_set), config.best_min_val_images, config.best_tolerance)

    start_epoch, stale_epochs, global_step = 0, 0, 0
    last_validation: dict = {}  # the latest validation: epoch, map, map_50
    if config.resume and (out / "last.pt").is_file():
        state = _resume(out / "last.pt", model, optimizer, scheduler, scaler)
        start_epoch, global_step = state["epoch"] + 1, state.get("global_step", 0)
        stale_epochs, last_validation = state.get("stale_epochs", 0), state.get("validation") or {}
        earlier_best = state.get("best_map_50", -1.0)
        rule = BestCheckpointRule.from_state(len(val_set), config.best_min_val_images, config.best_tolerance,
                                             state.get("best_rule") or {"highest": earlier_best, "best": earlier_best})
        plan.steps_done = global_step
        if env.is_main:
            print(f"resumed from {out / 'last.pt'} at epoch {start_epoch + 1}")
    core = model
    if env.enabled:
        if env.is_main:
            print(f"DistributedDataParallel: {env.world_size} processes ({torch.distributed.get_backend()}), "
                  f"{len(loader)} steps of {batch_size} images per process and epoch", flush=True)
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)

    dataset_summary = {"root": str(config.data), "format": train_set.format, "train_split": train_set.split,
                       "val_split": val_set.split, "train_images": len(train_set), "val_images": len(val_set),
                       "classes": list(train_set.class_names)}
    log = RunLog(out, resume=start_epoch > 0, tensorboard=config.tensorboard) if env.is_main else None
    sizes = random.Random(config.seed)  # the same draws on every rank: all processes use one size per step
    if env.is_main:
        budget = f"time budget {config.time_budget:g} min (at most {config.epochs} epochs)" if budget_s else \
            f"{config.epochs} epochs"
        print(f"training: {budget}, {len(loader)} steps of {batch_size} images per epoch, validation every "
              f"{config.val_every} epochs; {rule.reason}", flush=True)
    progress = tqdm(total=plan.total_steps, initial=global_step, unit="step", leave=True, dynamic_ncols=True,
                    disable=not env.is_main)
    postfix: dict[str, str] = {}
    if last_validation:
        postfix["val_mAP50"] = f"{last_validation['map_50']:.3f}"
    epoch = start_epoch - 1
    plan.start(at=called)
    try:
        for epoch in range(start_epoch, config.epochs):
            if sampler is not None:
                sampler.set_epoch(epoch)
            model.train()
            progress.set_description(f"epoch {epoch + 1}/{plan.epochs}")
            started, totals, steps = time.monotonic(), torch.zeros(2, dtype=torch.float64), 0
            stop = False
            for images, targets in loader:
                if config.multi_scale:
                    core.transform.fixed_size = scaled_size(base_size, sizes.choice(config.multi_scale))
                step_losses = _optimise_one_step(model, images, targets, optimizer, scaler, scheduler, device, amp)
                global_step, steps = global_step + 1, steps + 1
                totals += torch.tensor(step_losses, dtype=torch.float64)
                if log is not None:
                    log.step(global_step, *step_losses, float(scheduler.get_last_lr()[0]))
                plan.step_done()
                if budget_s is not None:  # rank 0's clock decides for every rank
                    decided, plan.total_steps = env.broadcast_ints([int(plan.stop_now()), plan.total_steps])
                    stop = bool(decided)
                else:
                    stop = plan.stop_now()
                progress.total = plan.total_steps
                progress.set_description(f"epoch {epoch + 1}/{plan.epochs}", refresh=False)
                progress.set_postfix({"loss": f"{sum(step_losses):.3f}", **postfix}, refresh=False)
                progress.update(1)
                if stop:
                    break
            if config.multi_scale:
                core.transform.fixed_size = base_size  # validation and checkpoints at the trained size
            bbox_loss, cls_loss = (env.mean(totals / max(1, steps))).tolist()
            validated = (epoch + 1) % config.val_every == 0 or stop
            if env.is_main:
                metrics = validate(core, val_set, batch_size, device) if validated else None
                saved_best = False
                if metrics is not None:
                    last_validation = {"epoch": epoch + 1, "map": metrics["map"], "map_50": metrics["map_50"]}
                    if rule.improved(metrics["map_50"]):
                        stale_epochs = 0
                    else:
                        stale_epochs += config.val_every
                    saved_best = rule.consider(metrics["map_50"])
                    postfix["val_mAP50"] = f"{metrics['map_50']:.3f}"
                checkpoint = {
                    "arch": model_config.arch, "labels": labels, "width_mult": model_config.width_mult,
                    "model_config": asdict(model_config), "model_spec": spec.to_dict(),
                    "state_dict": core.state_dict(), **_training_state(optimizer, scheduler, scaler), "epoch": epoch,
                    "global_step": global_step, "total_steps": plan.total_steps, "config": asdict(config),
                    "command": " ".join(config.command), "dataset": dataset_summary, "best_map_50": rule.best,
                    "best_rule": rule.state(), "stale_epochs": stale_epochs, "validation": last_validation,
                }
                write_checkpoint(checkpoint, out / "last.pt")
                if saved_best:
                    write_checkpoint(checkpoint, out / "best.pt")
                assert log is not None
                log.epoch(epoch + 1, bbox_loss, cls_loss, float(scheduler.get_last_lr()[0]), metrics,
                          time.monotonic() - started)
                if metrics is not None:
                    progress.write(f"epoch {epoch + 1}: loss {bbox_loss + cls_loss:.3f}  val mAP@0.5 "
                                   f"{metrics['map_50']:.3f}  mAP {metrics['map']:.3f}"
                                   + ("  -> best.pt" if saved_best else ""))
                    if on_validation is not None:
                        on_validation(epoch + 1, metrics)
                if config.patience and stale_epochs >= config.patience and not stop:
                    progress.write(f"early stop: no improvement for {stale_epochs} epochs")
                    stop = True
                elif stop and budget_s is not None and plan.steps_done < plan.max_steps:
                    progress.write(f"time budget: stopping after {plan.steps_done} steps, "
                                   f"{plan.elapsed_s / 60:.1f} of {config.time_budget:g} min")
            plan.epoch_done(validated)
            if budget_s is not None:
                plan.total_steps = env.broadcast_ints([plan.total_steps])[0]
            if env.broadcast_flag(stop):
                break
    finally:
        progress.close()
        if log is not None:
            log.close()
    return TrainResult(out / "best.pt", out / "last.pt", rule.best, epoch + 1)
