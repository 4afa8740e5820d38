"""The training loop: seeded, logged, validated, checkpointed; one process or DistributedDataParallel.

Contract: ``train(config)`` trains torchvision's SSD (its MultiBox loss with 3:1 hard negative
mining) on ``config.data`` and writes to ``config.out``: ``last.pt`` every epoch, ``best.pt`` at
the best validation mAP@0.5, ``log.csv`` with one row per epoch and TensorBoard events in
``tensorboard/``. Checkpoints hold arch, labels (background first), width_mult, the model config
(input size, anchor scales) and the raw ModelSpec with its priors, state_dict, optimizer /
scheduler / grad-scaler states and the full config and command, so export, ``--resume`` and the
core's torch backend need nothing else.

Reproducible: the same config and seed give the same weights on the same machine (CPU, workers
or not). Under torchrun every process trains on its DistributedSampler share with ``batch_size``
images per step (gloo on CPU, nccl on CUDA); only rank 0 validates, logs and writes files. AMP
(autocast + GradScaler) runs on CUDA only. ``on_validation(epoch, metrics)`` is called on rank 0
after each validation (the hyper-parameter search prunes trials through it).
"""
from __future__ import annotations

import math
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ssd_ros.core.torchvision_ssd import canonical_architecture
from ssd_ros.datasets import DatasetError, DetectionDataset, load_dataset, seeded_split
from ssd_ros.eval.metrics import ImageDetections, ImageGroundTruth, evaluate
from ssd_ros_training.data import TorchDetectionDataset, collate
from ssd_ros_training.distributed import CPU, Distributed
from ssd_ros_training.models import ModelConfig, build_model, load_matching_weights, raw_model_spec
from ssd_ros_training.runlog import RunLog
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
                           tuple(self.input_size) if self.input_size else None,
                           tuple(self.anchor_scales) if self.anchor_scales else None)


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


