"""Every parameter of the detector node, in one table, and the immutable settings built from them.

Contract:
- ``PARAMETERS`` is the single source of truth: name, type, default, description, range or
  choices, whether it is read-only (fixed at start-up) and whether changing it reloads the model.
  The node declares exactly these. Nothing else writes a default down: config/detector.yaml lists
  every parameter and is checked equal to the table by a test; config/eval.yaml and jetson.yaml
  hold only what differs (:func:`config_file_values` overlays them on the table); launch arguments
  set a parameter only when given; the CLIs (``ssd-ros detect``, ``eval``) read :func:`default` /
  :func:`config_file_values`.
- ``validate(values)`` returns the reason a set of values is unacceptable (or None). Range and
  choice checks live here, not scattered through the node, and ``ros2 param set`` shows the reason.
- ``NodeSettings`` is a frozen snapshot. The node builds a new one for every accepted change and
  swaps it in with one assignment, so the worker thread always sees a consistent set.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ssd_ros.camera_frames import DEFAULT_MAX_PIXELS
from ssd_ros.core import PostprocessConfig

BACKENDS = ("auto", "onnxruntime", "tensorrt", "openvino", "torch")
PRECISIONS = ("", "fp32", "fp16", "bf16", "int8")
TRANSPORTS = ("raw", "compressed")


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    default: Any
    description: str
    type_name: str  # bool, integer, double, string, string_array
    value_range: tuple[float, float] | None = None
    choices: tuple[str, ...] | None = None
    read_only: bool = False
    reloads_model: bool = False


PARAMETERS: tuple[ParameterSpec, ...] = (
    # --- the model (changing any of these loads a new model beside the old one, then swaps)
    ParameterSpec("model_path", "", "SSD model file (.onnx; .engine for tensorrt; .pt for torch). Empty: the "
                  "embedded default model shipped in share/ssd_ros/models/default/model.onnx.",
                  "string", reloads_model=True),
    ParameterSpec("model_config", "", "YAML sidecar describing a third-party model (see models/examples). Empty: "
                  "the description embedded in the ONNX file.", "string", reloads_model=True),
    ParameterSpec("backend", "auto", "Inference backend that runs the model. auto: the faster of onnxruntime and "
                  "OpenVINO for this model and CPU (OpenVINO bf16 where the CPU has it and detections stay equal), "
                  "timed once at load and cached in ~/.cache/ssd_ros/backend_choice.json.", "string",
                  choices=BACKENDS, reloads_model=True),
    ParameterSpec("device", "cpu", "Device for the backend: cpu, cuda, cuda:N (onnxruntime, tensorrt, torch), "
                  "CPU/GPU/NPU/AUTO (openvino).", "string", reloads_model=True),
    ParameterSpec("num_threads", 0, "CPU inference threads per frame in inference; 0: onnxruntime gets one per "
                  "physical core this process may use, divided among inference_workers, other backends decide.",
                  "integer",
                  value_range=(0, 256), reloads_model=True),
    ParameterSpec("cpu_spin_wait", False, "Let onnxruntime's CPU threads busy-wait for the next frame: slightly "
                  "lower latency for up to a core of extra CPU at camera rates. Off leaves that CPU to the "
                  "other nodes of the robot.", "bool", reloads_model=True),
    ParameterSpec("precision", "", "Inference precision; empty means the backend's default (fp32 on onnxruntime, "
                  "fp16 for tensorrt on Jetson, the CPU's best for openvino).", "string", choices=PRECISIONS,
                  reloads_model=True),
    ParameterSpec("engine_cache_dir", "", "Where TensorRT engines built from ONNX are cached; empty: "
                  "~/.cache/ssd_ros/engines.", "string", reloads_model=True),
    # --- post-processing and output (apply from the next frame)
    ParameterSpec("score_threshold", 0.5, "Minimum score of a published detection.", "double",
                  value_range=(0.0, 1.0)),
    ParameterSpec("nms_iou_threshold", 0.45, "IoU above which class-wise NMS suppresses the weaker box.", "double",
                  value_range=(0.0, 1.0)),
    ParameterSpec("max_detections", 100, "Most detections published per frame (best scores first).", "integer",
                  value_range=(1, 10000)),
    ParameterSpec("top_k_candidates", 400, "Candidates kept per class before NMS; bounds NMS cost at low "
                  "thresholds.", "integer", value_range=(1, 100000)),
    ParameterSpec("classes", [], "Allow-list of class names (or numeric ids) to publish; empty publishes all.",
                  "string_array"),
    ParameterSpec("class_score_thresholds", [], "Per-class minimum scores as CLASS=THRESHOLD entries (class name "
                  "or numeric id, threshold in [0, 1]), e.g. ['person=0.42', 'car=0.6']; they replace "
                  "score_threshold for those classes. `ssd-ros eval --write-thresholds FILE` measures the "
                  "F1-best ones and writes them as a params file.", "string_array"),
    ParameterSpec("label_as_id", False, "Put the numeric class id in ObjectHypothesis.class_id instead of the "
                  "label name.", "bool"),
    ParameterSpec("publish_debug_image", True, "Publish an annotated image on debug_image while someone "
                  "subscribes to it.", "bool"),
    ParameterSpec("max_image_pixels", DEFAULT_MAX_PIXELS, "Largest frame (width x height) the node converts or "
                  "decodes; read from the Image fields or the PNG/JPEG header before decoding, so a small compressed "
                  "'decompression bomb' cannot exhaust memory. Larger frames are skipped and counted as 'frame "
                  "too large' on /diagnostics. The default fits 8K UHD.", "integer",
                  value_range=(1, 1_000_000_000)),
    # --- wiring (fixed at start-up)
    ParameterSpec("image_topics", ["image"], "Camera topics; several cameras share one model and are batched.",
                  "string_array", read_only=True),
    ParameterSpec("detection_topics", [], "Output topic per camera; empty: 'detections' for one camera, "
                  "'<camera namespace>/detections' for several.", "string_array", read_only=True),
    ParameterSpec("image_transport", "raw", "raw: sensor_msgs/Image on each topic; compressed: "
                  "sensor_msgs/CompressedImage on '<topic>/compressed'.", "string", choices=TRANSPORTS,
                  read_only=True),
    ParameterSpec("max_batch_size", 4, "Most frames (one per camera) run through the model together.", "integer",
                  value_range=(1, 64), read_only=True),
    ParameterSpec("inference_workers", 1, "Frames in inference at once: 1 for the lowest latency, 2 (or the "
                  "number of cores) for the highest frame rate; with num_threads 0 the cores are divided among "
                  "them. Outputs stay in input order per camera: a result older than one already published is "
                  "dropped and counted. Backends that cannot run frames concurrently (all but onnxruntime) still "
                  "run one inference at a time.", "integer", value_range=(1, 8), read_only=True),
    ParameterSpec("diagnostics_period", 1.0, "Seconds between /diagnostics messages.", "double",
                  value_range=(0.1, 60.0), read_only=True),
    ParameterSpec("autostart", True, "Configure and activate the lifecycle node on start-up.", "bool",
                  read_only=True),
)
PARAMETERS_BY_NAME = {spec.name: spec for spec in PARAMETERS}
MODEL_PARAMETERS = tuple(spec.name for spec in PARAMETERS if spec.reloads_model)


def default(name: str) -> Any:
    """The table's default of parameter ``name`` (a copy for lists)."""
    value = PARAMETERS_BY_NAME[name].default
    return list(value) if isinstance(value, list) else value


