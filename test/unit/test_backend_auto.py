"""backend "auto": measures onnxruntime and OpenVINO in worker processes, picks the fastest eligible one,
caches the choice per model, machine and library versions, and ignores a broken cache loudly.

Real models and real worker processes throughout (no timing assertions: which backend wins is the
machine's business; the tests check that the winner is the fastest of what was measured, that its
detections equal onnxruntime's, and that the cache is used and invalidated as its contract says).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import onnx
import pytest

from ssd_ros.core import Detector, ModelLoadError, PostprocessConfig
from ssd_ros.core.backends.auto import BOX_TOL, SCORE_TOL, check_frame, choose, read_cache, same_detections
from ssd_ros.core.hashing import file_sha256
from ssd_ros.resources import default_model_path
from ssd_ros.synthetic import render_scene

pytest.importorskip("openvino")

POST = PostprocessConfig(score_threshold=0.05, max_detections=100)


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.text = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.text += record.getMessage() + "\n"


@pytest.fixture
def warnings_of_auto():
    """The warnings backend auto logs (its own handler: whatever the process did to the root logger)."""
    handler, logger = Collect(), logging.getLogger("ssd_ros.backend_auto")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def records(path):
    return json.loads(path.read_text())["records"]


def assert_close_detections(ours, reference):
    """fp32 on both sides (no bf16 on a CPU without it): tight, as test_backends compares OpenVINO and
    onnxruntime; and within auto's own stated tolerance."""
    assert ours.class_ids.tolist() == reference.class_ids.tolist()
    np.testing.assert_allclose(ours.scores, reference.scores, atol=1e-3)
    np.testing.assert_allclose(ours.boxes, reference.boxes, atol=0.05)
    assert same_detections(reference.to_json_dict()["detections"], ours.to_json_dict()["detections"], 360) == ""


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(default_model_path().read_bytes())
    return path


def test_auto_picks_the_fastest_measured_and_a_second_load_reads_the_cache(model, tmp_path):
    cache = tmp_path / "choice.json"
    detector = Detector.load(model, backend="auto", choice_cache=cache)
    (record,) = records(cache)
    assert record["key"]["model_sha256"] == file_sha256(model)
    times = record["times_ms"]
    assert set(times) == {"onnxruntime fp32", "openvino fp32"} or "openvino bf16" in times
    label = f"{detector.backend_name} {record['precision'] or 'fp32'}"
    assert detector.backend_name == record["backend"] and times[label] == min(times.values())
    assert detector.backend.selection.startswith(f"backend auto: {detector.backend_name}")
    assert "fastest of" in detector.backend.selection and "cached" not in detector.backend.selection

    frame, _ = render_scene(np.random.default_rng(17), 360, 272)  # a scene the default model finds objects in
    reference = Detector.load(model, backend="onnxruntime").detect(frame, "rgb", POST)
    assert len(reference) > 0
    assert_close_detections(detector.detect(frame, "rgb", POST), reference)

    before = cache.read_bytes()
    again = Detector.load(model, backend="auto", choice_cache=cache)
    assert again.backend_name == detector.backend_name
    assert f"(cached in {cache})" in again.backend.selection
    assert cache.read_bytes() == before  # nothing measured, nothing written


def test_a_changed_model_or_library_version_measures_again(model, tmp_path):
    cache = tmp_path / "choice.json"
    Detector.load(model, backend="auto", choice_cache=cache)
    (first,) = records(cache)

    data = json.loads(cache.read_text())
    data["records"][0]["key"]["openvino"] = "2020.1.0"  # as if measured with another OpenVINO
    cache.write_text(json.dumps(data))
    measured = Detector.load(model, backend="auto", choice_cache=cache)
    assert "fastest of" in measured.backend.selection and "cached" not in measured.backend.selection
    assert [record["key"] for record in records(cache)] == [data["records"][0]["key"], first["key"]]

    changed = onnx.load(str(model))
    changed.doc_string = "re-exported"
    onnx.save(changed, str(model))
    measured = Detector.load(model, backend="auto", choice_cache=cache)
    assert "cached" not in measured.backend.selection
    assert records(cache)[-1]["key"]["model_sha256"] == file_sha256(model) != first["key"]["model_sha256"]


