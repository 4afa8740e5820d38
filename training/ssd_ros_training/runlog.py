"""Training logs: ``log.csv`` (one row per epoch) and TensorBoard event files beside it.

Contract: ``RunLog(out, resume)`` opens ``out/log.csv`` (appending on resume, else starting anew)
and, unless disabled, a TensorBoard SummaryWriter on ``out/tensorboard``. ``step`` records the
per-iteration loss and learning rate (tags train/loss, train/bbox_loss, train/cls_loss, train/lr
at the global step); ``epoch`` writes the CSV row (validation columns empty in epochs without
validation) and the epoch scalars (epoch/loss; val/mAP, val/mAP_50, val/AP50/<class> when validated).
Only the main process of a distributed run creates a RunLog.
"""
from __future__ import annotations

import csv
from pathlib import Path

COLUMNS = ["epoch", "loss", "bbox_loss", "cls_loss", "lr", "val_map", "val_map_50", "seconds"]


class RunLog:
    def __init__(self, out: Path, resume: bool, tensorboard: bool = True) -> None:
        path = out / "log.csv"
        append = resume and path.is_file()
        self._file = path.open("a" if append else "w", newline="")
        self._csv = csv.writer(self._file)
        if not append:
            self._csv.writerow(COLUMNS)
        self._writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(out / "tensorboard"))

    def step(self, global_step: int, bbox_loss: float, cls_loss: float, lr: float) -> None:
        if self._writer is None:
            return
        self._writer.add_scalar("train/loss", bbox_loss + cls_loss, global_step)
        self._writer.add_scalar("train/bbox_loss", bbox_loss, global_step)
        self._writer.add_scalar("train/cls_loss", cls_loss, global_step)
        self._writer.add_scalar("train/lr", lr, global_step)

    def epoch(self, epoch: int, bbox_loss: float, cls_loss: float, lr: float, validation: dict | None,
              seconds: float) -> None:
        scores = [f"{validation['map']:.4f}", f"{validation['map_50']:.4f}"] if validation is not None else ["", ""]
        self._csv.writerow([epoch, f"{bbox_loss + cls_loss:.4f}", f"{bbox_loss:.4f}", f"{cls_loss:.4f}", f"{lr:.6f}",
                            *scores, f"{seconds:.1f}"])
        self._file.flush()
        if self._writer is None:
            return
        self._writer.add_scalar("epoch/loss", bbox_loss + cls_loss, epoch)
        if validation is not None:
            self._writer.add_scalar("val/mAP", validation["map"], epoch)
            self._writer.add_scalar("val/mAP_50", validation["map_50"], epoch)
            for name, value in validation.get("ap_50_per_class", {}).items():
                self._writer.add_scalar(f"val/AP50/{name}", value, epoch)
        self._writer.flush()

    def close(self) -> None:
        self._file.close()
        if self._writer is not None:
            self._writer.close()
