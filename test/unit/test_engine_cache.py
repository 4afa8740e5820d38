"""TensorRT engine cache keys, staleness and crash-safe writes (pure code; the engine build needs a GPU)."""
from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

import pytest

from ssd_ros.core.backends import engine_cache
from ssd_ros.core.backends.engine_cache import (
    DEFAULT_MAX_BATCH_SIZE,
    EngineKey,
    cache_dir,
    engine_path,
    is_fresh,
    key_path,
    write_engine,
)
from ssd_ros.core.hashing import file_sha256

KEY = EngineKey(onnx_sha256="ab" * 32, tensorrt_version="10.3.0", gpu_name="Orin (nvgpu)", compute_capability="8.7",
                precision="int8", input_shape=(-1, 3, 320, 320), batch_profile=(1, 4, 4), calibration_sha256="c1" * 32)


def test_engine_name_is_readable_and_unique_per_key(tmp_path):
    path = engine_path(tmp_path, Path("/models/cells.onnx"), KEY)
    assert path.parent == tmp_path and path.name.startswith("cells.int8.orin-nvgpu.") and path.suffix == ".engine"
    changes = ({"tensorrt_version": "10.4.0"}, {"gpu_name": "Xavier"}, {"compute_capability": "7.2"},
               {"precision": "fp16"}, {"input_shape": (-1, 3, 300, 300)}, {"onnx_sha256": "cd" * 32},
               {"batch_profile": (1, 8, 8)}, {"batch_profile": (1, 1, 1)}, {"calibration_sha256": "c2" * 32})
    names = {engine_path(tmp_path, Path("/models/cells.onnx"), replace(KEY, **change)) for change in changes}
    assert path not in names and len(names) == len(changes), "every part of the key must change the engine file"


def test_a_cached_engine_is_fresh_only_for_its_exact_key_and_complete_bytes(tmp_path):
    engine = engine_path(tmp_path / "cache", Path("m.onnx"), KEY)
    assert not is_fresh(engine, KEY)
    write_engine(engine, b"serialized engine", KEY)
    assert is_fresh(engine, KEY)
    assert sorted(p.name for p in engine.parent.iterdir()) == sorted([engine.name, key_path(engine).name]), \
        "no temporary files are left behind"
    for change in ({"tensorrt_version": "10.4.0"}, {"calibration_sha256": "c2" * 32}, {"batch_profile": (1, 2, 2)}):
        assert not is_fresh(engine, replace(KEY, **change))
    engine.write_bytes(b"serialized engi")  # a partial engine beside its old record
    assert not is_fresh(engine, KEY)
    engine.write_bytes(b"serialized engin!")  # same size, other bytes
    assert not is_fresh(engine, KEY)
    write_engine(engine, b"serialized engine", KEY)
    key_path(engine).write_text("{ truncated")
    assert not is_fresh(engine, KEY)
    key_path(engine).write_text('{"key": "an older format"}')
    assert not is_fresh(engine, KEY)


def test_an_interrupted_write_leaves_nothing_that_counts_as_fresh(tmp_path, monkeypatch):
    engine = engine_path(tmp_path, Path("m.onnx"), KEY)
    write_engine(engine, b"old engine", KEY)

    def crash(*_args):
        raise KeyboardInterrupt("killed while renaming the new engine into place")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        write_engine(engine, b"new engine of another size", KEY)
    monkeypatch.undo()
    assert not key_path(engine).exists(), "the key record goes before the engine is replaced"
    assert not is_fresh(engine, KEY)
    assert [p.name for p in tmp_path.iterdir()] == [engine.name], "the temporary file was removed"


def test_file_hash_is_chunked_and_shared_with_the_node(tmp_path):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"abc")
    assert file_sha256(model) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * 1024 + 17))
    assert file_sha256(big, chunk_size=1000) == hashlib.sha256(big.read_bytes()).hexdigest()
    assert engine_cache.file_sha256 is file_sha256
    node_source = (Path(__file__).resolve().parents[2] / "ssd_ros" / "ros" / "detector_node.py").read_text()
    assert "hashlib" not in node_source and "detector.model_sha256" in node_source, \
        "the node publishes the hash Detector.load recorded (core.hashing), it hashes nothing itself"


def test_cache_dir_and_default_batch(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir(None) == tmp_path / ".cache" / "ssd_ros" / "engines"
    assert cache_dir("/x/y") == Path("/x/y")
    from ssd_ros.ros.params import PARAMETERS_BY_NAME

    assert PARAMETERS_BY_NAME["max_batch_size"].default == DEFAULT_MAX_BATCH_SIZE, \
        "export --tensorrt must build the engine (batch profile) the node looks up by default"


def test_tensorrt_backend_explains_what_is_missing(tmp_path):
    from ssd_ros.core import Detector, ModelLoadError, ModelSpec

    model = tmp_path / "m.onnx"
    model.write_bytes(b"abc")
    sidecar = tmp_path / "m.yaml"
    ModelSpec.from_dict({"input": {"width": 8, "height": 8}, "labels": ["background", "a"],
                         "output": {"convention": "decoded"}}).to_yaml(sidecar)
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        with pytest.raises(ModelLoadError, match=r"backend 'tensorrt' needs the 'tensorrt' Python package.*JetPack"):
            Detector.load(model, sidecar, backend="tensorrt")
    else:
        pytest.skip("tensorrt is installed: the engine path is exercised on GPU machines (make gpu-check)")
