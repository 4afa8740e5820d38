"""Detector: one SSD model, from frames to Detections. The same code runs in the node, the CLI and eval.

Contract:
- ``Detector.load(model_path, config_path=None, backend=..., ...)``: ``model_path`` None or "" is the
  embedded default model; the Detector records the resolved ``model_path`` and its ``model_sha256``
  (the model's identity, which the node publishes in ModelInfo). It reads the ModelSpec
  (ONNX metadata, a YAML sidecar, or a torchvision checkpoint), checks it against an ONNX graph
  (model_check.py: input size and layout, labels against score columns, prior count against box
  rows), opens the backend and checks that the graph has the outputs the spec names; problems
  raise ModelLoadError / ModelSpecError, one line each.
- ``detect(image, color, post)`` / ``detect_batch(images, color, post)``: uint8 H x W x 3 frames in
  "rgb" or "bgr" order (sizes may differ within a batch) -> Detections in pixels of each frame.
- Thread safety: a Detector keeps no state between calls but ``last_timings``, which is per thread
  (the timings of this thread's last call), so several threads may call it at once where its backend
  allows concurrent runs (``backend.concurrent_runs``), and a new Detector can be loaded while
  another one serves.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ssd_ros.core.backends import Backend, create_backend
from ssd_ros.core.boxes import decode, to_xyxy
from ssd_ros.core.hashing import file_sha256
from ssd_ros.core.model_check import check_spec_against_graph, missing_outputs_message, read_graph_or_none
from ssd_ros.core.model_file import check_model_file, check_torch_checkpoint_file
from ssd_ros.core.postprocess import filter_final, postprocess, sigmoid, softmax
from ssd_ros.core.preprocess import FrameTransform, Preprocessor
from ssd_ros.core.priors import prior_boxes
from ssd_ros.core.spec import ModelSpec, ModelSpecError, load_model_spec
from ssd_ros.core.types import Detections, PostprocessConfig

CHECKPOINT_SUFFIXES = (".pt", ".pth")


class Detector:
    def __init__(self, spec: ModelSpec, backend: Backend) -> None:
        missing = missing_outputs_message(spec, backend.output_names)
        if missing:
            raise ModelSpecError(missing)
        self.spec = spec
        self.backend = backend
        self._preprocess = Preprocessor(spec.input)
        self._model_scale = np.array([spec.input.width, spec.input.height] * 2, np.float32)
        self._priors = (prior_boxes(spec.priors, spec.input.width, spec.input.height)
                        if spec.output.convention == "raw" and spec.priors is not None else None)
        self._timings = threading.local()
        # where the model came from (set by load): the node's ModelInfo and reports name it
        self.model_path: Path | None = None
        self.model_sha256: str = ""

    @classmethod
    def load(cls, model_path: str | Path | None, config_path: str | Path | None = None, backend: str = "onnxruntime",
             device: str = "cpu", num_threads: int = 0, precision: str | None = None,
             **backend_options) -> Detector:
        """``model_path`` None or "": the embedded default model (what the node runs with an empty
        ``model_path``). The loaded Detector records the resolved ``model_path`` and its ``model_sha256``."""
        if not model_path:
            from ssd_ros.resources import default_model_path

            model_path = default_model_path()
        model_path = Path(model_path).resolve()
        check_model_file(model_path)
        if config_path:
            check_model_file(config_path, "model config")
        if model_path.suffix in CHECKPOINT_SUFFIXES and not config_path:
            check_torch_checkpoint_file(model_path)  # before torch is imported
            from ssd_ros.core.backends.torch_backend import spec_from_checkpoint

            spec = spec_from_checkpoint(model_path)
        else:
            spec = load_model_spec(model_path, config_path)
        graph = read_graph_or_none(model_path) if model_path.suffix.lower() == ".onnx" else None
        if graph is not None:  # before the backend: a wrong description is one clear line
            source = str(config_path) if config_path else f"(metadata of {model_path.name})"
            check_spec_against_graph(spec, graph, source)
        if backend == "auto":  # its timing workers load the model the way this call does
            backend_options.setdefault("model_config", str(config_path) if config_path else None)
        detector = cls(spec, create_backend(backend, model_path, device=device, num_threads=num_threads,
                                        precision=precision, **backend_options))
        detector.model_path = model_path
        detector.model_sha256 = file_sha256(model_path)
        return detector

    @property
    def last_timings(self) -> dict[str, float]:
        """preprocess_ms, inference_ms, postprocess_ms of this thread's last detect_batch ({} before one)."""
        return getattr(self._timings, "last", {})

    @property
    def backend_name(self) -> str:
        return self.backend.name

    @property
    def device(self) -> str:
        return self.backend.device

    def detect(self, image: np.ndarray, color: str = "rgb", post: PostprocessConfig | None = None) -> Detections:
        return self.detect_batch([image], color, post)[0]

    def detect_batch(self, images: Sequence[np.ndarray], color: str = "rgb",
                     post: PostprocessConfig | None = None) -> list[Detections]:
        post = post or PostprocessConfig()
        started = time.perf_counter()
        prepared = [self._preprocess(image, color) for image in images]
        inputs = np.concatenate([tensor for tensor, _ in prepared]) if prepared else None
        preprocessed = time.perf_counter()
        outputs = self._run(inputs) if inputs is not None else {}
        inferred = time.perf_counter()
        results = [self._postprocess(outputs, index, transform, post)
                   for index, (_, transform) in enumerate(prepared)]
        finished = time.perf_counter()
        self._timings.last = {"preprocess_ms": (preprocessed - started) * 1e3,
                             "inference_ms": (inferred - preprocessed) * 1e3,
                             "postprocess_ms": (finished - inferred) * 1e3}
        return results

    def _run(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """All outputs for the batch, split into the graph's fixed batch size where it has one."""
        size = self.backend.batch_size
        if size is None or size == len(inputs):
            return self.backend.run(inputs)
        chunks = []
        for start in range(0, len(inputs), size):
            chunk = inputs[start:start + size]
            count = len(chunk)
            if count < size:  # a fixed-batch graph takes only full batches: pad, then drop the padding
                chunk = np.concatenate([chunk, np.zeros((size - count, *chunk.shape[1:]), chunk.dtype)])
            chunks.append({name: value[:count] for name, value in self.backend.run(chunk).items()})
        return {name: np.concatenate([chunk[name] for chunk in chunks]) for name in chunks[0]}

    def _activate(self, scores: np.ndarray) -> np.ndarray:
        activation = self.spec.output.score_activation
        if activation == "softmax":
            return softmax(scores)
        return sigmoid(scores) if activation == "sigmoid" else scores

    def _postprocess(self, outputs: dict[str, np.ndarray], index: int, transform: FrameTransform,
                     post: PostprocessConfig) -> Detections:
        spec, output = self.spec, self.spec.output
        if output.convention in ("decoded", "raw"):
            scores = self._activate(outputs[output.scores][index].astype(np.float32, copy=False))
            raw_boxes = outputs[output.boxes][index]
            self._check_prior_count(scores.shape[0], raw_boxes.shape[0])
            if output.convention == "raw":
                assert self._priors is not None and spec.priors is not None  # a raw spec always has priors
                priors, variances = self._priors, spec.priors.variances

                def boxes(indices: np.ndarray) -> np.ndarray:
                    decoded = decode(raw_boxes[indices].astype(np.float32), priors[indices], variances)
                    return self._clip_to_input(decoded * self._model_scale)
            else:
                def boxes(indices: np.ndarray) -> np.ndarray:
                    selected = to_xyxy(raw_boxes[indices].astype(np.float32), output.box_format)
                    return self._clip_to_input(selected * self._model_scale if output.normalized else selected)

            model_boxes, final_scores, class_ids = postprocess(scores, boxes, post, spec.background_index)
        else:
            model_boxes, final_scores, class_ids = filter_final(*self._nms_outputs(outputs, index), post,
                                                                spec.background_index)
        frame_boxes = transform.to_frame(model_boxes)
        labels = tuple(spec.labels[c] if 0 <= c < len(spec.labels) else str(c) for c in class_ids.tolist())
        return Detections(frame_boxes, final_scores, class_ids, transform.frame_width, transform.frame_height, labels)

    def _clip_to_input(self, boxes: np.ndarray) -> np.ndarray:
        """Clip to the model input before NMS, as torchvision does: IoUs then match its results."""
        return np.clip(boxes, 0.0, self._model_scale)

    def _nms_outputs(self, outputs: dict[str, np.ndarray], index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(xyxy boxes in model pixels, scores, class ids) of a graph that ends in NMS."""
        output = self.spec.output
        if output.convention == "tf_nms":
            count = int(np.asarray(outputs[output.num_detections][index]).reshape(-1)[0])
            boxes = to_xyxy(outputs[output.boxes][index][:count].astype(np.float32), output.box_format)
            scores = outputs[output.scores][index][:count].astype(np.float32)
            class_ids = outputs[output.classes][index][:count].astype(np.int64) + output.class_offset
        else:  # caffe_nms: [1, 1, K, 7] rows (image, label, score, x1, y1, x2, y2); padding rows have image < 0
            rows = outputs[output.detections].reshape(-1, 7)
            rows = rows[rows[:, 0] == index]
            boxes = rows[:, 3:7].astype(np.float32)
            scores = rows[:, 2].astype(np.float32)
            class_ids = rows[:, 1].astype(np.int64) + output.class_offset
        if output.normalized:
            boxes = boxes * self._model_scale
        return boxes, scores, class_ids

    def _check_prior_count(self, score_rows: int, box_rows: int) -> None:
        if score_rows != box_rows:
            raise ModelSpecError(f"the model outputs {score_rows} score rows but {box_rows} box rows: "
                                 "check output.scores / output.boxes name the right outputs")
        if self._priors is not None and len(self._priors) != box_rows:
            raise ModelSpecError(f"the prior spec gives {len(self._priors)} priors but the model outputs {box_rows} "
                                 "boxes: check priors.feature_maps and priors.min_sizes / aspect_ratios")
