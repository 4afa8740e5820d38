"""TensorRT engine cache keys and staleness (pure code; the engine build needs a GPU)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ssd_ros.core.backends.engine_cache import EngineKey, cache_dir, engine_path, file_sha256, is_fresh, write_key

KEY = EngineKey(onnx_sha256="ab" * 32, tensorrt_version="10.3.0", gpu_name="Orin (nvgpu)", precision="fp16",
                input_shape=(1, 3, 320, 320))


def test_engine_name_is_readable_and_unique_per_key(tmp_path):
    path = engine_path(tmp_path, Path("/models/cells.onnx"), KEY)
    assert path.parent == tmp_path and path.name.startswith("cells.fp16.orin-nvgpu.") and path.suffix == ".engine"
    for change in ({"tensorrt_version": "10.4.0"}, {"gpu_name": "Xavier"}, {"precision": "int8"},
                   {"input_shape": (1, 3, 300, 300)}, {"onnx_sha256": "cd" * 32}):
        assert engine_path(tmp_path, Path("/models/cells.onnx"), replace(KEY, **change)) != path


def test_a_cached_engine_is_fresh_only_for_its_exact_key(tmp_path):
    engine = engine_path(tmp_path, Path("m.onnx"), KEY)
    assert not is_fresh(engine, KEY)
    engine.write_bytes(b"serialized engine")
    assert not is_fresh(engine, KEY), "an engine without its key record must be rebuilt"
    write_key(engine, KEY)
    assert is_fresh(engine, KEY)
    assert not is_fresh(engine, replace(KEY, tensorrt_version="10.4.0"))
    engine.with_suffix(".json").write_text("{ truncated")
    assert not is_fresh(engine, KEY)


def test_hash_and_cache_dir(tmp_path, monkeypatch):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"abc")
    assert file_sha256(model) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir(None) == tmp_path / ".cache" / "ssd_ros" / "engines"
    assert cache_dir("/x/y") == Path("/x/y")


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
        pytest.skip("tensorrt is installed: the engine path is exercised on GPU machines")
