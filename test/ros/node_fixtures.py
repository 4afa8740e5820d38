"""Starting the detector node as its own process and talking to it like other ROS nodes would."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.msg import ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from ros_helpers import NodeGraph, ros_process

READY_TEXT = "active:"


@contextmanager
def detector_process(tmp_path: Path, *ros_args: str, name: str = "ssd_detector", ready: bool = True,
                     env: dict[str, str] | None = None):
    """``detector --ros-args ...`` exactly as ``ros2 run ssd_ros detector`` would start it (``env``: the test's)."""
    args = ["-m", "ssd_ros.ros.detector_node", "--ros-args", "-r", f"__node:={name}", *ros_args]
    with ros_process(args, tmp_path / f"{name}.log", ready_text=READY_TEXT if ready else None,
                     timeout=120, env=env) as process:
        yield process


def parameter_message(name: str, value) -> ParameterMsg:
    if isinstance(value, bool):
        parameter_value = ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=value)
    elif isinstance(value, int):
        parameter_value = ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=value)
    elif isinstance(value, float):
        parameter_value = ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=value)
    elif isinstance(value, list):
        parameter_value = ParameterValue(type=ParameterType.PARAMETER_STRING_ARRAY, string_array_value=value)
    else:
        parameter_value = ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=value)
    return ParameterMsg(name=name, value=parameter_value)


def set_parameter(graph: NodeGraph, client_node, node_name: str, name: str, value, timeout: float = 120.0):
    """What ``ros2 param set /node name value`` does: call the node's set_parameters service.

    Returns the SetParametersResult (successful, reason).
    """
    return set_parameters(graph, client_node, node_name, {name: value}, timeout)[0]


def set_parameters(graph: NodeGraph, client_node, node_name: str, values: dict, timeout: float = 120.0) -> list:
    """One SetParameters request carrying every parameter of ``values`` (what ``ros2 param load`` sends)."""
    service = f"/{node_name}/set_parameters"
    client = graph.service_client(client_node, SetParameters, service, SetParameters.Request())  # sets nothing
    future = client.call_async(SetParameters.Request(
        parameters=[parameter_message(name, value) for name, value in values.items()]))
    graph.spin_until(future.done, timeout=timeout, what=f"the answer to setting {', '.join(values)}")
    client_node.destroy_client(client)
    return list(future.result().results)
