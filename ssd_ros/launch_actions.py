"""launch / launch_ros actions built from :mod:`ssd_ros.launch_support` (used by the files in launch/).

This is the only module that imports the launch packages; it is exercised by the launch_pytest
tests where a ROS 2 installation provides them.
"""
from __future__ import annotations

from typing import Any

from launch.actions import DeclareLaunchArgument
from launch_ros.actions import Node

from ssd_ros.launch_support import EXECUTABLE, PACKAGE, LaunchArgument, detector_node_setup
from ssd_ros.node_command import DetectorCommand


def declare(arguments: list[LaunchArgument]) -> list[DeclareLaunchArgument]:
    return [DeclareLaunchArgument(arg.name, description=arg.description,
                                  **({"default_value": arg.default} if arg.default is not None else {}),
                                  **({"choices": list(arg.choices)} if arg.choices else {}))
            for arg in arguments]


def detector_node(context, extra_parameters: dict[str, Any] | None = None) -> Node:
    """The detector Node for the launch configurations resolved in ``context``."""
    return node_for(detector_node_setup(dict(context.launch_configurations), extra_parameters))


def node_for(setup: DetectorCommand) -> Node:
    """A launch_ros Node running the detector as ``setup`` describes."""
    return Node(
        package=PACKAGE, executable=EXECUTABLE, name=setup.name, namespace=setup.namespace,
        parameters=[*(str(path) for path in setup.params_files), dict(setup.parameters)],
        remappings=list(setup.remappings),
        arguments=["--ros-args", "--log-level", setup.log_level], output="screen", emulate_tty=True,
    )