@functools.cache
def evaluation_values() -> dict[str, Any]:
    """The parameters evaluation runs use (config/eval.yaml over the table), e.g. a 0.01 score threshold."""
    return config_file_values("eval.yaml")


def config_file_values(config_file: str) -> dict[str, Any]:
    """Every parameter's value under an installed config/<config_file>: the table's defaults overlaid
    with the file's ``ros__parameters`` (e.g. "eval.yaml": what evaluation runs use)."""
    import yaml

    from ssd_ros.resources import share_path

    document = yaml.safe_load(share_path(f"config/{config_file}").read_text()) or {}
    overrides = document.get("/**", {}).get("ros__parameters", {})
    unknown = sorted(set(overrides) - set(PARAMETERS_BY_NAME))
    if unknown:
        raise ValueError(f"config/{config_file} sets parameters the node does not have: {unknown}")
    return {spec.name: overrides.get(spec.name, default(spec.name)) for spec in PARAMETERS}


def validate(values: Mapping[str, Any]) -> str | None:
    """The reason ``values`` (name -> value, complete or partial) cannot be accepted, or None."""
    for name, value in values.items():
        spec = PARAMETERS_BY_NAME.get(name)
        if spec is None:
            continue
        if spec.type_name == "double" and not math.isfinite(float(value)):
            return f"{name} must be a finite number, got {value}"
        if spec.value_range is not None:
            low, high = spec.value_range
            if not low <= value <= high:
                return f"{name} must be within [{low:g}, {high:g}], got {value}"
        if spec.choices is not None and value not in spec.choices:
            shown = ", ".join(repr(choice) for choice in spec.choices)
            return f"{name} must be one of {shown}, got {value!r}"
    if values.get("class_score_thresholds"):
        try:
            parse_class_thresholds(list(values["class_score_thresholds"]))
        except ValueError as error:
            return str(error)
    topics = values.get("image_topics")
    if topics is not None:
        if not topics or any(not topic for topic in topics):
            return "image_topics must list at least one non-empty topic name"
        if len(set(topics)) != len(topics):
            return f"image_topics has duplicates: {list(topics)}"
        outputs = values.get("detection_topics") or []
        if outputs and len(outputs) != len(topics):
            return (f"detection_topics must be empty or name one output per image topic "
                    f"({len(topics)}), got {len(outputs)}")
    return None