def warmup_cosine(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> torch.optim.lr_scheduler.LambdaLR:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


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
    if config.val_fraction > 0:
        return seeded_split(load_dataset(config.data, config.format, config.train_split), config.val_fraction,
                            config.seed)
    train_set = load_dataset(config.data, config.format, config.train_split)
    try:
        val_set = load_dataset(config.data, config.format, config.val_split, class_names=train_set.class_names)
    except DatasetError as error:
        raise DatasetError(f"validation set: {error}; or validate on a seeded share of the training images "
                           "with --val-fraction 0.1") from None
    return train_set, val_set


def report_dataset_issues(config: TrainConfig) -> None:
    """Print what ``ssd-ros dataset check`` finds (training drops bad boxes; it must not do so silently)."""
    from ssd_ros.datasets.check import check_dataset

    splits = [config.train_split] if config.val_fraction > 0 else [config.train_split, config.val_split]
    for split in dict.fromkeys(splits):
        counts = check_dataset(config.data, config.format, split).issue_counts
        if counts:
            listed = ", ".join(f"{kind}: {count}" for kind, count in sorted(counts.items()))
            print(f"dataset check, split {split}: {listed} (boxes under 2 px or outside the image are clamped or "
                  f"dropped in training; details: ssd-ros dataset check {config.data} --split {split})", flush=True)


def _save(checkpoint: dict, path: Path) -> None:
    """Write then rename: an interrupted save never leaves a truncated checkpoint behind."""
    partial = path.with_suffix(".partial")
    torch.save(checkpoint, partial)
    os.replace(partial, path)


def train(config: TrainConfig, on_validation: Callable[[int, dict], None] | None = None) -> TrainResult:
    env = Distributed.from_environment(config.device)
    try:
        return _train(config, env, on_validation)
    finally:
        env.close()


def _train(config: TrainConfig, env: Distributed, on_validation: Callable[[int, dict], None] | None) -> TrainResult:
    seed_everything(config.seed)  # the same initial weights on every rank
    if config.threads:
        torch.set_num_threads(config.threads)
    out = Path(config.out)
    if env.is_main:
        out.mkdir(parents=True, exist_ok=True)
        report_dataset_issues(config)
    train_set, val_set = load_splits(config)
    labels = ["background", *train_set.class_names]
    model_config = config.model_config()
    model = build_model(model_config, len(labels))
    if config.multi_scale and model.anchor_generator.steps:
        raise ValueError(f"multi-scale training needs anchors centred on the feature grid, but {model_config.arch} "
                         "uses fixed steps at its own input size: also pass --input-size (e.g. 300x300)")
    if config.weights:
        loaded, skipped = load_matching_weights(model, Path(config.weights))
        if env.is_main:
            print(f"loaded {loaded} tensors from {config.weights} ({skipped} re-initialised for the new classes)")
    spec = raw_model_spec(model_config, labels, model)
    base_size = model_config.size()
    device, amp = env.device, config.amp and env.device.type == "cuda"
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scaler = torch.amp.GradScaler(device.type, enabled=amp)

    per_process = len(train_set) // env.world_size
    if per_process < 2:
        raise DatasetError(f"{len(train_set)} training images are too few for {env.world_size} processes: "
                           "each needs at least 2 (BatchNorm)")
    batch_size = min(config.batch_size, per_process)
    if batch_size < config.batch_size and env.is_main:
        print(f"batch size {config.batch_size} is more than the {per_process} training images per process: "
              f"using {batch_size}")
    dataset = TorchDetectionDataset(train_set, train_transforms(config.augment), config.cache_images)
    sampler = (torch.utils.data.DistributedSampler(dataset, env.world_size, env.rank, shuffle=True,
                                                   seed=config.seed, drop_last=True) if env.enabled else None)
    torch.manual_seed(config.seed + 1000 * env.rank)  # augmentation in this process differs per rank
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=sampler is None, sampler=sampler, collate_fn=collate,
        num_workers=config.workers, generator=torch.Generator().manual_seed(config.seed + env.rank),
        worker_init_fn=_seed_worker, drop_last=True, persistent_workers=config.workers > 0)
    scheduler = warmup_cosine(optimizer, config.warmup_iterations, config.epochs * len(loader))

    start_epoch, best, stale_epochs, global_step = 0, -1.0, 0, 0
    if config.resume and (out / "last.pt").is_file():
        state = torch.load(str(out / "last.pt"), map_location="cpu", weights_only=True)
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if "scaler" in state:
            scaler.load_state_dict(state["scaler"])
        start_epoch, best = state["epoch"] + 1, state.get("best_map_50", -1.0)
        stale_epochs, global_step = state.get("stale_epochs", 0), state.get("global_step", 0)
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
    last_map_50 = float("nan")
    epoch = start_epoch - 1
    try:
        for epoch in range(start_epoch, config.epochs):
            if sampler is not None:
                sampler.set_epoch(epoch)
            model.train()
            started, totals = time.monotonic(), torch.zeros(2, dtype=torch.float64)
            progress = tqdm(loader, desc=f"epoch {epoch + 1}/{config.epochs}", leave=False, disable=not env.is_main)
            for images, targets in progress:
                if config.multi_scale:
                    core.transform.fixed_size = scaled_size(base_size, sizes.choice(config.multi_scale))
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
                global_step += 1
                step_losses = (losses["bbox_regression"].item(), losses["classification"].item())
                totals += torch.tensor(step_losses, dtype=torch.float64)
                if log is not None:
                    log.step(global_step, *step_losses, scheduler.get_last_lr()[0])
                progress.set_postfix(loss=f"{loss.item():.3f}", val_map50=f"{last_map_50:.3f}")
            if config.multi_scale:
                core.transform.fixed_size = base_size  # validation and checkpoints at the trained size
            bbox_loss, cls_loss = (env.mean(totals / max(1, len(loader)))).tolist()
            stop = False
            if env.is_main:
                metrics = {"map": float("nan"), "map_50": float("nan")}
                if (epoch + 1) % config.val_every == 0 or epoch + 1 == config.epochs:
                    metrics = validate(core, val_set, batch_size, device)
                    last_map_50 = metrics["map_50"]
                improved = not math.isnan(metrics["map_50"]) and metrics["map_50"] > best
                if improved:
                    best, stale_epochs = metrics["map_50"], 0
                elif not math.isnan(metrics["map_50"]):
                    stale_epochs += config.val_every
                checkpoint = {
                    "arch": model_config.arch, "labels": labels, "width_mult": model_config.width_mult,
                    "model_config": asdict(model_config), "model_spec": spec.to_dict(),
                    "state_dict": core.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(), "epoch": epoch,
                    "global_step": global_step, "config": asdict(config), "command": " ".join(config.command),
                    "dataset": dataset_summary, "best_map_50": best, "stale_epochs": stale_epochs,
                    "validation": {k: v for k, v in metrics.items() if k != "ap_50_per_class"},
                }
                _save(checkpoint, out / "last.pt")
                if improved:
                    _save(checkpoint, out / "best.pt")
                assert log is not None
                log.epoch(epoch + 1, bbox_loss, cls_loss, scheduler.get_last_lr()[0], metrics,
                          time.monotonic() - started)
                print(f"epoch {epoch + 1}: loss {bbox_loss + cls_loss:.3f}  val mAP@0.5 {metrics['map_50']:.3f}  "
                      f"mAP {metrics['map']:.3f}", flush=True)
                if on_validation is not None and not math.isnan(metrics["map_50"]):
                    on_validation(epoch + 1, metrics)
                stop = bool(config.patience and stale_epochs >= config.patience)
                if stop:
                    print(f"early stop: no improvement for {stale_epochs} epochs")
            if env.broadcast_flag(stop):
                break
    finally:
        if log is not None:
            log.close()
    return TrainResult(out / "best.pt", out / "last.pt", best, epoch + 1)
