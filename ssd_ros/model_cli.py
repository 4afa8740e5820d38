"""``ssd-ros model inspect MODEL [--model-config SIDECAR] [--input-size WxH]``: what an ONNX model takes and gives,
and whether its description fits it.

Prints the graph's inputs and outputs (names, dtypes, shapes), the number of priors its head
predicts (the rows of its box output), and the description (the sidecar, else the ssd_ros metadata
in the file) after checking it against the graph (ssd_ros/core/model_check.py, the check every
Detector.load runs). For a raw-output model it drafts the ``priors`` section: with priors in the
description, their feature maps at the graph's input size (or ``--input-size``), counted against
the graph's rows; without, the feature-map grid of each stride at that size and the uniform
boxes-per-cell counts that add up to the rows (docs/model-description.md explains the derivation).

Exit code 0 when the description fits the graph (or there is none to check), 2 with one line on
stderr naming the mismatch and the fix.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

DRAFT_STRIDES = (8, 16, 32, 64, 128, 256)


def add_parser(subparsers) -> None:
    model = subparsers.add_parser("model", help="inspect a model and check its description",
                                  description="Inspect ONNX models and their descriptions.")
    commands = model.add_subparsers(dest="model_command", required=True, metavar="SUBCOMMAND")
    inspect = commands.add_parser("inspect", help="inputs, outputs, prior count and the checked description",
                                  description=__doc__.splitlines()[0])
    inspect.add_argument("model", type=Path, help="ONNX model file")
    inspect.add_argument("--model-config", type=Path, default=None,
                         help="YAML sidecar describing the model (default: the description embedded in the ONNX file)")
    inspect.add_argument("--input-size", default=None, metavar="WxH",
                         help="draft the priors of a raw model for this input size (default: the graph's)")
    inspect.set_defaults(func=run_inspect)


def _size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    parts = text.lower().replace(",", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise ValueError(f"--input-size must be WIDTHxHEIGHT in pixels, e.g. 640x480, got {text!r}")
    return int(parts[0]), int(parts[1])


def _graph_size(spec, graph) -> tuple[int, int] | None:
    """(width, height) of the graph's image input when fixed."""
    from ssd_ros.core.model_check import _input_sizes

    tensor = next((i for i in graph.inputs if spec is None or i.name == spec.input.name), None) \
        or (graph.inputs[0] if graph.inputs else None)
    if tensor is None or tensor.shape is None or len(tensor.shape) != 4:
        return None
    layout = spec.input.layout if spec is not None else ("NHWC" if tensor.shape[-1] == 3 else "NCHW")
    _, height, width = _input_sizes(layout, tensor.shape)
    return (width, height) if width and height else None


def _description(model: Path, config: Path | None):
    """(spec, where it came from), or (None, why there is none)."""
    from ssd_ros.core.spec import METADATA_KEY, load_model_spec, read_onnx_metadata

    if config is not None:
        return load_model_spec(model, config), str(config)
    if METADATA_KEY not in read_onnx_metadata(model):
        return None, ("none: not an ssd_ros export; describe it with a YAML sidecar (--model-config), see "
                      "docs/model-description.md and models/examples/")
    return load_model_spec(model), f"ONNX metadata '{METADATA_KEY}' of {model.name}"


def _yaml(document) -> list[str]:
    import yaml

    return yaml.safe_dump(document, sort_keys=False, default_flow_style=None, width=110).rstrip().splitlines()


OUTPUT_FIELDS = {"decoded": ("scores", "boxes", "box_format", "normalized", "score_activation"),
                 "raw": ("scores", "boxes", "score_activation"),
                 "tf_nms": ("boxes", "classes", "scores", "num_detections", "box_format", "normalized",
                            "class_offset"),
                 "caffe_nms": ("detections", "normalized", "class_offset")}
PRIOR_FIELDS = {"min_sizes": ("scheme", "feature_maps", "min_sizes", "steps", "variances", "clip"),
                "torchvision": ("scheme", "feature_maps", "aspect_ratios", "scales", "min_ratio", "max_ratio",
                                "steps", "variances", "clip")}


def description_document(spec) -> dict:
    """The description as a sidecar would hold it, without the fields its convention and scheme do not read."""
    document = spec.to_dict()
    document.pop("format_version", None)
    document.pop("provenance", None)
    output = document["output"]
    document["output"] = {"convention": output["convention"],
                          **{k: output[k] for k in OUTPUT_FIELDS[output["convention"]]}}
    if "priors" in document:
        priors = document["priors"]
        document["priors"] = {k: priors[k] for k in PRIOR_FIELDS[priors["scheme"]] if priors.get(k) is not None}
    return document


