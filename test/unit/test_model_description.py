"""Model descriptions against their graphs: the load-time check (one line naming both numbers, exit 2 in the
command lines), ``ssd-ros model inspect`` on the UltraFace raw and decoded examples and on mismatched sidecars
of the default model, the priors drafted for another input size, ``priors.steps`` in the min_sizes scheme, and
docs/model-description.md agreeing with the code's fields and defaults."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from model_faults import default_description, default_model_sidecar

from ssd_ros.cli import main as ssd_ros_main
from ssd_ros.core import Detector
from ssd_ros.core.model_check import ModelDescriptionMismatch
from ssd_ros.core.priors import feature_maps_for, prior_boxes, prior_count
from ssd_ros.core.spec import InputSpec, ModelSpec, ModelSpecError, OutputSpec, PriorSpec
from ssd_ros.resources import default_model_path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "models" / "examples"
DEFAULT = default_model_path()
# torchvision SSDlite's head read as raw: 6 boxes per cell on maps of stride 16 .. 512 (3234 rows at 320x320)
SSDLITE_PRIORS = {"scheme": "torchvision", "aspect_ratios": [[2.0, 3.0]] * 6, "min_ratio": 0.2, "max_ratio": 0.95}


def inspect(capsys, *args) -> tuple[int, str, str]:
    code = ssd_ros_main(["model", "inspect", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def raw_sidecar(path: Path, width: int, height: int, feature_maps: list[list[int]]) -> Path:
    return default_model_sidecar(path, {"width": width, "height": height},
                                 output={"convention": "raw", "scores": "scores", "boxes": "boxes"},
                                 priors={**SSDLITE_PRIORS, "feature_maps": feature_maps})


# ------------------------------------------------------------------------------ the UltraFace examples
@pytest.fixture(scope="module")
def ultraface(shared_dir) -> Path:
    return shared_dir / "models" / "ultraface"


def test_inspect_ultraface_decoded(ultraface, capsys):
    code, out, err = inspect(capsys, ultraface / "version-RFB-320.onnx", "--model-config",
                             EXAMPLES / "ultraface-rfb-320.yaml")
    assert code == 0, err
    assert re.search(r"\n  input +float32 +\[1, 3, 240, 320\]\n", out)
    assert re.search(r"\n  scores +float32 +\[1, 4420, 2\]\n  boxes +float32 +\[1, 4420, 4\]\n", out)
    assert "priors the graph implies: 4420 (rows of output 'boxes')" in out
    assert "labels: [background, face]" in out and "convention: decoded" in out
    assert out.rstrip().endswith("check: the description matches the graph") and "draft" not in out


def test_inspect_ultraface_raw_and_its_priors_at_another_input_size(ultraface, capsys):
    model, sidecar = ultraface / "version-RFB-320_without_postprocessing.onnx", EXAMPLES / "ultraface-rfb-320-raw.yaml"
    code, out, err = inspect(capsys, model, "--model-config", sidecar)
    assert code == 0, err
    assert "priors: 4420, as many as the graph's rows" in out and "scheme: min_sizes" in out
    code, out, err = inspect(capsys, model, "--model-config", sidecar, "--input-size", "640x480")
    assert code == 0, err
    # the authors' configuration for their 640x480 model: feature maps (w) 80, 40, 20, 10 and (h) 60, 30, 15, 8
    assert "draft priors for a 640x480 input" in out
    drafted = yaml.safe_load("\n".join(line[2:] for line in out.split("input (the description")[1].splitlines()[1:]
                                       if line.startswith("  ") and not line.startswith("  ->")))
    assert drafted["priors"]["feature_maps"] == [[60, 80], [30, 40], [15, 20], [8, 10]]
    assert drafted["input"] == {"width": 640, "height": 480}
    assert "-> 17640 priors" in out
    code, out, _ = inspect(capsys, model)  # no sidecar: the grid of each stride to derive one from
    assert code == 0 and "description: none: not an ssd_ros export" in out
    assert "stride   8: [30, 40] = 1200 cells" in out and "stride  64: [4, 5] = 20 cells" in out


# --------------------------------------------------------------- mismatched sidecars (no ../shared needed)
def test_inspect_default_model_with_its_own_description(capsys):
    code, out, err = inspect(capsys, DEFAULT)
    assert code == 0, err
    assert "priors the graph implies: 3234" in out and "labels: [background, circle, square, star, triangle]" in out


@pytest.mark.parametrize("changes, expected", [
    ({"input_changes": {"width": 300, "height": 300}},
     r"input is 300x300 \(input.width x input.height\) but the graph's input 'images' \[batch, 3, 320, 320\] is "
     r"320x320: set input.width: 320 and input.height: 320"),
    ({"labels": ["background", "face"]},
     r"labels has 2 names but output.scores 'scores' \[batch, 3234, 5\] has 5 score columns: list exactly 5 labels"),
    ({"input_changes": {"layout": "NHWC"}}, r"input.layout is NHWC but .* channels first: set input.layout: NCHW"),
    ({"input_changes": {"dtype": "uint8"}}, r"input.dtype is uint8 but the graph's input 'images' takes float32"),
    ({"output": {"convention": "decoded", "scores": "confidences", "boxes": "boxes"}},
     r"the model has no output output.scores='confidences'; its outputs are \['scores', 'boxes'\]"),
])
def test_a_mismatched_sidecar_is_one_line_and_exit_2_in_inspect_detect_and_the_detector(tmp_path, capsys, changes,
                                                                                         expected):
    sidecar = default_model_sidecar(tmp_path / "wrong.yaml", **changes)
    code, out, err = inspect(capsys, DEFAULT, "--model-config", sidecar)
    assert code == 2 and "inputs:" in out and "check: FAILED" in out  # the graph is still shown, to fix it by
    assert len(err.strip().splitlines()) == 1 and re.search(expected, err), err
    assert err.startswith(f"ssd-ros model inspect: model description {sidecar} does not match the graph: ")
    image = tmp_path / "frame.png"
    cv2.imwrite(str(image), np.zeros((48, 64, 3), np.uint8))
    assert ssd_ros_main(["detect", "--model", str(DEFAULT), "--model-config", str(sidecar), str(image)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and re.search(expected, err) and "Traceback" not in err
    with pytest.raises(ModelDescriptionMismatch, match=expected):
        Detector.load(DEFAULT, sidecar)


def test_a_wrong_prior_count_names_both_numbers(tmp_path, capsys):
    maps = [[20, 20], [10, 10], [5, 5], [3, 3], [2, 2], [2, 2]]  # the last map 2x2 instead of 1x1: 18 boxes more
    sidecar = raw_sidecar(tmp_path / "raw.yaml", 320, 320, maps)
    code, _, err = inspect(capsys, DEFAULT, "--model-config", sidecar)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "the priors give 3252 boxes (feature_maps [[20, 20], [10, 10], [5, 5], [3, 3], [2, 2], [2, 2]]) but " \
           "output.boxes 'boxes' has 3234 rows: fix priors.feature_maps" in err
    with pytest.raises(ModelDescriptionMismatch, match=r"3252 boxes .* 3234 rows"):
        Detector.load(DEFAULT, sidecar)


def test_inspect_drafts_the_feature_maps_of_the_graphs_input_size_and_counts_them_against_its_rows(tmp_path, capsys):
    """A raw description written for 512x512 (maps 32 .. 1) on the 320x320 graph: the check names the size, and
    the draft for 320x320 (maps 20, 10, 5, 3, 2, 1) gives exactly the graph's 3234 rows."""
    sidecar = raw_sidecar(tmp_path / "raw512.yaml", 512, 512, [[32, 32], [16, 16], [8, 8], [4, 4], [2, 2], [1, 1]])
    code, out, err = inspect(capsys, DEFAULT, "--model-config", sidecar)
    assert code == 2 and "input is 512x512" in err and "set input.width: 320 and input.height: 320" in err
    assert "draft priors for a 320x320 input (the description's maps are for 512x512; 6, 6, 6, 6, 6, 6 boxes" in out
    assert "- [20, 20]\n    - [10, 10]\n    - [5, 5]\n    - [3, 3]\n    - [2, 2]\n    - [1, 1]" in out
    assert "-> 3234 priors; the graph has 3234 rows: matches" in out
    fixed = raw_sidecar(tmp_path / "raw320.yaml", 320, 320, [[20, 20], [10, 10], [5, 5], [3, 3], [2, 2], [1, 1]])
    code, out, err = inspect(capsys, DEFAULT, "--model-config", fixed)
    assert code == 0 and "priors: 3234, as many as the graph's rows" in out, err


