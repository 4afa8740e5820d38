"""Static INT8 quantization for CPU (onnxruntime, QDQ) and its measured cost: mAP and speed against fp32.

Contract:
- ``quantize_int8(fp32_onnx, int8_onnx, calibration_paths)``: per-channel INT8 weights and UINT8
  activations (U8S8: the faster of the two layouts in onnxruntime's x86 kernels, measured here)
  for the network body: every convolution and every node that feeds one (activations, SE-block
  multiplies, residual adds), so tensors stay INT8 from convolution to convolution. Quantizing
  only the convolutions puts a dequantize/quantize pair around every HardSigmoid, Mul and Add in
  between: x0.7 of fp32 speed on the BCCD SSDlite, where the body gives x0.85-0.99. Measured on
  2 x86 cores: SSD300 x3.6, SSDlite320 x1.6; a width-0.5 SSDlite is too small to gain. The tail
  (nodes after the last convolutions: head reshapes, concatenation, softmax, box decoding) stays
  float, so scores and boxes keep full precision. Activation ranges are calibrated on the given
  images, pre-processed exactly as the Detector does (calibration.py). The ssd_ros ModelSpec is
  copied into the INT8 file (provenance gains ``quantization``), so the Detector and the node
  load it with no sidecar.
- ``compare(fp32_onnx, int8_onnx, dataset)``: mAP of both on the dataset through the Detector
  (ssd_ros.eval.dataset) and their inference time, measured in interleaved rounds on the same
  images (medians), so machine load affects both alike.
"""
from __future__ import annotations

import statistics
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import onnx

from ssd_ros.core import Detector, PostprocessConfig
from ssd_ros.core.spec import load_model_spec
from ssd_ros.datasets import DetectionDataset
from ssd_ros.eval.dataset import evaluate_on_dataset
from ssd_ros_training.calibration import preprocessed_batches
from ssd_ros_training.export import write_metadata

CALIBRATION_METHODS = ("minmax", "entropy", "percentile")


def quantize_int8(fp32_onnx: Path, int8_onnx: Path, calibration_paths: list[Path], method: str = "minmax") -> None:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    if method not in CALIBRATION_METHODS:
        raise ValueError(f"calibration method {method!r} unknown; use one of {', '.join(CALIBRATION_METHODS)}")
    if not calibration_paths:
        raise ValueError("INT8 calibration needs at least one image")
    spec = load_model_spec(fp32_onnx)
    input_name = spec.input.name or "images"

    class Images(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = preprocessed_batches(spec, calibration_paths)

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {input_name: batch}

    with tempfile.TemporaryDirectory() as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        quant_pre_process(str(fp32_onnx), str(prepared))  # shape inference + graph clean-up before QDQ
        tail = float_tail(onnx.load(str(prepared)).graph)
        quantize_static(str(prepared), str(int8_onnx), Images(), quant_format=QuantFormat.QDQ,
                        nodes_to_exclude=tail, per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, calibrate_method={
                            "minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
                            "percentile": CalibrationMethod.Percentile}[method],
                        extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})
    quantized = replace(spec, provenance={**spec.provenance, "quantization": {
        "format": "QDQ", "weights": "int8 per channel", "activations": "uint8",
        "float_tail_nodes": len(tail),
        "calibration_method": method, "calibration_images": len(calibration_paths)}})
    write_metadata(int8_onnx, quantized)


def float_tail(graph) -> list[str]:
    """Names of the nodes that feed no convolution, directly or through other nodes: the graph's tail."""
    nodes = list(graph.node)
    consumers: dict[str, list[int]] = {}
    for index, node in enumerate(nodes):
        for name in node.input:
            consumers.setdefault(name, []).append(index)
    feeds_conv = [False] * len(nodes)
    for index in reversed(range(len(nodes))):  # ONNX stores nodes in topological order: consumers are done first
        feeds_conv[index] = any(nodes[after].op_type == "Conv" or feeds_conv[after]
                                for output in nodes[index].output for after in consumers.get(output, []))
    return [node.name for node, feeds in zip(nodes, feeds_conv, strict=True) if node.op_type != "Conv" and not feeds]


@dataclass(frozen=True)
class Comparison:
    images: int
    fp32_map_50: float
    int8_map_50: float
    fp32_map: float
    int8_map: float
    fp32_inference_ms: float
    int8_inference_ms: float

    def table(self) -> str:
        speedup = self.fp32_inference_ms / self.int8_inference_ms
        return "\n".join([
            f"INT8 vs fp32 on {self.images} images (Detector, onnxruntime CPU):",
            "           mAP@0.5   COCO mAP   inference ms (median)",
            f"  fp32     {self.fp32_map_50:7.3f}   {self.fp32_map:8.3f}   {self.fp32_inference_ms:8.2f}",
            f"  int8     {self.int8_map_50:7.3f}   {self.int8_map:8.3f}   {self.int8_inference_ms:8.2f}",
            f"  change   {self.int8_map_50 - self.fp32_map_50:+7.3f}   {self.int8_map - self.fp32_map:+8.3f}   "
            f"x{speedup:.2f} speed",
        ])


def compare(fp32_onnx: Path, int8_onnx: Path, dataset: DetectionDataset, rounds: int = 3,
            timed_images: int = 20, threads: int = 0) -> Comparison:
    detectors = {name: Detector.load(path, num_threads=threads) for name, path in
                 (("fp32", fp32_onnx), ("int8", int8_onnx))}
    post = PostprocessConfig(score_threshold=0.01, max_detections=100)
    results = {name: evaluate_on_dataset(detector, dataset, post) for name, detector in detectors.items()}
    frames = [cv2.imread(str(a.image_path), cv2.IMREAD_COLOR) for a in list(dataset)[:timed_images]]
    times: dict[str, list[float]] = {name: [] for name in detectors}
    for _ in range(rounds):
        for name, detector in detectors.items():  # interleaved: both see the same machine load
            for frame in frames:
                assert frame is not None  # evaluate_on_dataset above raised DatasetError for unreadable images
                detector.detect(frame, "bgr", post)
                times[name].append(detector.last_timings["inference_ms"])
    return Comparison(len(dataset), results["fp32"].metrics.map_50, results["int8"].metrics.map_50,
                      results["fp32"].metrics.map, results["int8"].metrics.map,
                      statistics.median(times["fp32"]), statistics.median(times["int8"]))