def draft_lines(spec, graph, size: tuple[int, int] | None) -> list[str]:
    """What inspect says about the priors of a raw model (or of a model with no description), as lines."""
    from dataclasses import replace

    from ssd_ros.core.model_check import implied_prior_count
    from ssd_ros.core.priors import boxes_per_cell, feature_maps_for, prior_count

    rows = implied_prior_count(spec, graph)
    graph_size = _graph_size(spec, graph)
    target = size or graph_size
    if spec is not None and spec.priors is not None:
        declared = (spec.input.width, spec.input.height)
        target = target or declared
        maps = feature_maps_for(spec.priors, declared, target)
        drafted = replace(spec.priors, feature_maps=tuple(maps))
        count = prior_count(drafted)
        if target == declared and count == rows:
            return [f"priors: {count}, as many as the graph's rows"]
        if rows is None:
            verdict = "the graph's row count is not fixed: nothing to compare with"
        elif graph_size is not None and target != graph_size:
            verdict = (f"check it against the rows of a graph exported at {target[0]}x{target[1]} (this graph "
                       f"takes {graph_size[0]}x{graph_size[1]} and has {rows} rows)")
        else:
            verdict = f"the graph has {rows} rows: " + (
                "matches" if count == rows else "does not match; derive feature_maps by hand (docs)")
        section = description_document(replace(spec, priors=drafted))["priors"]
        lines = [f"draft priors for a {target[0]}x{target[1]} input (the description's maps are for "
                 f"{declared[0]}x{declared[1]}; {', '.join(map(str, boxes_per_cell(spec.priors)))} boxes per cell):"]
        lines += ["  " + line for line in _yaml({"input": {"width": target[0], "height": target[1]},
                                                 "priors": section})]
        return [*lines, f"  -> {count} priors; {verdict}"]
    if target is None:
        return ["no priors described and no fixed input size in the graph: pass --input-size WxH to see the "
                "feature-map grid"]
    width, height = target
    grid = [(s, math.ceil(height / s), math.ceil(width / s)) for s in DRAFT_STRIDES]
    lines = [f"no priors described; feature maps of a {width}x{height} input, [ceil(H / stride), ceil(W / stride)]:",
             *(f"  stride {s:>3}: [{h}, {w}] = {h * w} cells" for s, h, w in grid)]
    if rows is not None:
        lines.append(f"the graph predicts {rows} boxes = the sum over its maps of cells x boxes per cell")
        for first in range(len(grid)):
            for count in range(2, len(grid) - first + 1):
                chosen = grid[first:first + count]
                cells = sum(h * w for _, h, w in chosen)
                if rows % cells == 0 and rows // cells <= 12:
                    lines.append(f"  fits: feature_maps {[[h, w] for _, h, w in chosen]} (strides "
                                 f"{[s for s, _, _ in chosen]}) with {rows // cells} boxes per cell")
        lines.append("  (the count per map may also differ between maps; the box sizes come from the model's "
                     "authors; see docs/model-description.md)")
    return lines


def run_inspect(args: argparse.Namespace) -> int:
    from ssd_ros.core.model_check import check_spec_against_graph, implied_prior_count, read_graph
    from ssd_ros.core.model_file import check_model_file

    check_model_file(args.model)
    if args.model.suffix.lower() != ".onnx":
        raise ValueError(f"{args.model} is not an .onnx file: model inspect reads ONNX graphs")
    size = _size(args.input_size)
    graph = read_graph(args.model)
    print(f"model: {args.model} (opset {graph.opset}, {graph.producer or 'producer unknown'})")
    print("inputs:")
    for tensor in graph.inputs:
        print(f"  {tensor.name:<24} {tensor.dtype:<8} {tensor.dims()}")
    print("outputs:")
    for tensor in graph.outputs:
        print(f"  {tensor.name:<24} {tensor.dtype:<8} {tensor.dims()}")
    spec, source = _description(args.model, args.model_config)
    rows = implied_prior_count(spec, graph)
    if rows is not None:
        print(f"priors the graph implies: {rows} (rows of output {spec.output.boxes if spec else 'boxes'!r})")
    print(f"description: {source}")
    if spec is not None:
        print("\n".join("  " + line for line in _yaml(description_document(spec))))
        if spec.provenance:
            print(f"  provenance: {', '.join(sorted(spec.provenance))}")
    raw = spec is None or spec.output.convention == "raw"
    if raw and (spec is not None or rows is not None):
        print("\n".join(draft_lines(spec, graph, size)))
    if spec is not None:
        try:
            check_spec_against_graph(spec, graph, source)
        except ValueError as error:
            print("check: FAILED (below)")
            print(f"ssd-ros model inspect: {' '.join(str(error).split())}", file=sys.stderr)
            return 2
        print("check: the description matches the graph")
    return 0
