"""A model description checked against the ONNX graph it describes, before anything runs.

Contract:
- ``read_graph(path)`` -> ``GraphInterface``: the graph's inputs (initializers excluded) and outputs
  as ``TensorInfo(name, dtype, shape)``, each dimension an int, or a str for a symbolic one (``batch``,
  ``?`` when unnamed); read with onnx, without the weights' external data. Outputs declared without
  a shape get one from onnx shape inference where it can tell.
- ``check_spec_against_graph(spec, graph, source)`` raises ``ModelDescriptionMismatch`` (a
  ModelSpecError) on the first thing the description and the graph disagree on, in one line that
  names the field, both values and what to write instead: the input (name, NCHW/NHWC layout,
  3 channels, width x height, dtype), the outputs the convention reads (present, boxes with 4
  values, a [1, 1, K, 7] DetectionOutput), the score columns against ``labels``, scores and boxes
  rows against each other, and for ``raw`` the prior count the priors give against the boxes rows.
  Symbolic dimensions are not compared (the Detector's trial run catches what they hide).
- ``read_graph_or_none(path)``: the same, or None when onnx cannot read the file (Detector.load then
  leaves the report to the backend, which names its own reason).
- ``required_outputs(spec)`` / ``missing_outputs_message(spec, names)``: the outputs a convention
  reads, and the one message for those a graph or backend lacks (the Detector checks backends too).
- ``implied_prior_count(spec, graph)``: the rows of the boxes output (decoded and raw models), the
  number of priors the graph's head predicts; None when not fixed or not that kind of model.
``Detector.load`` runs the check for every ONNX model, so the node, ``ssd-ros detect`` and ``eval``
all refuse a wrong description with the same message; ``ssd-ros model inspect`` prints it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ssd_ros.core.priors import prior_count
from ssd_ros.core.spec import ModelSpec, ModelSpecError

Dim = int | str


class ModelDescriptionMismatch(ModelSpecError):
    """The description (sidecar or embedded metadata) says one thing, the ONNX graph another."""


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    shape: tuple[Dim, ...] | None  # None: the graph does not say

    def dims(self) -> str:
        return "?" if self.shape is None else "[" + ", ".join(str(d) for d in self.shape) + "]"


@dataclass(frozen=True)
class GraphInterface:
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    opset: int | None = None
    producer: str = ""

    def output(self, name: str) -> TensorInfo | None:
        return next((o for o in self.outputs if o.name == name), None)


def _tensor(value_info) -> TensorInfo:
    import onnx

    kind = value_info.type.tensor_type
    dtype = onnx.helper.tensor_dtype_to_np_dtype(kind.elem_type).name if kind.elem_type else "?"
    if not kind.HasField("shape"):
        return TensorInfo(value_info.name, dtype, None)
    shape = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in kind.shape.dim)
    return TensorInfo(value_info.name, dtype, shape)


def required_outputs(spec: ModelSpec) -> dict[str, str]:
    """Spec field -> graph output name that the convention reads."""
    output = spec.output
    if output.convention in ("decoded", "raw"):
        return {"output.scores": output.scores, "output.boxes": output.boxes}
    if output.convention == "tf_nms":
        return {"output.boxes": output.boxes, "output.classes": output.classes, "output.scores": output.scores,
                "output.num_detections": output.num_detections}
    return {"output.detections": output.detections}


def missing_outputs_message(spec: ModelSpec, output_names) -> str | None:
    """The error message when outputs the convention reads are not among ``output_names`` (else None)."""
    missing = {field: name for field, name in required_outputs(spec).items() if name not in output_names}
    if not missing:
        return None
    fields = ", ".join(f"{field}={name!r}" for field, name in missing.items())
    return (f"the model has no output {fields}; its outputs are {list(output_names)}: set those fields of the model "
            "description to the right names")


def read_graph_or_none(path: str | Path) -> GraphInterface | None:
    """The graph's interface, or None when onnx cannot read the file (the backend then says why it cannot)."""
    try:
        return read_graph(path)
    except ModelSpecError:
        return None


def read_graph(path: str | Path) -> GraphInterface:
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # onnx raises DecodeError and friends for broken files
        raise ModelSpecError(f"{path} is not a readable ONNX model ({type(error).__name__}: {error}); check the "
                             "file is complete (re-download or re-export it)") from None
    initializers = {tensor.name for tensor in model.graph.initializer}
    outputs = [_tensor(o) for o in model.graph.output]
    if any(o.shape is None or any(isinstance(d, str) and d == "?" for d in o.shape) for o in outputs):
        try:
            inferred = onnx.shape_inference.infer_shapes(model)
            outputs = [_tensor(o) for o in inferred.graph.output]
        except Exception:  # custom operators, external data: keep what the graph declares
            pass
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    producer = " ".join(part for part in (model.producer_name, model.producer_version) if part)
    return GraphInterface(tuple(_tensor(i) for i in model.graph.input if i.name not in initializers),
                          tuple(outputs), opset, producer)


def _fixed(dim: Dim | None) -> int | None:
    return dim if isinstance(dim, int) and dim > 0 else None


def _input_sizes(layout: str, shape: tuple[Dim, ...]) -> tuple[int | None, int | None, int | None]:
    """(channels, height, width) of a 4-d input shape read in ``layout``."""
    if layout == "NCHW":
        return _fixed(shape[1]), _fixed(shape[2]), _fixed(shape[3])
    return _fixed(shape[3]), _fixed(shape[1]), _fixed(shape[2])


