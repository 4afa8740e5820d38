"""SHA-256 of a file, read in chunks: the one file-hash helper of ssd_ros (engine cache keys, model_info).

Contract: ``file_sha256(path)`` returns the lowercase hex digest of the file's bytes, reading at
most ``chunk_size`` bytes at a time (models and engines are tens of MB; the whole file is never in
memory at once). Works on every Python the package supports (3.10+): ``hashlib.file_digest`` is
3.11+ only and is deliberately not used. Errors of ``open``/``read`` (OSError) propagate.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK_SIZE = 1 << 20


def file_sha256(path: str | Path, chunk_size: int = CHUNK_SIZE) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
