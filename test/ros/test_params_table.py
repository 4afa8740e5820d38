"""The parameter table, config/detector.yaml and validation agree."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ssd_ros.core import PostprocessConfig
from ssd_ros.ros.params import (
    PARAMETERS,
    PARAMETERS_BY_NAME,
    class_allowlist,
    config_file_values,
    default,
    validate,
)
from ssd_ros.topics import detection_topic_names

REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON_TYPES = {"bool": bool, "integer": int, "double": float, "string": str, "string_array": list}


def detector_yaml() -> dict:
    return yaml.safe_load((REPO_ROOT / "config" / "detector.yaml").read_text())["/**"]["ros__parameters"]


def test_detector_yaml_lists_every_parameter_with_its_default():
    values = detector_yaml()
    assert set(values) == set(PARAMETERS_BY_NAME)
    for spec in PARAMETERS:
        assert type(values[spec.name]) is PYTHON_TYPES[spec.type_name], spec.name
        assert values[spec.name] == spec.default, spec.name


@pytest.mark.parametrize("config_file", ["eval.yaml", "jetson.yaml"])
def test_profile_configs_hold_only_what_differs_from_the_table(config_file):
    values = yaml.safe_load((REPO_ROOT / "config" / config_file).read_text())["/**"]["ros__parameters"]
    assert values, config_file
    for name, value in values.items():
        assert value != PARAMETERS_BY_NAME[name].default, f"{config_file}: {name} repeats the table's default"
    assert config_file_values(config_file) == {spec.name: values.get(spec.name, spec.default) for spec in PARAMETERS}


def test_core_postprocess_defaults_are_the_tables():
    """core cannot import the node's table, so its library defaults are pinned to it here."""
    core = PostprocessConfig()
    for name in ("score_threshold", "nms_iou_threshold", "max_detections", "top_k_candidates"):
        assert getattr(core, name) == PARAMETERS_BY_NAME[name].default, name


def test_the_command_lines_take_their_defaults_from_the_table():
    import argparse

    from ssd_ros import detect_cli
    from ssd_ros.eval import cli as eval_cli
    from ssd_ros.eval.online import OnlineSettings

    parser = argparse.ArgumentParser()
    detect_cli.add_parser(parser.add_subparsers())
    detect = parser.parse_args(["detect", "--model", "m.onnx", "x.jpg"])
    assert (detect.score_threshold, detect.nms_iou, detect.max_detections, detect.backend) == (
        default("score_threshold"), default("nms_iou_threshold"), default("max_detections"), default("backend"))
    evaluation = config_file_values("eval.yaml")
    cli_defaults = (eval_cli.SCORE_THRESHOLD, eval_cli.MAX_DETECTIONS)
    assert cli_defaults == (evaluation["score_threshold"], evaluation["max_detections"])
    online = OnlineSettings()
    assert (online.score_threshold, online.max_detections) == (evaluation["score_threshold"],
                                                               evaluation["max_detections"])


def test_every_parameter_is_described_and_its_default_is_valid():
    for spec in PARAMETERS:
        assert len(spec.description) > 20, spec.name
    assert validate({spec.name: spec.default for spec in PARAMETERS}) is None


@pytest.mark.parametrize(("values", "fragment"), [
    ({"score_threshold": 1.7}, "score_threshold must be within [0, 1], got 1.7"),
    ({"nms_iou_threshold": -0.1}, "nms_iou_threshold must be within [0, 1]"),
    ({"score_threshold": float("nan")}, "score_threshold must be a finite number"),
    ({"max_detections": 0}, "max_detections must be within [1, 10000]"),
    ({"backend": "tensorflow"}, "backend must be one of 'auto', 'onnxruntime', 'tensorrt', 'openvino', 'torch'"),
    ({"image_topics": []}, "image_topics must list at least one"),
    ({"image_topics": ["a", "a"]}, "duplicates"),
    ({"image_topics": ["a", "b"], "detection_topics": ["x"]}, "one output per image topic (2), got 1"),
    ({"class_score_thresholds": ["person:0.4"]}, "'person:0.4' is not CLASS=THRESHOLD"),
    ({"class_score_thresholds": ["person=1.4"]}, "threshold in [0, 1]"),
    ({"class_score_thresholds": ["a=0.1", "a=0.2"]}, "names a class twice"),
])
def test_invalid_values_are_rejected_with_a_reason(values, fragment):
    reason = validate(values)
    assert reason is not None and fragment in reason


def test_class_thresholds_name_unknown_and_background_classes():
    from ssd_ros.ros.params import class_thresholds

    labels = ("background", "circle", "square", "triangle")
    assert class_thresholds(["square=0.6", "1=0.3"], labels, 0) == ((2, 0.6), (1, 0.3))
    with pytest.raises(ValueError, match=r"class_score_thresholds has entries the model does not know: \['hexagon'\]"):
        class_thresholds(["hexagon=0.5"], labels, 0)
    with pytest.raises(ValueError, match="background class"):
        class_thresholds(["background=0.5"], labels, 0)


def test_class_allowlist_accepts_names_and_ids_and_names_unknown_entries():
    labels = ("background", "circle", "square", "triangle")
    assert class_allowlist([], labels, 0) is None
    assert class_allowlist(["square", "3"], labels, 0) == frozenset({2, 3})
    with pytest.raises(ValueError, match=r"\['hexagon'\].*\['circle', 'square', 'triangle'\]"):
        class_allowlist(["circle", "hexagon"], labels, 0)


def test_output_topics_follow_the_cameras():
    assert detection_topic_names(["image"], []) == ["detections"]
    assert detection_topic_names(["/left/image_raw", "right/image_raw"], []) == ["/left/detections",
                                                                                 "right/detections"]
    assert detection_topic_names(["a", "b"], ["x", "y"]) == ["x", "y"]


def test_the_typed_parameters_mirror_the_table():
    import dataclasses
    import typing

    from ssd_ros.ros.params import NodeParameters

    hints = typing.get_type_hints(NodeParameters)
    expected = {"bool": bool, "integer": int, "double": float, "string": str, "string_array": tuple[str, ...]}
    assert [field.name for field in dataclasses.fields(NodeParameters)] == [spec.name for spec in PARAMETERS]
    for spec in PARAMETERS:
        assert hints[spec.name] == expected[spec.type_name], spec.name
    defaults = NodeParameters.from_values({spec.name: spec.default for spec in PARAMETERS})
    assert defaults.replaced({"score_threshold": 0.7}).score_threshold == 0.7
    assert defaults.replaced({"classes": ["circle"]}).classes == ("circle",)
