"""ModelSpec: everything needed to run an SSD model file, and where it comes from.

A model is described by one document (a mapping). Models exported by ssd_ros carry it as JSON in
the ONNX ``metadata_props`` under ``ssd_ros.model_spec``; third-party models get a YAML sidecar with
the same schema (see models/examples/). Schema, with defaults (docs/model-description.md is the
reference page; a test keeps its fields and defaults equal to the dataclasses below):

    input:
      width, height: int            # model input size in pixels (required)
      layout: NCHW | NHWC           # NCHW
      dtype: float32 | uint8        # float32; uint8 feeds raw pixels (mean/std ignored)
      color: rgb | bgr              # rgb: channel order the model expects
      mean: [m, m, m]               # [0, 0, 0]; on 0..255 pixel values: x = (pixel - mean) / std
      std: [s, s, s]                # [1, 1, 1]
      resize: stretch | letterbox   # stretch
      name: str | null              # the graph's input name; null: its only input
    labels: [str, ...]              # class names, index = model class id (required)
    background_index: int | null    # 0; null when the model has no background class
    output:
      convention: decoded | raw | tf_nms | caffe_nms   (required)
      decoded:   scores [1,N,C], boxes [1,N,4]   (pytorch-ssd / jetson-inference / ssd_ros exports)
      raw:       scores = class logits [1,N,C], boxes = offsets [1,N,4] against ``priors``
      tf_nms:    boxes [1,K,4] (y1,x1,y2,x2), classes [1,K], scores [1,K], num_detections [1]
      caffe_nms: detections [1,1,K,7] (image, label, score, x1, y1, x2, y2)
      scores, boxes, classes, num_detections, detections: output names (defaults: those words)
      box_format: xyxy | cxcywh | yxyx   # decoded only; xyxy
      normalized: bool              # boxes in 0..1 of the model input (true) or its pixels
      score_activation: none | softmax | sigmoid   # none for decoded/tf/caffe, softmax for raw
      class_offset: int             # added to output class ids (tf_nms models count from 1: 0)
    priors:                         # raw only
      scheme: min_sizes | torchvision
      variances: [0.1, 0.2]
      clip: bool                    # true
      feature_maps: [[h, w], ...]   # grid size per feature map (required)
      min_sizes: [[px, ...], ...]   # min_sizes scheme: box sizes per map, pixels of the input
      aspect_ratios: [[r, ...], ...]  # torchvision scheme (DefaultBoxGenerator)
      min_ratio, max_ratio: float   # 0.15, 0.9; or explicit ``scales`` (len = maps + 1)
      steps: [px, ...] | null       # stride per map in input pixels: prior centres at (i + 0.5) * step
                                    #   (both schemes); null: centres on each map's own grid
    architecture: str               # free text, e.g. ssdlite320_mobilenet_v3_large
    provenance: mapping             # free: training command, dataset, validation mAP, ...

``load_model_spec`` raises ``ModelSpecError`` naming the field, what was wrong and how to fix it.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ssd_ros.core.errors import ModelLoadError

METADATA_KEY = "ssd_ros.model_spec"
FORMAT_VERSION = 1
CONVENTIONS = ("decoded", "raw", "tf_nms", "caffe_nms")


class ModelSpecError(ModelLoadError, ValueError):
    """A model description that is missing, incomplete or wrong; the message says how to fix it."""


@dataclass(frozen=True)
class InputSpec:
    width: int
    height: int
    layout: str = "NCHW"
    dtype: str = "float32"
    color: str = "rgb"
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    resize: str = "stretch"
    name: str | None = None


@dataclass(frozen=True)
class OutputSpec:
    convention: str
    scores: str = "scores"
    boxes: str = "boxes"
    classes: str = "classes"
    num_detections: str = "num_detections"
    detections: str = "detections"
    box_format: str = "xyxy"
    normalized: bool = True
    score_activation: str = "none"
    class_offset: int = 0


@dataclass(frozen=True)
class PriorSpec:
    scheme: str
    feature_maps: tuple[tuple[int, int], ...]
    variances: tuple[float, float] = (0.1, 0.2)
    clip: bool = True
    min_sizes: tuple[tuple[float, ...], ...] = ()
    aspect_ratios: tuple[tuple[float, ...], ...] = ()
    min_ratio: float = 0.15
    max_ratio: float = 0.9
    scales: tuple[float, ...] | None = None
    steps: tuple[float, ...] | None = None  # stride of each map in input pixels; None: the map's own grid


@dataclass(frozen=True)
class ModelSpec:
    input: InputSpec
    labels: tuple[str, ...]
    output: OutputSpec
    background_index: int | None = 0
    priors: PriorSpec | None = None
    architecture: str = ""
    provenance: Mapping[str, Any] = field(default_factory=dict)

    @property
    def input_width(self) -> int:
        return self.input.width

    @property
    def input_height(self) -> int:
        return self.input.height

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def class_names(self) -> tuple[str, ...]:
        """The labels of the classes the model detects (the background class left out)."""
        return tuple(label for index, label in enumerate(self.labels) if index != self.background_index)

    # ---------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["format_version"] = FORMAT_VERSION
        if self.priors is None:
            del document["priors"]
        return json.loads(json.dumps(document))  # tuples -> lists, plain types only

    def to_onnx_metadata(self) -> dict[str, str]:
        return {METADATA_KEY: json.dumps(self.to_dict(), sort_keys=True)}

    def to_yaml(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def from_dict(cls, document: Mapping[str, Any], source: str = "model description") -> ModelSpec:
        return _Parser(source).model(document)

    @classmethod
    def from_onnx_metadata(cls, metadata: Mapping[str, str], source: str = "ONNX metadata") -> ModelSpec:
        if METADATA_KEY not in metadata:
            raise ModelSpecError(f"{source}: no '{METADATA_KEY}' entry in metadata_props; this model was not "
                                 "exported by ssd_ros: describe it with a YAML sidecar (--model-config / "
                                 "model_config), see models/examples/")
        try:
            document = json.loads(metadata[METADATA_KEY])
        except json.JSONDecodeError as error:
            raise ModelSpecError(f"{source}: '{METADATA_KEY}' is not valid JSON ({error}); "
                                 "re-export the model") from None
        return cls.from_dict(document, source)

    @classmethod
    def from_yaml(cls, path: str | Path) -> ModelSpec:
        path = Path(path)
        try:
            document = yaml.safe_load(path.read_text())
        except FileNotFoundError:
            raise ModelSpecError(f"model config {path} does not exist; pass the path of a YAML sidecar "
                                 "(see models/examples/)") from None
        except yaml.YAMLError as error:
            raise ModelSpecError(f"model config {path} is not valid YAML: {error}") from None
        return cls.from_dict(document, str(path))


def read_onnx_metadata(model_path: str | Path) -> dict[str, str]:
    """``metadata_props`` of an ONNX file (reads only the model proto, not the weights' meaning)."""
    import onnx

    model = onnx.load(str(model_path), load_external_data=False)
    return {prop.key: prop.value for prop in model.metadata_props}


def load_model_spec(model_path: str | Path, config_path: str | Path | None = None) -> ModelSpec:
    """The YAML sidecar when given, else the description embedded in the ONNX file."""
    if config_path:
        return ModelSpec.from_yaml(config_path)
    model_path = Path(model_path)
    if model_path.suffix.lower() != ".onnx":
        raise ModelSpecError(f"{model_path}: only ONNX files carry an embedded description; pass a YAML "
                             "sidecar (--model-config / model_config) for this model")
    try:
        metadata = read_onnx_metadata(model_path)
    except FileNotFoundError:
        raise ModelSpecError(f"model file {model_path} does not exist") from None
    except Exception as error:  # onnx raises DecodeError and friends for broken files
        raise ModelSpecError(f"{model_path} is not a readable ONNX model ({type(error).__name__}: {error}); "
                             "check the file is complete (re-download or re-export it)") from None
    return ModelSpec.from_onnx_metadata(metadata, str(model_path))


class _Parser:
    """Turns a document into a ModelSpec, naming the exact field on any problem."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, problem: str, fix: str) -> ModelSpecError:
        return ModelSpecError(f"{self.source}: field '{path}' {problem}; {fix}")

    def section(self, document: Any, path: str, required: bool = True) -> Mapping[str, Any]:
        if document is None and not required:
            return {}
        if not isinstance(document, Mapping):
            raise self.fail(path, "is missing or not a mapping", f"add a '{path}:' section (see models/examples/)")
        return document

    def get(self, section: Mapping[str, Any], path: str, kind: type | tuple[type, ...], default: Any = ...,
            choices: tuple[Any, ...] | None = None, fix: str = "") -> Any:
        key = path.rpartition(".")[2]
        if key not in section or section[key] is None:
            if default is ...:
                raise self.fail(path, "is missing", fix or f"set '{path}'")
            return default
        value = section[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            name = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.fail(path, f"must be {name}, got {value!r}", fix or f"set '{path}' to a {name}")
        if choices is not None and value not in choices:
            raise self.fail(path, f"must be one of {', '.join(map(str, choices))}, got {value!r}",
                            fix or f"set '{path}' to one of them")
        return value

    def numbers(self, section: Mapping[str, Any], path: str, length: int | None, default: Any = ...) -> tuple:
        value = self.get(section, path, list, default)
        if value is default and default is not ...:
            return tuple(default)
        if (length is not None and len(value) != length) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            raise self.fail(path, f"must be a list of {length or 'some'} numbers, got {value!r}",
                            f"write it like [{', '.join(['0.0'] * (length or 2))}]")
        return tuple(float(v) for v in value)

    def model(self, document: Any) -> ModelSpec:
        document = self.section(document, "(top level)")
        version = document.get("format_version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise self.fail("format_version", f"is {version}, this ssd_ros reads {FORMAT_VERSION}",
                            "update ssd_ros or re-export the model")
        labels = self.get(document, "labels", list, fix="list the class names, index = model class id")
        if not labels or not all(isinstance(label, str) for label in labels):
            raise self.fail("labels", "must be a non-empty list of class names", "e.g. labels: [background, face]")
        background = self.get(document, "background_index", int, default=0)
        if background is not None and not 0 <= background < len(labels):
            raise self.fail("background_index", f"is {background} but there are {len(labels)} labels",
                            "use the index of the background label, or null if there is none")
        output = self.output(self.section(document.get("output"), "output"))
        priors = None
        if output.convention == "raw":
            priors = self.priors(self.section(document.get("priors"), "priors"))
        return ModelSpec(
            input=self.input(self.section(document.get("input"), "input")),
            labels=tuple(labels),
            output=output,
            background_index=background,
            priors=priors,
            architecture=self.get(document, "architecture", str, default=""),
            provenance=dict(self.section(document.get("provenance"), "provenance", required=False)),
        )

    def input(self, section: Mapping[str, Any]) -> InputSpec:
        spec = InputSpec(
            width=self.get(section, "input.width", int, fix="set the model's input width in pixels"),
            height=self.get(section, "input.height", int, fix="set the model's input height in pixels"),
            layout=self.get(section, "input.layout", str, "NCHW", ("NCHW", "NHWC")),
            dtype=self.get(section, "input.dtype", str, "float32", ("float32", "uint8")),
            color=self.get(section, "input.color", str, "rgb", ("rgb", "bgr")),
            mean=self.numbers(section, "input.mean", 3, (0.0, 0.0, 0.0)),
            std=self.numbers(section, "input.std", 3, (1.0, 1.0, 1.0)),
            resize=self.get(section, "input.resize", str, "stretch", ("stretch", "letterbox")),
            name=self.get(section, "input.name", str, None),
        )
        if spec.width <= 0 or spec.height <= 0:
            raise self.fail("input.width", f"and height must be positive, got {spec.width}x{spec.height}",
                            "use the model's input size")
        if any(value == 0 for value in spec.std):
            raise self.fail("input.std", "has a zero", "std divides the pixel values: use 1 for no scaling")
        return spec

    def output(self, section: Mapping[str, Any]) -> OutputSpec:
        convention = self.get(section, "output.convention", str, choices=CONVENTIONS,
                              fix=f"set 'output.convention' to one of {', '.join(CONVENTIONS)}")
        default_activation = "softmax" if convention == "raw" else "none"
        return OutputSpec(
            convention=convention,
            scores=self.get(section, "output.scores", str, "scores"),
            boxes=self.get(section, "output.boxes", str, "boxes"),
            classes=self.get(section, "output.classes", str, "classes"),
            num_detections=self.get(section, "output.num_detections", str, "num_detections"),
            detections=self.get(section, "output.detections", str, "detections"),
            box_format=self.get(section, "output.box_format", str, "xyxy", ("xyxy", "cxcywh", "yxyx")),
            normalized=self.get(section, "output.normalized", bool, True),
            score_activation=self.get(section, "output.score_activation", str, default_activation,
                                      ("none", "softmax", "sigmoid")),
            class_offset=self.get(section, "output.class_offset", int, 0),
        )

    def priors(self, section: Mapping[str, Any]) -> PriorSpec:
        scheme = self.get(section, "priors.scheme", str, choices=("min_sizes", "torchvision"),
                          fix="raw-head models need a prior-box scheme: min_sizes or torchvision")
        maps = self.get(section, "priors.feature_maps", list, fix="list the [height, width] of every feature map")
        if not maps or not all(isinstance(m, list) and len(m) == 2 and all(isinstance(v, int) and v > 0 for v in m)
                               for m in maps):
            raise self.fail("priors.feature_maps", f"must be a list of [height, width] pairs of positive whole "
                            f"numbers, got {maps!r}", "e.g. [[30, 40], [15, 20]] (docs/model-description.md: "
                            "deriving feature_maps)")
        feature_maps = tuple((m[0], m[1]) for m in maps)

        def per_map(name: str) -> tuple[tuple[float, ...], ...]:
            value = self.get(section, f"priors.{name}", list,
                             fix=f"give one list of {name} per feature map ({len(feature_maps)} lists)")
            if len(value) != len(feature_maps) or not all(isinstance(v, list) for v in value):
                raise self.fail(f"priors.{name}", f"must have one list per feature map ({len(feature_maps)})",
                                f"got {value!r}")
            return tuple(tuple(float(x) for x in v) for v in value)

        scales = self.get(section, "priors.scales", list, None)
        steps = self.get(section, "priors.steps", list, None)
        if scales is not None and len(scales) != len(feature_maps) + 1:
            raise self.fail("priors.scales", f"must have {len(feature_maps) + 1} values (one per map plus one)",
                            "or leave it out and use min_ratio/max_ratio")
        if steps is not None and (len(steps) != len(feature_maps) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in steps)):
            raise self.fail("priors.steps", f"must have one positive stride in input pixels per feature map "
                            f"({len(feature_maps)}), got {steps!r}",
                            "or leave it out to centre the priors on each map's own grid")
        return PriorSpec(
            scheme=scheme,
            feature_maps=feature_maps,
            variances=tuple(self.numbers(section, "priors.variances", 2, (0.1, 0.2))),
            clip=self.get(section, "priors.clip", bool, True),
            min_sizes=per_map("min_sizes") if scheme == "min_sizes" else (),
            aspect_ratios=per_map("aspect_ratios") if scheme == "torchvision" else (),
            min_ratio=self.get(section, "priors.min_ratio", float, 0.15),
            max_ratio=self.get(section, "priors.max_ratio", float, 0.9),
            scales=tuple(float(s) for s in scales) if scales is not None else None,
            steps=tuple(int(v) if float(v).is_integer() else float(v) for v in steps) if steps is not None else None,
        )
