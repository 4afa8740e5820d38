"""Static checks of launch/ and config/ that run where the launch packages are not installable.

The launch files are thin wrappers over ssd_ros.launch_support; these tests check that content:
arguments are described (with choices where the set is fixed), every parameter set by a launch
file or a config YAML is declared by the node with the same type, and every referenced file is
installed by setup.py.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from ssd_ros import launch_support
from ssd_ros.ros.params import PARAMETERS_BY_NAME

REPO_ROOT = Path(__file__).resolve().parents[2]
LAUNCH_FILES = sorted((REPO_ROOT / "launch").glob("*.launch.py"))
PYTHON_TYPES = {"bool": bool, "integer": int, "double": float, "string": str, "string_array": list}
ARGUMENT_TABLES = {
    "detect.launch.py": launch_support.detector_arguments,
    "multi_camera.launch.py": launch_support.multi_camera_arguments,
    "jetson.launch.py": launch_support.jetson_arguments,
    "evaluate_bag.launch.py": launch_support.evaluate_bag_arguments,
}
# Parameters rclpy declares on every node.
BUILTIN_PARAMETERS = {"use_sim_time": bool}


def test_every_launch_file_is_covered_here():
    assert {path.name for path in LAUNCH_FILES} == set(ARGUMENT_TABLES)


@pytest.mark.parametrize("launch_file", LAUNCH_FILES, ids=lambda path: path.name)
def test_launch_files_are_valid_python_without_eval(launch_file):
    tree = ast.parse(launch_file.read_text(), filename=str(launch_file))
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert not ({"eval", "exec", "PythonExpression"} & (names | attributes | imported))
    assert "generate_launch_description" in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


@pytest.mark.parametrize("table", list(ARGUMENT_TABLES.values()), ids=list(ARGUMENT_TABLES))
def test_every_argument_is_described_and_its_default_is_a_valid_choice(table):
    arguments = table()
    assert len({arg.name for arg in arguments}) == len(arguments), "duplicate argument names"
    for arg in arguments:
        assert len(arg.description) > 15, arg.name
        if arg.choices is not None and arg.default is not None:
            assert arg.default in arg.choices, arg.name


# A non-default value for every launch argument that maps to a node parameter.
GIVEN_ARGUMENTS = {"model": "/models/x.onnx", "model_config": "/models/x.yaml", "backend": "openvino",
                   "device": "GPU", "precision": "fp32", "score_threshold": "0.3", "image_transport": "compressed",
                   "use_sim_time": "true"}


def test_every_parameter_argument_is_covered_here():
    assert set(GIVEN_ARGUMENTS) == set(launch_support.ARGUMENT_PARAMETERS)


@pytest.mark.parametrize("table", list(ARGUMENT_TABLES.values()), ids=list(ARGUMENT_TABLES))
def test_parameters_set_by_launch_arguments_are_declared_with_the_same_type(table):
    values = {arg.name: arg.default for arg in table()}
    values.update({name: text for name, text in GIVEN_ARGUMENTS.items() if name in values})
    setup = launch_support.detector_node_setup(values, {"image_topics": ["a", "b"]})
    assert set(setup.parameters) == {launch_support.ARGUMENT_PARAMETERS[name][0] for name in GIVEN_ARGUMENTS
                                      if name in values} | {"image_topics"}
    for name, value in setup.parameters.items():
        if name in BUILTIN_PARAMETERS:
            assert type(value) is BUILTIN_PARAMETERS[name]
            continue
        assert name in PARAMETERS_BY_NAME, f"{name} is not a parameter of the detector node"
        assert type(value) is PYTHON_TYPES[PARAMETERS_BY_NAME[name].type_name], name


@pytest.mark.parametrize("table", list(ARGUMENT_TABLES.values()), ids=list(ARGUMENT_TABLES))
def test_parameter_arguments_not_given_leave_every_parameter_to_the_params_file(table):
    """The bug this guards: defaults passed as overrides made a user's params_file powerless."""
    values = {arg.name: arg.default for arg in table()}
    for name in launch_support.ARGUMENT_PARAMETERS:
        if name in values:
            assert values[name] == launch_support.NOT_GIVEN, f"{name} has a default, so it would override params_file"
    assert launch_support.detector_node_setup(values).parameters == {}