def implied_prior_count(spec: ModelSpec | None, graph: GraphInterface) -> int | None:
    name = spec.output.boxes if spec is not None else "boxes"
    if spec is not None and spec.output.convention not in ("decoded", "raw"):
        return None
    boxes = graph.output(name)
    if boxes is None or boxes.shape is None or len(boxes.shape) < 2:
        return None
    return _fixed(boxes.shape[-2])


def check_spec_against_graph(spec: ModelSpec, graph: GraphInterface, source: str) -> None:
    def fail(message: str) -> ModelDescriptionMismatch:
        return ModelDescriptionMismatch(f"model description {source} does not match the graph: {message}")

    _check_input(spec, graph, fail)
    output = spec.output
    missing = missing_outputs_message(spec, [o.name for o in graph.outputs])
    if missing:
        raise fail(missing)
    if output.convention == "caffe_nms":
        detections = graph.output(output.detections)
        shape = detections.shape if detections is not None else None
        if shape is not None and _fixed(shape[-1]) not in (None, 7):
            raise fail(f"output.detections {output.detections!r} has {shape[-1]} values per row, a Caffe "
                       "DetectionOutput has 7 (image, label, score, x1, y1, x2, y2): name the DetectionOutput "
                       "tensor, or use another output.convention")
        return
    boxes_info, scores_info = graph.output(output.boxes), graph.output(output.scores)
    assert boxes_info is not None and scores_info is not None  # checked above
    boxes = boxes_info.shape
    if boxes is not None and boxes and _fixed(boxes[-1]) not in (None, 4):
        raise fail(f"output.boxes {output.boxes!r} {boxes_info.dims()} has {boxes[-1]} values per box, not 4: "
                   "name the box tensor in output.boxes")
    if output.convention == "tf_nms":
        return
    scores = scores_info.shape
    columns = _fixed(scores[-1]) if scores else None
    if columns is not None and columns != len(spec.labels):
        background = " (background included: labels[0] is the background when background_index is 0)" \
            if spec.background_index is not None else ""
        raise fail(f"labels has {len(spec.labels)} names but output.scores {output.scores!r} {scores_info.dims()} "
                   f"has {columns} score columns: list exactly {columns} labels, one per score column{background}")
    score_rows = _fixed(scores[-2]) if scores and len(scores) >= 2 else None
    box_rows = _fixed(boxes[-2]) if boxes and len(boxes) >= 2 else None
    if score_rows is not None and box_rows is not None and score_rows != box_rows:
        raise fail(f"output.scores {output.scores!r} has {score_rows} rows but output.boxes {output.boxes!r} has "
                   f"{box_rows}: the two must be the same head's outputs; check both names")
    if output.convention == "raw" and spec.priors is not None and box_rows is not None:
        count = prior_count(spec.priors)
        if count != box_rows:
            maps = [list(m) for m in spec.priors.feature_maps]
            raise fail(f"the priors give {count} boxes (feature_maps {maps}) but output.boxes {output.boxes!r} "
                       f"has {box_rows} rows: fix priors.feature_maps and priors.min_sizes / aspect_ratios; "
                       "`ssd-ros model inspect MODEL --model-config SIDECAR` drafts feature_maps from the graph")


def _check_input(spec: ModelSpec, graph: GraphInterface, fail) -> None:
    declared = spec.input
    names = [i.name for i in graph.inputs]
    if declared.name is not None and declared.name not in names:
        raise fail(f"input.name is {declared.name!r} but the graph's inputs are {names}: set input.name to the "
                   "image input, or leave it out when there is only one")
    tensor = next((i for i in graph.inputs if i.name == declared.name), graph.inputs[0] if graph.inputs else None)
    if tensor is None or tensor.shape is None:
        return
    if len(tensor.shape) != 4:
        raise fail(f"the graph's input {tensor.name!r} has shape {tensor.dims()}, not an image batch "
                   "[N, C, H, W] or [N, H, W, C]: this is not an image model, or input.name names the wrong input")
    channels, height, width = _input_sizes(declared.layout, tensor.shape)
    if channels not in (None, 3):
        other = "NHWC" if declared.layout == "NCHW" else "NCHW"
        if _input_sizes(other, tensor.shape)[0] == 3:
            raise fail(f"input.layout is {declared.layout} but the graph's input {tensor.name!r} {tensor.dims()} has "
                       f"its 3 channels {'last' if other == 'NHWC' else 'first'}: set input.layout: {other}")
        raise fail(f"the graph's input {tensor.name!r} {tensor.dims()} has {channels} channels in the declared "
                   f"{declared.layout} layout; ssd_ros feeds 3 (RGB or BGR)")
    if (width is not None and width != declared.width) or (height is not None and height != declared.height):
        graph_size = f"{width if width is not None else '?'}x{height if height is not None else '?'}"
        raise fail(f"input is {declared.width}x{declared.height} (input.width x input.height) but the graph's input "
                   f"{tensor.name!r} {tensor.dims()} is {graph_size}: set input.width: {width or declared.width} "
                   f"and input.height: {height or declared.height}"
                   + (" and the priors for that size (`ssd-ros model inspect` drafts them)"
                      if spec.output.convention == "raw" else ""))
    expected = "uint8" if declared.dtype == "uint8" else "float32"
    if tensor.dtype not in ("?", expected):
        raise fail(f"input.dtype is {declared.dtype} but the graph's input {tensor.name!r} takes {tensor.dtype}: "
                   + ("set input.dtype: uint8 (raw pixels)" if tensor.dtype == "uint8" else
                      "set input.dtype: float32" if tensor.dtype == "float32" else
                      f"ssd_ros feeds float32 or uint8, not {tensor.dtype}"))
