"""Which validated checkpoint becomes ``best.pt``.

Contract: ``BestCheckpointRule(val_images, min_val_images=50, tolerance=0.01)``; after each
validation ``consider(map_50)`` says whether that checkpoint is written as best.pt, and
``improved(map_50)`` (called before it) whether it beats every earlier validation (what
``--patience`` counts). ``state()`` / ``from_state`` carry the rule through ``--resume``.

- Fewer than ``min_val_images`` validation images: every validated checkpoint becomes best.pt, so
  best.pt is the last validated one. On so few images one object found or missed moves mAP@0.5 by
  more than training improves it between two validations, so the highest value marks a lucky
  draw rather than a better model; the last checkpoint, trained longest and at the lowest learning
  rate of the cosine schedule, is the sound choice. ``reason`` says so, and training prints it.
- Otherwise a checkpoint becomes best.pt when its mAP@0.5 is at least the highest so far minus
  ``tolerance``: a difference smaller than that is noise, and the later checkpoint wins it;
  an earlier checkpoint stays best only when it was better by more than the tolerance.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BestCheckpointRule:
    val_images: int
    min_val_images: int = 50
    tolerance: float = 0.01
    highest: float = -1.0  # the highest validation mAP@0.5 so far
    best: float = -1.0  # the mAP@0.5 of the checkpoint in best.pt

    @property
    def keeps_last(self) -> bool:
        return self.val_images < self.min_val_images

    @property
    def reason(self) -> str:
        if self.keeps_last:
            return (f"{self.val_images} validation images (fewer than {self.min_val_images}): too few to rank "
                    "checkpoints by mAP, so best.pt is the last validated checkpoint")
        return (f"best.pt: the checkpoint with the highest validation mAP@0.5, a later one winning differences "
                f"up to {self.tolerance:g}")

    def improved(self, map_50: float) -> bool:
        return map_50 > self.highest

    def consider(self, map_50: float) -> bool:
        keep = self.keeps_last or map_50 >= self.highest - self.tolerance
        self.highest = max(self.highest, map_50)
        if keep:
            self.best = map_50
        return keep

    def state(self) -> dict:
        return {"highest": self.highest, "best": self.best}

    @classmethod
    def from_state(cls, val_images: int, min_val_images: int, tolerance: float,
                   state: dict | None) -> BestCheckpointRule:
        rule = cls(val_images, min_val_images, tolerance)
        if state:
            rule.highest, rule.best = float(state["highest"]), float(state["best"])
        return rule