# ------------------------------------------------------------------------------------------- the priors
def test_feature_maps_at_another_size_known_answers():
    ultraface = PriorSpec("min_sizes", ((30, 40), (15, 20), (8, 10), (4, 5)),
                          min_sizes=((10, 16, 24), (32, 48), (64, 96), (128, 192, 256)))
    assert feature_maps_for(ultraface, (320, 240), (640, 480)) == [(60, 80), (30, 40), (15, 20), (8, 10)]
    assert feature_maps_for(ultraface, (320, 240), (160, 120)) == [(15, 20), (8, 10), (4, 5), (2, 3)]
    assert prior_count(ultraface) == 4420 == len(prior_boxes(ultraface, 320, 240))
    with_steps = dataclasses.replace(ultraface, steps=(8, 16, 32, 64))
    assert feature_maps_for(with_steps, (320, 240), (300, 300)) == [(38, 38), (19, 19), (10, 10), (5, 5)]


def test_min_sizes_priors_use_steps_and_reject_a_wrong_count():
    base = PriorSpec("min_sizes", ((8, 10),), min_sizes=((64,),), clip=False)
    grid = prior_boxes(base, 320, 240)
    strided = prior_boxes(dataclasses.replace(base, steps=(32,)), 320, 240)
    # rows of an 8-row map over 240 px: on the map's own grid at (j + 0.5) / 8, with step 32 at (j + 0.5) * 32 / 240
    np.testing.assert_allclose(grid[::10, 1], (np.arange(8) + 0.5) / 8, rtol=1e-6)
    np.testing.assert_allclose(strided[::10, 1], (np.arange(8) + 0.5) * 32 / 240, rtol=1e-6)
    np.testing.assert_allclose(strided[:10, 0], grid[:10, 0], rtol=1e-6)  # 320 / 32 = 10 columns: the same
    document = {**default_description(), "output": {"convention": "raw"},
                "priors": {"scheme": "min_sizes", "feature_maps": [[8, 10], [4, 5]], "min_sizes": [[64], [128]],
                           "steps": [32]}}
    with pytest.raises(ModelSpecError, match=r"field 'priors.steps' must have one positive stride in input pixels "
                                             r"per feature map \(2\), got \[32\]"):
        ModelSpec.from_dict(document, "test")


