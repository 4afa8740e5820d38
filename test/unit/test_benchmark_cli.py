"""``ssd-ros benchmark``'s options: what they become (GraphSettings, BenchmarkPlan) and what is refused."""
from __future__ import annotations

from pathlib import Path

import pytest

from ssd_ros.benchmark.cli import UsageError, parse_settings
from ssd_ros.cli import build_parser, main


def settings(*options: str):
    return parse_settings(build_parser().parse_args(["benchmark", *options]))


def test_defaults_follow_the_method():
    graph, plan = settings()
    assert (graph.width, graph.height, graph.encoding, graph.cameras, graph.separate_nodes) == (640, 480, "rgb8", 1,
                                                                                                False)
    assert graph.parameters == {}
    assert plan.rates_hz == (10.0, 30.0, 60.0) and (plan.runs, plan.drop) == (5, 1) and plan.peak
    assert (plan.rule.max_loss, plan.rule.max_rate_gap_hz) == (0.05, 5.0)


def test_options_become_graph_and_plan(tmp_path):
    model = tmp_path / "m.onnx"
    graph, plan = settings("--model", str(model), "--backend", "openvino", "--param", "num_threads=1",
                           "--param", "classes=[circle, star]", "--param", "score_threshold=0.3", "--cameras", "4",
                           "--separate-nodes", "--phase", "spread", "--rates", "5,15", "--runs", "3", "--drop", "0",
                           "--seconds", "2", "--no-peak", "--detector-seconds", "0")
    assert graph.parameters == {"num_threads": 1, "classes": ["circle", "star"], "score_threshold": 0.3,
                                "model_path": str(model.resolve()), "backend": "openvino"}
    assert (graph.cameras, graph.separate_nodes, graph.phase) == (4, True, "spread")
    assert [command.name for command in graph.node_commands()] == [f"ssd_ros_benchmark_detector_{i}" for i in range(4)]
    assert plan.rates_hz == (5.0, 15.0) and (plan.runs, plan.drop, plan.seconds) == (3, 0, 2.0)
    assert not plan.peak and plan.detector_s == 0.0


def test_one_node_batches_every_camera():
    graph, _ = settings("--cameras", "3")
    (command,) = graph.node_commands()
    arguments = " ".join(command.ros_arguments())
    assert "image_topics:=['/ssd_ros_benchmark/camera0/image','/ssd_ros_benchmark/camera1/image'," in arguments
    assert "detection_topics:=['/ssd_ros_benchmark/camera0/detections'," in arguments


@pytest.mark.parametrize("options, message", [
    (["--param", "image_topics=[a]"], "sets the topics itself"),
    (["--param", "no_such_parameter=1"], "no parameters"),
    (["--param", "score_threshold=2"], "score_threshold must be within"),
    (["--param", "num_threads"], "not NAME=VALUE"),
    (["--rates", "10,fast"], "comma-separated"),
    (["--rates", "0"], "must be positive"),
    (["--peak-min", "50", "--peak-max", "10"], "above --peak-max"),
    (["--runs", "0"], "--runs must be at least 1"),
])
def test_bad_options_are_refused_with_the_reason(options, message):
    with pytest.raises(UsageError, match=message):
        settings(*options)


def test_the_command_line_reports_a_bad_option_in_one_line(capsys):
    assert main(["benchmark", "--rates", "0", "--output", str(Path("unused"))]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("ssd-ros benchmark: --rates must be positive") and "\n" not in error
