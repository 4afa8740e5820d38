"""Backends on real exported models: ONNX Runtime and OpenVINO agree with the torch reference;
batching; the NMS-terminated output conventions; clear errors for broken model files."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from ssd_ros.core import Detector, ModelLoadError, ModelSpec, PostprocessConfig

torch = pytest.importorskip("torch")
from torchvision_reference import export_raw_onnx, random_ssd, save_checkpoint  # noqa: E402

POST = PostprocessConfig(score_threshold=0.05, nms_iou_threshold=0.45, max_detections=100)


@pytest.fixture(scope="module")
def ssdlite_files(tmp_path_factory):
    torch.set_num_threads(2)
    folder = tmp_path_factory.mktemp("ssdlite")
    model = random_ssd("ssdlite320", 21, seed=5)
    export_raw_onnx(model, "ssdlite320", folder / "model.onnx")
    save_checkpoint(model, "ssdlite320", folder / "model.pt")
    frames = [np.random.default_rng(i).integers(0, 256, shape, dtype=np.uint8)
              for i, shape in enumerate([(480, 640, 3), (320, 320, 3), (200, 500, 3)])]
    return folder, frames


def same(a, b, box_tol=1e-2, score_tol=1e-4) -> None:
    assert len(a) == len(b) > 0
    assert a.class_ids.tolist() == b.class_ids.tolist()
    np.testing.assert_allclose(a.scores, b.scores, atol=score_tol)
    np.testing.assert_allclose(a.boxes, b.boxes, atol=box_tol)


def test_onnxruntime_matches_the_torch_reference_and_batches(ssdlite_files):
    folder, frames = ssdlite_files
    reference = Detector.load(folder / "model.pt", backend="torch")
    detector = Detector.load(folder / "model.onnx")  # description from the ONNX metadata, no sidecar
    assert detector.backend_name == "onnxruntime" and detector.device == "CPUExecutionProvider"
    assert detector.backend.batch_size is None
    singles = [detector.detect(frame, "rgb", POST) for frame in frames]
    for frame, ours in zip(frames, singles, strict=True):
        same(ours, reference.detect(frame, "rgb", POST))
    batched = detector.detect_batch(frames, "rgb", POST)
    for one, many in zip(singles, batched, strict=True):
        same(one, many, box_tol=1e-3, score_tol=1e-5)
    assert set(detector.last_timings) == {"preprocess_ms", "inference_ms", "postprocess_ms"}


OPENVINO_SCRIPT = """
import json, sys, numpy as np
from ssd_ros.core import Detector, PostprocessConfig
detector = Detector.load(sys.argv[1], backend="openvino", precision="fp32")
frame = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
result = detector.detect(frame, "rgb", PostprocessConfig(score_threshold=0.05))
print(json.dumps({"modules": sorted(m for m in sys.modules if m.startswith("onnxruntime")),
                  "result": result.to_json_dict()}))
"""


def test_openvino_fp32_matches_onnxruntime_in_its_own_process(ssdlite_files):
    pytest.importorskip("openvino")
    folder, frames = ssdlite_files
    output = subprocess.run([sys.executable, "-c", OPENVINO_SCRIPT, str(folder / "model.onnx")],
                            capture_output=True, text=True, check=True).stdout
    answer = json.loads(output.strip().splitlines()[-1])
    assert answer["modules"] == [], "OpenVINO's process must not load onnxruntime (it halves its speed)"
    ours = Detector.load(folder / "model.onnx").detect(frames[0], "rgb", POST).to_json_dict()
    theirs = answer["result"]["detections"]
    assert [d["class_id"] for d in theirs] == [d["class_id"] for d in ours["detections"]]
    np.testing.assert_allclose([d["bbox"] for d in theirs], [d["bbox"] for d in ours["detections"]], atol=0.05)


def constant_model(path: Path, outputs: dict[str, np.ndarray]) -> None:
    """An ONNX graph with an image input whose outputs are fixed tensors (an NMS-terminated model's shape)."""
    nodes = [helper.make_node("Constant", [], [name], value=helper.make_tensor(
        f"{name}_value", TensorProto.FLOAT, value.shape, value.ravel().tolist())) for name, value in outputs.items()]
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 100, 200])
    results = [helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape))
               for name, value in outputs.items()]
    graph = helper.make_graph(nodes, "fixed", [image], results)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def describe(path: Path, output: dict) -> Path:
    sidecar = path.with_suffix(".yaml")
    ModelSpec.from_dict({"input": {"width": 200, "height": 100}, "labels": ["background", "cat", "dog"],
                         "output": output}).to_yaml(sidecar)
    return sidecar


