"""Where TensorRT engines built from ONNX models are cached, and when a cached one is stale.

Contract: an engine is valid only for the exact TensorRT version, GPU, precision, input shape and
ONNX file it was built from, so all five go into the cache key; anything else changing (a JetPack
upgrade, another board, a re-exported model) gives another key and a rebuild. Pure code: no
tensorrt import, tested on any machine.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_CACHE_DIR = Path("~/.cache/ssd_ros/engines")


@dataclass(frozen=True)
class EngineKey:
    onnx_sha256: str
    tensorrt_version: str
    gpu_name: str
    precision: str
    input_shape: tuple[int, ...]

    def digest(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def cache_dir(configured: str | Path | None) -> Path:
    return Path(os.path.expanduser(str(configured or DEFAULT_CACHE_DIR)))


def engine_path(directory: Path, model_path: Path, key: EngineKey) -> Path:
    """<dir>/<model stem>.<precision>.<gpu>.<digest>.engine: readable, and unique per key."""
    gpu = re.sub(r"[^A-Za-z0-9]+", "-", key.gpu_name).strip("-").lower() or "gpu"
    return directory / f"{model_path.stem}.{key.precision}.{gpu}.{key.digest()}.engine"


def write_key(engine_file: Path, key: EngineKey) -> None:
    engine_file.with_suffix(".json").write_text(json.dumps(asdict(key), indent=2, sort_keys=True))


def is_fresh(engine_file: Path, key: EngineKey) -> bool:
    """True when ``engine_file`` exists and was built for exactly ``key``."""
    key_file = engine_file.with_suffix(".json")
    if not engine_file.is_file() or not key_file.is_file():
        return False
    try:
        recorded = json.loads(key_file.read_text())
    except json.JSONDecodeError:
        return False
    recorded["input_shape"] = tuple(recorded.get("input_shape", ()))
    return recorded == asdict(key) | {"input_shape": key.input_shape}
