"""The detector node's command line, built in one place for launch files, evaluation, the demo and benchmarks.

Contract: ``DetectorCommand`` describes one ssd_detector process as plain values (no ROS import):
node name and namespace, params files, parameter overrides, remappings, log level.
- ``ros_arguments()``: what follows the executable, exactly what ``ros2 run ssd_ros detector`` /
  a launch_ros ``Node`` action passes: ``--ros-args --log-level L -r __node:=N [-r __ns:=/NS]
  [--params-file F]... [-p name:=value]... [-r from:=to]...``; values are rendered as ROS parameter
  YAML (booleans true/false, lists ``['a','b']``, the empty string ``''``).
- ``python_command()``: ``[python, -u, -m, ssd_ros.ros.detector_node, *ros_arguments()]``, the same
  node through this interpreter (what ``ros2 run`` executes, without needing the ros2 command line).
Overrides win over params files, as in ROS (the later source wins).
"""
from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NODE_NAME = "ssd_detector"
NODE_MODULE = "ssd_ros.ros.detector_node"


def parameter_text(value: Any) -> str:
    """A parameter value as ``-p name:=VALUE`` text (YAML, as rcl parses it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(f"'{item}'" for item in value) + "]"
    if isinstance(value, str):
        return "''" if value == "" else value
    if isinstance(value, Path):
        return str(value)
    return str(value)


@dataclass(frozen=True)
class DetectorCommand:
    name: str = NODE_NAME
    namespace: str = ""
    params_files: Sequence[Path] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)
    remappings: Sequence[tuple[str, str]] = ()
    log_level: str = "info"

    def ros_arguments(self) -> list[str]:
        arguments = ["--ros-args", "--log-level", self.log_level, "-r", f"__node:={self.name}"]
        if self.namespace:
            namespace = self.namespace if self.namespace.startswith("/") else "/" + self.namespace
            arguments += ["-r", f"__ns:={namespace}"]
        for params_file in self.params_files:
            arguments += ["--params-file", str(params_file)]
        for name, value in self.parameters.items():
            arguments += ["-p", f"{name}:={parameter_text(value)}"]
        for source, target in self.remappings:
            arguments += ["-r", f"{source}:={target}"]
        return arguments

    def python_command(self) -> list[str]:
        return [sys.executable, "-u", "-m", NODE_MODULE, *self.ros_arguments()]
