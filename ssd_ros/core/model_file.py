"""What a model path must be before anything reads it, with a message that names the actual problem.

Contract: ``check_model_file(path, what="model file")`` raises ``ModelSpecError`` when ``path`` does
not exist, is a directory, is not a regular file (a device such as /dev/zero, a pipe, a socket) or
is empty; otherwise returns None. Loaders call it first, so a directory is never reported as
"does not exist" and an empty .onnx never as "not exported by ssd_ros".
"""
from __future__ import annotations

import stat
from pathlib import Path

from ssd_ros.core.spec import ModelSpecError


def _shown(path: Path, limit: int = 200) -> str:
    text = str(path)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def check_model_file(path: str | Path, what: str = "model file") -> None:
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ModelSpecError(f"{what} {_shown(path)} does not exist; check model_path / --model") from None
    except OSError as error:
        raise ModelSpecError(f"{what} {_shown(path)} cannot be read: {error.strerror}") from None
    if stat.S_ISDIR(mode):
        raise ModelSpecError(f"{what} {path} is a directory, not a file: give the model file inside it "
                             "(.onnx; .engine for tensorrt; .pt for torch)")
    if not stat.S_ISREG(mode):
        raise ModelSpecError(f"{what} {path} is not a regular file (a device, pipe or socket): give a model file")
    if path.stat().st_size == 0:
        raise ModelSpecError(f"{what} {path} is empty (0 bytes): an interrupted download, copy or export? "
                             "Re-export or re-download it")


def check_torch_checkpoint_file(path: str | Path) -> None:
    """ModelSpecError unless ``path`` looks like a torch.save file (zip archive, or a legacy pickle).

    Checked before torch is imported: a failed ``backend: torch`` load on the wrong file then costs
    nothing, where importing torch would keep about 470 MB that Python never gives back.
    """
    import zipfile

    path = Path(path)
    with path.open("rb") as model_file:
        first = model_file.read(2)
    if not (zipfile.is_zipfile(path) or first[:1] == b"\x80"):
        raise ModelSpecError(f"{path} is not a PyTorch checkpoint (neither torch.save's zip format nor a legacy "
                             "pickle): backend torch reads .pt checkpoints written by ssd-ros train; use backend "
                             "onnxruntime for ONNX models")
