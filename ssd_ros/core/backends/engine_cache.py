"""Where TensorRT engines built from ONNX models are cached, and when a cached one is stale.

Contract: an engine is valid only for the exact ONNX file, TensorRT version, GPU (name and
compute capability), precision, input shape, batch profile (min/opt/max batch of its optimization
profile) and, for INT8 built from a calibration cache, that cache's bytes: all of them go into
the :class:`EngineKey`. Anything else changing (a JetPack upgrade, another board, a re-exported
model, new calibration images, another ``max_batch_size``) gives another key and a rebuild.

Writing is crash-safe: :func:`write_engine` removes the key record first, writes the engine to a
temporary file in the same folder and renames it into place (``os.replace``), and only then
writes the key record (also by rename), which holds the engine's size and SHA-256.
:func:`is_fresh` accepts an engine only when the record matches the key and the engine file
matches the record, so a partial or foreign engine is never loaded. Pure code: no tensorrt
import, tested on any machine.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ssd_ros.core.hashing import file_sha256

DEFAULT_CACHE_DIR = Path("~/.cache/ssd_ros/engines")
# The batch an engine is built for when the caller does not say: the node's max_batch_size
# default (ssd_ros/ros/params.py; a test keeps the two equal), so `ssd-ros export --tensorrt`
# builds the engine the node looks up.
DEFAULT_MAX_BATCH_SIZE = 4

__all__ = ["DEFAULT_CACHE_DIR", "DEFAULT_MAX_BATCH_SIZE", "EngineKey", "cache_dir", "engine_path", "file_sha256",
           "is_fresh", "key_path", "write_engine"]


@dataclass(frozen=True)
class EngineKey:
    onnx_sha256: str
    tensorrt_version: str
    gpu_name: str
    compute_capability: str              # "8.7" (Orin), "9.0" (H100/H200)
    precision: str
    input_shape: tuple[int, ...]         # the ONNX input's shape, -1 for a dynamic batch
    batch_profile: tuple[int, int, int]  # (min, opt, max) batch of the optimization profile
    calibration_sha256: str = ""         # INT8 from a calibration cache: its SHA-256; "" otherwise

    def as_record(self) -> dict[str, Any]:
        """The key as JSON would give it back (tuples become lists)."""
        return json.loads(json.dumps(asdict(self), sort_keys=True))

    def digest(self) -> str:
        text = json.dumps(self.as_record(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_dir(configured: str | Path | None) -> Path:
    return Path(os.path.expanduser(str(configured or DEFAULT_CACHE_DIR)))


def engine_path(directory: Path, model_path: Path, key: EngineKey) -> Path:
    """<dir>/<model stem>.<precision>.<gpu>.<digest>.engine: readable, and unique per key."""
    gpu = re.sub(r"[^A-Za-z0-9]+", "-", key.gpu_name).strip("-").lower() or "gpu"
    return directory / f"{model_path.stem}.{key.precision}.{gpu}.{key.digest()}.engine"


def key_path(engine_file: Path) -> Path:
    return engine_file.with_suffix(".json")


def _replace_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``target``, flush it to disk, rename it over ``target``."""
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_engine(engine_file: Path, engine: bytes, key: EngineKey) -> None:
    """Store ``engine`` for ``key``: key record removed, engine renamed into place, then the record."""
    engine_file.parent.mkdir(parents=True, exist_ok=True)
    key_path(engine_file).unlink(missing_ok=True)
    _replace_atomically(engine_file, engine)
    record = {"key": key.as_record(),
              "engine": {"size": len(engine), "sha256": hashlib.sha256(engine).hexdigest()}}
    _replace_atomically(key_path(engine_file), json.dumps(record, indent=2, sort_keys=True).encode())


def is_fresh(engine_file: Path, key: EngineKey) -> bool:
    """True when ``engine_file`` is complete and was built for exactly ``key``."""
    record_file = key_path(engine_file)
    if not engine_file.is_file() or not record_file.is_file():
        return False
    try:
        record = json.loads(record_file.read_text())
        recorded_key, engine = record["key"], record["engine"]
        size, sha256 = int(engine["size"]), str(engine["sha256"])
    except (ValueError, KeyError, TypeError):  # truncated or foreign JSON: not ours, rebuild
        return False
    if recorded_key != key.as_record() or engine_file.stat().st_size != size:
        return False
    return file_sha256(engine_file) == sha256
