"""Model descriptions (errors name the field and the fix) and pre-processing (both resize modes)."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from ssd_ros.core import ImageError, ModelSpec, ModelSpecError, load_model_spec
from ssd_ros.core.preprocess import Preprocessor
from ssd_ros.core.spec import InputSpec

VALID = {
    "input": {"width": 320, "height": 240, "mean": [127, 127, 127], "std": [128, 128, 128]},
    "labels": ["background", "face"],
    "output": {"convention": "raw"},
    "priors": {"scheme": "min_sizes", "feature_maps": [[30, 40]], "min_sizes": [[10, 16]]},
}


def broken(path: str, value):
    document = copy.deepcopy(VALID)
    *parents, key = path.split(".")
    target = document
    for parent in parents:
        target = target[parent]
    if value is KeyError:
        del target[key]
    else:
        target[key] = value
    return document


@pytest.mark.parametrize(("path", "value", "message"), [
    ("labels", KeyError, "field 'labels' is missing; list the class names"),
    ("input.width", KeyError, "field 'input.width' is missing; set the model's input width"),
    ("input.width", "320", "field 'input.width' must be int"),
    ("input.layout", "CHW", "field 'input.layout' must be one of NCHW, NHWC"),
    ("input.std", [1, 0, 1], "field 'input.std' has a zero"),
    ("input.mean", [1, 2], "field 'input.mean' must be a list of 3 numbers"),
    ("output.convention", "yolo", "field 'output.convention' must be one of decoded, raw, tf_nms, caffe_nms"),
    ("priors", KeyError, "field 'priors' is missing or not a mapping"),
    ("priors.min_sizes", [[10], [20]], "field 'priors.min_sizes' must have one list per feature map (1)"),
    ("background_index", 5, "field 'background_index' is 5 but there are 2 labels"),
])
def test_wrong_or_missing_fields_name_the_field_and_the_fix(path, value, message, tmp_path):
    sidecar = tmp_path / "model.yaml"
    sidecar.write_text(yaml.safe_dump(broken(path, value)))
    with pytest.raises(ModelSpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ModelSpec.from_yaml(sidecar)


def test_spec_round_trips_through_yaml_and_onnx_metadata(tmp_path):
    spec = ModelSpec.from_dict(VALID)
    spec.to_yaml(tmp_path / "spec.yaml")
    assert ModelSpec.from_yaml(tmp_path / "spec.yaml") == spec
    assert ModelSpec.from_onnx_metadata(spec.to_onnx_metadata()) == spec


def test_models_without_a_description_say_how_to_describe_them(tmp_path):
    with pytest.raises(ModelSpecError, match="does not exist"):
        load_model_spec(tmp_path / "missing.onnx")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00not a model" * 10)
    with pytest.raises(ModelSpecError, match="not a readable ONNX model"):
        load_model_spec(garbage)
    with pytest.raises(ModelSpecError, match="YAML sidecar"):
        ModelSpec.from_onnx_metadata({}, "third_party.onnx")


def test_stretch_normalises_and_maps_boxes_back():
    spec = InputSpec(width=4, height=2, mean=(10, 20, 30), std=(2, 4, 5), color="bgr")
    frame = np.full((4, 8, 3), (50, 60, 70), np.uint8)  # rgb
    tensor, transform = Preprocessor(spec)(frame, "rgb")
    assert tensor.shape == (1, 3, 2, 4) and tensor.dtype == np.float32
    # model wants bgr: channel 0 is blue (70); (70 - 10) / 2 = 30
    assert tensor[0, :, 0, 0].tolist() == [30.0, (60 - 20) / 4, (50 - 30) / 5]
    assert transform.to_frame(np.array([[1.0, 0.5, 3.0, 2.0]])).tolist() == [[2.0, 1.0, 6.0, 4.0]]


def test_letterbox_keeps_aspect_pads_with_the_mean_and_maps_back():
    spec = InputSpec(width=8, height=8, mean=(100, 100, 100), std=(1, 1, 1), resize="letterbox", layout="NHWC")
    frame = np.full((2, 4, 3), 200, np.uint8)  # 4 wide, 2 high -> scaled 2x to 8x4, padded 2 rows top/bottom
    tensor, transform = Preprocessor(spec)(frame, "rgb")
    assert tensor.shape == (1, 8, 8, 3)
    assert (tensor[0, :2] == 0).all() and (tensor[0, 6:] == 0).all() and (tensor[0, 2:6] == 100).all()
    assert (transform.scale_x, transform.scale_y, transform.pad_x, transform.pad_y) == (2.0, 2.0, 0, 2)
    assert transform.to_frame(np.array([[0.0, 2.0, 8.0, 6.0], [-4, -4, 20, 20]])).tolist() == [
        [0.0, 0.0, 4.0, 2.0], [0.0, 0.0, 4.0, 2.0]]


def test_views_of_larger_buffers_and_uint8_models_work():
    rgba = np.zeros((6, 6, 4), np.uint8)
    rgba[..., 0] = 255
    tensor, _ = Preprocessor(InputSpec(width=6, height=6, dtype="uint8", layout="NHWC"))(rgba[:, :, :3], "rgb")
    assert tensor.dtype == np.uint8 and tensor[0, 0, 0].tolist() == [255, 0, 0]


@pytest.mark.parametrize(("image", "message"), [
    (np.zeros((4, 4), np.uint8), "expected an H x W x 3 colour image"),
    (np.zeros((4, 4, 3), np.float32), "expected uint8 pixels"),
    (np.zeros((0, 4, 3), np.uint8), "empty image"),
    ([[1, 2, 3]], "expected a numpy array"),
])
def test_bad_images_are_rejected_clearly(image, message):
    with pytest.raises(ImageError, match=message):
        Preprocessor(InputSpec(width=4, height=4))(image, "rgb")
