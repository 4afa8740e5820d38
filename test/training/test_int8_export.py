"""INT8 export: static onnxruntime quantization keeps the model self-describing and its detections, and
the TensorRT path fails clearly where TensorRT is missing.

Tolerance for "the same objects": on synthetic scenes, at least 90% of the fp32 model's detections
scoring >= 0.5 have an INT8 detection of the same class with IoU >= 0.7, and the other way round.
"""
from __future__ import annotations

import importlib.util

import numpy as np
import onnx
import pytest

pytest.importorskip("torch")

from ssd_ros_training.calibration import pick_images
from ssd_ros_training.engine import TrainConfig, train
from ssd_ros_training.quantize import quantize_int8
from ssd_ros_training.synth import write_voc_dataset

from ssd_ros.cli import main as ssd_ros_main
from ssd_ros.core import Detector, PostprocessConfig
from ssd_ros.resources import default_model_path
from ssd_ros.synthetic import render_scene


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    overlap = np.clip(np.minimum(box[2:], boxes[:, 2:]) - np.maximum(box[:2], boxes[:, :2]), 0, None).prod(1)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return overlap / (area(box) + area(boxes) - overlap)


def matched_share(found, reference) -> float:
    if len(reference.boxes) == 0:
        return 1.0
    hits = 0
    for box, class_id in zip(reference.boxes, reference.class_ids, strict=True):
        same_class = found.class_ids == class_id
        hits += bool(same_class.any() and iou(box, found.boxes[same_class]).max() >= 0.7)
    return hits / len(reference.boxes)


def test_int8_default_model_loads_without_sidecar_and_finds_the_same_objects(tmp_path):
    write_voc_dataset(tmp_path / "calib", images=32, seed=11)
    int8 = tmp_path / "default.int8.onnx"
    quantize_int8(default_model_path(), int8, pick_images(tmp_path / "calib", "voc", None, 32))
    graph = onnx.load(str(int8)).graph
    assert sum(node.op_type == "DequantizeLinear" for node in graph.node) > 50  # really quantized
    readers: dict[str, set[str]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, set()).add(node.op_type)
    requantized = {node.op_type for node in graph.node
                   if any("QuantizeLinear" in readers.get(output, ()) for output in node.output)}
    assert {"Conv", "HardSigmoid", "Mul", "Add"} <= requantized  # INT8 from convolution to convolution
    assert not {"Softmax", "Exp", "Div", "Concat"} & requantized  # scores and box decoding stay float
    fp32_detector, int8_detector = Detector.load(default_model_path()), Detector.load(int8)  # no sidecar
    assert int8_detector.spec.labels == fp32_detector.spec.labels
    assert int8_detector.spec.provenance["quantization"]["calibration_images"] == 32
    post = PostprocessConfig(score_threshold=0.5)
    rng = np.random.default_rng(12)
    shares, objects = [], 0
    for _ in range(10):
        image, _ = render_scene(rng, 320, 240)
        fp32, quantized = fp32_detector.detect(image, "rgb", post), int8_detector.detect(image, "rgb", post)
        objects += len(fp32.boxes)
        shares += [matched_share(quantized, fp32), matched_share(fp32, quantized)]
    assert objects >= 20
    assert min(np.mean(shares[0::2]), np.mean(shares[1::2])) >= 0.9, shares


def test_export_command_int8_reports_the_map_and_speed_change(tiny_voc, start_weights, tmp_path, capsys):
    result = train(TrainConfig(data=str(tiny_voc), out=str(tmp_path / "run"), width_mult=0.5, epochs=1, batch_size=8,
                               workers=0, threads=2, warmup_iterations=2, weights=str(start_weights),
                               tensorboard=False))
    code = ssd_ros_main(["export", str(result.best_checkpoint), "--out", str(tmp_path / "m.onnx"), "--int8",
                         "--calib-data", str(tiny_voc), "--calib-split", "train", "--calib-images", "8",
                         "--eval-split", "val"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "INT8 vs fp32 on 6 images" in printed and "x" in printed.splitlines()[-1]
    assert Detector.load(tmp_path / "m.int8.onnx").spec.labels[1:] == ("circle", "square", "star", "triangle")


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed here")
def test_export_tensorrt_without_tensorrt_says_what_to_install(tmp_path, capsys):
    code = ssd_ros_main(["export", str(tmp_path / "any.pt"), "--out", str(tmp_path / "m.onnx"), "--tensorrt",
                         "--fp16"])
    assert code == 2
    error = capsys.readouterr().err
    assert "--tensorrt needs NVIDIA TensorRT's Python module" in error and "nvidia-jetpack" in error
    assert not (tmp_path / "m.onnx").exists()  # failed before doing anything


def test_export_int8_without_calibration_images_is_refused(tmp_path, capsys):
    assert ssd_ros_main(["export", str(tmp_path / "any.pt"), "--out", str(tmp_path / "m.onnx"), "--int8"]) == 2
    assert "--int8 needs calibration images" in capsys.readouterr().err
