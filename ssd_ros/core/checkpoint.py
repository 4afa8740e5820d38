"""The checkpoint format, in one place: what ``ssd-ros train`` writes and the torch backend, export and
``--resume`` / ``--weights`` read (needs torch, imported inside the functions).

A checkpoint is a ``torch.save`` dict: ``arch`` (a torchvision SSD name, see torchvision_ssd.py),
``labels`` (background first), ``state_dict``; ``ssd-ros train`` adds ``model_spec`` (the raw-head
ModelSpec: input size and anchors may differ from torchvision's), ``model_config`` and provenance
(``command``, ``dataset``, ``validation``, ``epoch``, ...). Older files may hold ``model`` instead of
``state_dict``.

Contract: ``read_checkpoint(path, what, required)`` loads ``path`` with ``torch.load(weights_only=True)``
(a pickle that wants to run code is refused by torch and never executed) and returns the dict; any
problem raises ``CheckpointError`` (a UserError and ValueError, so commands print one line and exit
2) naming the file, its role (``what``: "--resume checkpoint", "--weights file", "checkpoint to
export") and what is wrong: missing or unreadable, refused by the safe loader (malicious or made by
other code), not a dict, or lacking the ``required`` keys.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ssd_ros.core.errors import ModelLoadError
from ssd_ros.core.spec import ModelSpec
from ssd_ros.core.torchvision_ssd import torchvision_spec

MODEL_KEYS = ("arch", "labels", "state_dict")


class CheckpointError(ModelLoadError, ValueError):
    """A checkpoint file that cannot be used; the message names the file and the problem."""


def read_checkpoint(path: str | Path, what: str, required: Sequence[str] = ()) -> dict:
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what} {path} is not a file")
    try:
        checkpoint = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        # torch's text goes on to suggest weights_only=False: keep only the line naming what was refused
        refused = [line.strip() for line in str(error).splitlines() if "Unsupported" in line][:1]
        raise CheckpointError(f"{what} {path} was refused by torch's safe loader (weights_only=True): it holds "
                              "objects other than tensors and plain values, so it is not an ssd-ros/torchvision "
                              f"checkpoint or it is malicious; nothing in it was run"
                              + (f" ({refused[0][:200]})" if refused else "")) from None
    except Exception as error:  # zip/pickle damage, truncated files, not a torch file at all
        raise CheckpointError(f"{what} {path} is not a readable PyTorch checkpoint ({type(error).__name__}: "
                              f"{' '.join(str(error).split())[:300]})") from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{what} {path} holds a {type(checkpoint).__name__}, not a checkpoint dict")
    missing = [key for key in required if key not in checkpoint]
    if missing:
        raise CheckpointError(f"{what} {path} lacks {missing}: it was not written by ssd-ros train (its keys: "
                              f"{sorted(map(str, checkpoint))[:10]})")
    return checkpoint


def checkpoint_spec(checkpoint: dict, source: str) -> ModelSpec:
    """The raw-head ModelSpec a checkpoint's model was trained with (older checkpoints: torchvision's)."""
    if "model_spec" in checkpoint:
        return ModelSpec.from_dict(checkpoint["model_spec"], source)
    return torchvision_spec(checkpoint["arch"], tuple(checkpoint["labels"]))


def state_dict_of(checkpoint: dict) -> dict:
    return checkpoint["state_dict"] if "state_dict" in checkpoint else checkpoint["model"]


def write_checkpoint(checkpoint: dict, path: Path) -> Path:
    """Write then rename: an interrupted save never leaves a truncated checkpoint behind."""
    import os

    import torch

    missing = [key for key in MODEL_KEYS if key not in checkpoint]
    if missing:
        raise ValueError(f"a checkpoint needs {list(MODEL_KEYS)}; {missing} missing")
    partial = path.with_suffix(".partial")
    torch.save(checkpoint, partial)
    os.replace(partial, path)
    return path
