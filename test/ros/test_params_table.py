"""The parameter table, config/detector.yaml and validation agree."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ssd_ros.ros.params import (
    PARAMETERS,
    PARAMETERS_BY_NAME,
    class_allowlist,
    detection_topic_names,
    validate,
)

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


def test_every_parameter_is_described_and_its_default_is_valid():
    for spec in PARAMETERS:
        assert len(spec.description) > 20, spec.name
    assert validate({spec.name: spec.default for spec in PARAMETERS}) is None


@pytest.mark.parametrize(("values", "fragment"), [
    ({"score_threshold": 1.7}, "score_threshold must be within [0, 1], got 1.7"),
    ({"nms_iou_threshold": -0.1}, "nms_iou_threshold must be within [0, 1]"),
    ({"score_threshold": float("nan")}, "score_threshold must be a finite number"),
    ({"max_detections": 0}, "max_detections must be within [1, 10000]"),
    ({"backend": "tensorflow"}, "backend must be one of 'onnxruntime', 'tensorrt', 'openvino', 'torch'"),
    ({"image_topics": []}, "image_topics must list at least one"),
    ({"image_topics": ["a", "a"]}, "duplicates"),
    ({"image_topics": ["a", "b"], "detection_topics": ["x"]}, "one output per image topic (2), got 1"),
])
def test_invalid_values_are_rejected_with_a_reason(values, fragment):
    reason = validate(values)
    assert reason is not None and fragment in reason


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
