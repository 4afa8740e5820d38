"""The training loop: seeded, logged, validated, checkpointed.

Contract: ``train(config)`` trains torchvision's SSD (its MultiBox loss with 3:1 hard negative
mining) on ``config.data`` and writes to ``config.out``: ``last.pt`` every epoch, ``best.pt``
at the best validation mAP@0.5, ``log.csv`` with one row per epoch. Checkpoints hold arch,
labels (background first), width_mult, state_dict and the full config and command, so export and
the torch backend need nothing else. ``--resume`` continues from last.pt.
"""
from __future__ import annotations

import csv
import math
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ssd_ros.datasets import DetectionDataset, load_dataset
from ssd_ros.eval.metrics import ImageDetections, ImageGroundTruth, evaluate
from ssd_ros_training.data import TorchDetectionDataset, collate
from ssd_ros_training.models import build_model, load_matching_weights
from ssd_ros_training.transforms import eval_transforms, train_transforms


@dataclass
class TrainConfig:
    data: str
    out: str
    format: str = "voc"
    arch: str = "ssdlite320"
    width_mult: float = 1.0
    epochs: int = 120
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_iterations: int = 300
    train_split: str = "train"
    val_split: str = "val"
    val_every: int = 5
    workers: int = 2
    seed: int = 0
    weights: str | None = None
    threads: int = 0
    resume: bool = False
    patience: int = 0  # epochs without improvement before stopping; 0 = never
    command: list[str] = field(default_factory=lambda: list(sys.argv))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def warmup_cosine(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> torch.optim.lr_scheduler.LambdaLR:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


@torch.inference_mode()
def validate(model: torch.nn.Module, dataset: DetectionDataset, batch_size: int) -> dict:
    model.eval()
    loader = torch.utils.data.DataLoader(TorchDetectionDataset(dataset, eval_transforms()), batch_size=batch_size,
                                         collate_fn=collate)
    truths, found = [], []
    for images, targets in loader:
        for output, target in zip(model(images), targets, strict=True):
            truths.append(ImageGroundTruth(target["boxes"].numpy(), target["labels"].numpy() - 1))
            found.append(ImageDetections(output["boxes"].numpy(), output["scores"].numpy(),
                                         output["labels"].numpy() - 1))
    result = evaluate(truths, found, dataset.class_names)
    return {"map": result.map, "map_50": result.map_50, "ap_50_per_class": result.ap_50_per_class}


def train(config: TrainConfig) -> Path:
    seed_everything(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    train_set = load_dataset(config.data, config.format, config.train_split)
    val_set = load_dataset(config.data, config.format, config.val_split, class_names=train_set.class_names)
    labels = ["background", *train_set.class_names]
    model = build_model(config.arch, len(labels), config.width_mult)
    if config.weights:
        loaded, skipped = load_matching_weights(model, Path(config.weights))
        print(f"loaded {loaded} tensors from {config.weights} ({skipped} re-initialised for the new classes)")
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)
    loader = torch.utils.data.DataLoader(
        TorchDetectionDataset(train_set, train_transforms()), batch_size=config.batch_size, shuffle=True,
        collate_fn=collate, num_workers=config.workers, generator=generator, drop_last=True,
        persistent_workers=config.workers > 0)
    scheduler = warmup_cosine(optimizer, config.warmup_iterations, config.epochs * len(loader))
    start_epoch, best = 0, -1.0
    if config.resume and (out / "last.pt").is_file():
        state = torch.load(str(out / "last.pt"), map_location="cpu", weights_only=True)
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch, best = state["epoch"] + 1, state.get("best_map_50", -1.0)
        print(f"resumed from {out / 'last.pt'} at epoch {start_epoch}")
    dataset_summary = {"root": str(config.data), "format": config.format, "train_images": len(train_set),
                       "val_images": len(val_set), "classes": list(train_set.class_names)}
    log_path = out / "log.csv"
    new_log = not log_path.exists() or start_epoch == 0
    stale_epochs = 0
    with log_path.open("w" if new_log else "a", newline="") as log_file:
        log = csv.writer(log_file)
        if new_log:
            log.writerow(["epoch", "loss", "bbox_loss", "cls_loss", "lr", "val_map", "val_map_50", "seconds"])
        for epoch in range(start_epoch, config.epochs):
            model.train()
            started, totals = time.monotonic(), np.zeros(2)
            progress = tqdm(loader, desc=f"epoch {epoch + 1}/{config.epochs}", leave=False)
            for images, targets in progress:
                losses = model(images, targets)
                loss = losses["bbox_regression"] + losses["classification"]
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
                optimizer.step()
                scheduler.step()
                totals += [losses["bbox_regression"].item(), losses["classification"].item()]
                progress.set_postfix(loss=f"{loss.item():.3f}")
            mean_losses = totals / max(1, len(loader))
            metrics = {"map": float("nan"), "map_50": float("nan")}
            if (epoch + 1) % config.val_every == 0 or epoch + 1 == config.epochs:
                metrics = validate(model, val_set, config.batch_size)
            checkpoint = {
                "arch": config.arch, "labels": labels, "width_mult": config.width_mult,
                "state_dict": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "epoch": epoch, "config": asdict(config),
                "command": " ".join(config.command), "dataset": dataset_summary,
                "validation": {k: v for k, v in metrics.items() if k != "ap_50_per_class"},
                "best_map_50": max(best, metrics["map_50"]) if not math.isnan(metrics["map_50"]) else best,
            }
            torch.save(checkpoint, out / "last.pt")
            if not math.isnan(metrics["map_50"]):
                if metrics["map_50"] > best:
                    best, stale_epochs = metrics["map_50"], 0
                    torch.save(checkpoint, out / "best.pt")
                else:
                    stale_epochs += config.val_every
            log.writerow([epoch + 1, f"{mean_losses.sum():.4f}", f"{mean_losses[0]:.4f}", f"{mean_losses[1]:.4f}",
                          f"{scheduler.get_last_lr()[0]:.6f}", f"{metrics['map']:.4f}", f"{metrics['map_50']:.4f}",
                          f"{time.monotonic() - started:.1f}"])
            log_file.flush()
            print(f"epoch {epoch + 1}: loss {mean_losses.sum():.3f}  val mAP@0.5 {metrics['map_50']:.3f}  "
                  f"mAP {metrics['map']:.3f}", flush=True)
            if config.patience and stale_epochs >= config.patience:
                print(f"early stop: no improvement for {stale_epochs} epochs")
                break
    return out / "best.pt"