# --------------------------------------------------------------------------- docs/model-description.md
def _canonical(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_canonical(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def code_fields() -> dict[str, str]:
    """Every description field as the page names it (section.field), with its default ("required": none)."""
    fields = {}
    for prefix, cls in (("", ModelSpec), ("input.", InputSpec), ("output.", OutputSpec), ("priors.", PriorSpec)):
        for field in dataclasses.fields(cls):
            if field.name in ("input", "output", "priors") and cls is ModelSpec:
                continue
            if field.default is not dataclasses.MISSING:
                default = _canonical(field.default)
            elif field.default_factory is not dataclasses.MISSING:
                default = _canonical(field.default_factory()) if field.name != "provenance" else "{}"
            else:
                default = "required"
            fields[prefix + field.name] = default
    return fields


def test_the_schema_page_lists_exactly_the_codes_fields_with_their_defaults():
    page = (REPO / "docs" / "model-description.md").read_text()
    rows = re.findall(r"^\| `([a-z_.]+)` \| ([^|]+) \| ([^|]+) \|", page, re.MULTILINE)
    documented = {name: default.strip().replace("`", "") for name, _, default in rows}
    fields = code_fields()
    assert set(documented) - {"format_version"} == set(fields), (
        f"in the code, not on the page: {sorted(set(fields) - set(documented))}; on the page, not in the code: "
        f"{sorted(set(documented) - set(fields) - {'format_version'})}")
    wrong = {name: (documented[name], default) for name, default in fields.items()
             if not documented[name].startswith(default)}
    assert not wrong, f"defaults on the page differ from the code (page, code): {wrong}"
    assert "`ssd-ros model inspect" in page and "feature_maps" in page and "res10" in page