def test_a_broken_cache_file_is_ignored_with_a_clear_message_and_rewritten(model, tmp_path, warnings_of_auto):
    cache = tmp_path / "choice.json"
    cache.write_text('{"format": 1, "records": [')
    detector = Detector.load(model, backend="auto", choice_cache=cache)
    assert f"ignoring the backend choice cache {cache}" in warnings_of_auto.text
    assert "measuring the backends again" in warnings_of_auto.text
    assert "fastest of" in detector.backend.selection
    assert records(cache)[0]["backend"] == detector.backend_name  # rewritten whole


@pytest.mark.parametrize(("text", "why"), [
    ("not json", "Expecting value"),
    ('{"format": 1, "records": {}}', "not a format-1 backend choice cache"),
    ('{"format": 1, "records": [{"key": {}, "backend": "tensorflow", "reason": ""}]}', "a malformed record"),
    ('[]', "not a format-1"),
])
def test_read_cache_says_why_a_file_is_ignored(tmp_path, warnings_of_auto, text, why):
    cache = tmp_path / "choice.json"
    cache.write_text(text)
    assert read_cache(cache) == []
    assert str(cache) in warnings_of_auto.text and why in warnings_of_auto.text
    assert read_cache(tmp_path / "absent.json") == []


def test_same_detections_applies_the_stated_tolerance():
    box = [10.0, 20.0, 110.0, 220.0]
    reference = [{"class_id": 3, "score": 0.5, "bbox": box}, {"class_id": 1, "score": 0.08, "bbox": box}]
    assert same_detections(reference, reference, 320) == ""
    near = [{"class_id": 3, "score": 0.5 + SCORE_TOL * 0.9, "bbox": [v + BOX_TOL * 320 * 0.9 for v in box]}]
    assert same_detections(reference, near, 320) == ""  # the 0.08 one is below MATCH_SCORE on both sides
    assert "missing detection class 3" in same_detections(
        reference, [{"class_id": 3, "score": 0.5 + SCORE_TOL * 1.5, "bbox": box}], 320)
    assert "missing detection class 3" in same_detections(
        reference, [{"class_id": 3, "score": 0.5, "bbox": [v + BOX_TOL * 320 * 1.5 for v in box]}], 320)
    assert "missing detection class 3" in same_detections(reference, [{"class_id": 2, "score": 0.5, "bbox": box}], 320)
    assert "extra detection class 4" in same_detections(
        reference, [*reference, {"class_id": 4, "score": 0.2, "bbox": box}], 320)
    assert check_frame(320, 240).shape == (240, 320, 3) and np.array_equal(check_frame(320, 240),
                                                                            check_frame(320, 240))


def test_auto_refuses_precisions_it_does_not_choose_among(model, tmp_path):
    with pytest.raises(ModelLoadError, match="for precision 'int8' name the backend"):
        Detector.load(model, backend="auto", precision="int8", choice_cache=tmp_path / "choice.json")


def test_devices_and_formats_with_one_backend_are_taken_without_measuring(tmp_path):
    cache = tmp_path / "choice.json"
    assert (choose(Path("model.pt"), "cpu", 0, None, choice_cache=cache).backend,
            choose(Path("model.engine"), "cuda", 0, "fp16", choice_cache=cache).precision,
            choose(Path("model.onnx"), "cuda:1", 0, "fp16", choice_cache=cache).backend,
            choose(Path("model.onnx"), "GPU", 0, None, choice_cache=cache).backend) == \
        ("torch", "fp16", "onnxruntime", "openvino")
    assert not cache.exists()