def test_launch_arguments_name_the_effective_default_of_their_params_file():
    jetson = {arg.name: arg for arg in launch_support.jetson_arguments()}
    assert "tensorrt" in jetson["backend"].description and "config/jetson.yaml" in jetson["backend"].description
    detect = {arg.name: arg for arg in launch_support.detector_arguments()}
    assert "0.5" in detect["score_threshold"].description
    evaluate = {arg.name: arg for arg in launch_support.evaluate_bag_arguments()}
    assert "0.01" in evaluate["score_threshold"].description


def test_a_malformed_launch_argument_is_named():
    values = {arg.name: arg.default for arg in launch_support.detector_arguments()}
    with pytest.raises(ValueError, match=r"score_threshold:=high: expected a number"):
        launch_support.detector_node_setup({**values, "score_threshold": "high"})


@pytest.mark.parametrize("config_file", sorted((REPO_ROOT / "config").glob("*.yaml")), ids=lambda path: path.name)
def test_config_parameters_are_declared_by_the_node_with_the_same_type(config_file):
    document = yaml.safe_load(config_file.read_text())
    for node_name, section in document.items():
        parameters = section["ros__parameters"]
        if node_name not in ("/**", "ssd_detector", "/ssd_detector"):
            continue
        for name, value in parameters.items():
            assert name in PARAMETERS_BY_NAME, f"{config_file.name}: {name} is not declared by the node"
            assert type(value) is PYTHON_TYPES[PARAMETERS_BY_NAME[name].type_name], f"{config_file.name}: {name}"


def test_jetson_camera_drivers_get_their_own_parameters():
    defaults = {arg.name: arg.default for arg in launch_support.jetson_arguments()}
    usb = launch_support.jetson_camera_setup(defaults)
    assert (usb.package, usb.parameters["image_size"]) == ("v4l2_camera", [1280, 720])
    assert ("image_raw", "camera/image_raw") in usb.remappings
    csi = launch_support.jetson_camera_setup({**defaults, "camera": "csi", "sensor_id": "1"})
    assert csi.package == "gscam" and "nvarguscamerasrc sensor-id=1" in csi.parameters["gscam_config"]
    usb_cam = launch_support.jetson_camera_setup({**defaults, "usb_driver": "usb_cam"})
    assert (usb_cam.executable, usb_cam.parameters["image_width"]) == ("usb_cam_node_exe", 1280)


def test_multi_camera_argument_becomes_the_image_topics_list():
    assert launch_support.multi_camera_parameters(" /a/image_raw, /b/image_raw ") == {
        "image_topics": ["/a/image_raw", "/b/image_raw"]}
    with pytest.raises(ValueError, match="at least one image topic"):
        launch_support.multi_camera_parameters(" , ")


def test_files_the_launch_files_use_are_installed_by_setup_py():
    setup_source = (REPO_ROOT / "setup.py").read_text()
    for folder in ("launch", "config", "models"):
        assert f'*tree("{folder}")' in setup_source
    for table in ARGUMENT_TABLES.values():
        params_file = Path({arg.name: arg.default for arg in table()}["params_file"])
        assert params_file.is_file() and params_file.parent.name == "config"
    assert (REPO_ROOT / "resource" / "ssd_ros").is_file()


def test_evaluate_bag_feeds_the_replayed_topic_to_the_node_and_reads_its_answers():
    values = {arg.name: arg.default for arg in launch_support.evaluate_bag_arguments()}
    values.update(bag="run_07", gt="labels.json", image_topic="/front/image_raw/compressed",
                  image_transport="compressed", min_map="0.5")
    setup = launch_support.evaluation_node_setup(values)
    assert ("image", "/front/image_raw") in setup.remappings  # the node appends /compressed itself
    assert ("detections", launch_support.EVALUATION_DETECTIONS_TOPIC) in setup.remappings
    assert setup.params_files[0].name == "eval.yaml" and setup.parameters == {"image_transport": "compressed"}
    command = launch_support.evaluation_command(values)
    assert command[:2] == ["eval", "--bag"] and "--running-node" in command
    assert command[command.index("--detections-topic") + 1] == launch_support.EVALUATION_DETECTIONS_TOPIC
    assert command[command.index("--min-map") + 1] == "0.5" and "--match" not in command
    with pytest.raises(ValueError, match="ground truth"):
        launch_support.evaluation_command({**values, "gt": ""})
    with pytest.raises(ValueError, match="bag is required"):
        launch_support.evaluation_command({**values, "bag": None})