def _class_ids(parameter: str, entries: list[str], labels: tuple[str, ...],
               background_index: int | None) -> list[int]:
    """The model class id of each entry (a label or a numeric id); ValueError names the entries that are not."""
    ids, unknown, background = [], [], []  # background: entries naming the background class
    for entry in entries:
        digits = entry.strip()
        if entry in labels:
            index = labels.index(entry)
        elif digits.isascii() and digits.isdigit() and int(digits) < len(labels):  # ASCII only: int() of '²' fails
            index = int(digits)
        else:
            unknown.append(entry)
            continue
        if index == background_index:
            background.append(entry)
        else:
            ids.append(index)
    known = [label for index, label in enumerate(labels) if index != background_index]
    if unknown:
        raise ValueError(f"{parameter} has entries the model does not know: {unknown}; the model's classes are {known}")
    if background and background_index is not None:
        raise ValueError(f"{parameter} names the background class ({background}: {labels[background_index]!r}, id "
                         f"{background_index}), which is never published: remove it; the model's classes are {known}")
    return ids


def class_allowlist(classes: list[str], labels: tuple[str, ...], background_index: int | None) -> frozenset[int] | None:
    """Model class ids for an allow-list of names or numeric ids; raises ValueError naming unknown entries."""
    if not classes:
        return None
    return frozenset(_class_ids("classes", classes, labels, background_index))


def parse_class_thresholds(entries: list[str]) -> list[tuple[str, float]]:
    """``['person=0.42', '3=0.6']`` as (class, threshold) pairs; ValueError says which entry is malformed."""
    pairs = []
    for entry in entries:
        name, separator, text = entry.rpartition("=")
        try:
            threshold = float(text)
        except ValueError:
            threshold = math.nan
        if not separator or not name.strip() or not 0.0 <= threshold <= 1.0:
            raise ValueError(f"class_score_thresholds entry {entry!r} is not CLASS=THRESHOLD with a threshold in "
                             "[0, 1], e.g. 'person=0.42'")
        pairs.append((name.strip(), threshold))
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError(f"class_score_thresholds names a class twice: {names}")
    return pairs


def class_thresholds(entries: list[str], labels: tuple[str, ...],
                     background_index: int | None) -> tuple[tuple[int, float], ...]:
    """(model class id, threshold) pairs of ``class_score_thresholds`` entries for a loaded model."""
    pairs = parse_class_thresholds(entries)
    ids = _class_ids("class_score_thresholds", [name for name, _ in pairs], labels, background_index)
    return tuple(zip(ids, (threshold for _, threshold in pairs), strict=True))


@dataclass(frozen=True)
class NodeParameters:
    """Every parameter of the table as a typed field (lists as tuples); a test keeps the two equal."""

    model_path: str
    model_config: str
    backend: str
    device: str
    num_threads: int
    cpu_spin_wait: bool
    precision: str
    engine_cache_dir: str
    score_threshold: float
    nms_iou_threshold: float
    max_detections: int
    top_k_candidates: int
    classes: tuple[str, ...]
    class_score_thresholds: tuple[str, ...]
    label_as_id: bool
    publish_debug_image: bool
    max_image_pixels: int
    image_topics: tuple[str, ...]
    detection_topics: tuple[str, ...]
    image_transport: str
    max_batch_size: int
    inference_workers: int
    diagnostics_period: float
    autostart: bool

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> NodeParameters:
        """From name -> value (every parameter of the table); lists become tuples, numbers their type."""
        typed: dict[str, Any] = {}
        for spec in PARAMETERS:
            value = values[spec.name]
            typed[spec.name] = (tuple(value) if spec.type_name == "string_array"
                                else float(value) if spec.type_name == "double" else value)
        return cls(**typed)

    def replaced(self, changes: Mapping[str, Any]) -> NodeParameters:
        """A copy with ``changes`` (name -> value) applied."""
        return NodeParameters.from_values({**self.as_dict(), **changes})

    def as_dict(self) -> dict[str, Any]:
        return {spec.name: getattr(self, spec.name) for spec in PARAMETERS}

    def model_values(self) -> tuple[Any, ...]:
        """The values whose change loads a new model."""
        return tuple(getattr(self, name) for name in MODEL_PARAMETERS)


@dataclass(frozen=True)
class NodeSettings:
    """One consistent set of parameters and the post-processing they mean for a loaded model; replaced as
    a whole on every accepted change."""

    parameters: NodeParameters
    postprocess: PostprocessConfig

    @classmethod
    def build(cls, parameters: NodeParameters, labels: tuple[str, ...], background_index: int | None) -> NodeSettings:
        """Settings for a loaded model; ValueError when ``classes`` or ``class_score_thresholds`` name unknown
        classes."""
        postprocess = PostprocessConfig(
            score_threshold=parameters.score_threshold,
            nms_iou_threshold=parameters.nms_iou_threshold,
            max_detections=parameters.max_detections,
            top_k_candidates=parameters.top_k_candidates,
            class_allowlist=class_allowlist(list(parameters.classes), labels, background_index),
            class_score_thresholds=class_thresholds(list(parameters.class_score_thresholds), labels, background_index),
        )
        return cls(parameters=parameters, postprocess=postprocess)