def test_tensorflow_style_nms_outputs(tmp_path):
    model = tmp_path / "tf.onnx"
    constant_model(model, {
        "detection_boxes": np.array([[[0.1, 0.2, 0.5, 0.6], [0.0, 0.0, 1.0, 1.0], [0.3, 0.3, 0.4, 0.4]]], np.float32),
        "detection_classes": np.array([[1, 0, 1]], np.float32),  # 0-based: 0 = cat
        "detection_scores": np.array([[0.9, 0.8, 0.3]], np.float32),
        "num_detections": np.array([2], np.float32),
    })
    sidecar = describe(model, {"convention": "tf_nms", "boxes": "detection_boxes", "classes": "detection_classes",
                               "scores": "detection_scores", "num_detections": "num_detections",
                               "box_format": "yxyx", "class_offset": 1})
    result = Detector.load(model, sidecar).detect(np.zeros((200, 400, 3), np.uint8), "rgb", POST)
    assert result.label_names == ("dog", "cat")
    np.testing.assert_allclose(result.boxes, [[80, 20, 240, 100], [0, 0, 400, 200]], atol=1e-4)


def test_caffe_detection_output(tmp_path):
    model = tmp_path / "caffe.onnx"
    rows = np.array([[[[0, 2, 0.95, 0.1, 0.1, 0.2, 0.3], [0, 1, 0.01, 0, 0, 1, 1], [-1, 0, 0, 0, 0, 0, 0]]]],
                    np.float32)
    constant_model(model, {"detection_out": rows})
    sidecar = describe(model, {"convention": "caffe_nms", "detections": "detection_out"})
    result = Detector.load(model, sidecar).detect(np.zeros((100, 200, 3), np.uint8), "rgb", POST)
    assert result.label_names == ("dog",) and result.scores.tolist() == pytest.approx([0.95])
    assert result.boxes[0].tolist() == pytest.approx([20, 10, 40, 30])


def test_broken_and_mismatched_models_fail_clearly(tmp_path):
    model = tmp_path / "broken.onnx"
    model.write_bytes(b"\x08\x07garbage" * 50)
    sidecar = describe(model, {"convention": "decoded"})
    with pytest.raises(ModelLoadError, match=r"onnxruntime cannot load .*broken\.onnx"):
        Detector.load(model, sidecar)
    fixed = tmp_path / "fixed.onnx"
    constant_model(fixed, {"detection_out": np.zeros((1, 1, 1, 7), np.float32)})
    missing_outputs = r"no output output\.scores='scores', output\.boxes='boxes'.*detection_out"
    with pytest.raises(ModelLoadError, match=missing_outputs):
        Detector.load(fixed, describe(fixed, {"convention": "decoded"}))
    with pytest.raises(ModelLoadError, match="unknown backend 'tflite'"):
        Detector.load(fixed, describe(fixed, {"convention": "caffe_nms", "detections": "detection_out"}),
                      backend="tflite")


def test_load_resolves_the_default_model_and_records_its_identity():
    from ssd_ros.core import Detector
    from ssd_ros.core.hashing import file_sha256
    from ssd_ros.resources import default_model_path

    for empty in (None, ""):
        detector = Detector.load(empty)
        assert detector.model_path == default_model_path().resolve()
        assert detector.model_sha256 == file_sha256(default_model_path()) and len(detector.model_sha256) == 64
