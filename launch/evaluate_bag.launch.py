"""Replay a bag into the detector and write the evaluation report (mAP, latency, drops).

    ros2 launch ssd_ros evaluate_bag.launch.py bag:=run_07 gt:=labels.json model:=/path/x.onnx
    ros2 launch ssd_ros evaluate_bag.launch.py bag:=run_07 gt_topic:=/labels report:=out/

Starts the detector with config/eval.yaml (low score threshold for the precision-recall curve) and
`ssd-ros eval --online --running-node`, which publishes the bag's frames at the recorded rate (or
rate:=), records the detector's answers and writes report.json, report.md and plots; the launch
ends when the evaluation does. For a CI gate use `ssd-ros eval ... --min-map` directly: its exit
code is the verdict (ros2 launch does not pass it on).
"""
from launch.actions import EmitEvent, ExecuteProcess, OpaqueFunction, RegisterEventHandler
from launch.event_handlers import OnProcessExit
from launch.events import Shutdown
from launch_ros.substitutions import ExecutableInPackage

from launch import LaunchDescription
from ssd_ros.launch_actions import declare, node_for
from ssd_ros.launch_support import PACKAGE, evaluate_bag_arguments, evaluation_command, evaluation_node_setup


def detector_and_evaluation(context):
    values = dict(context.launch_configurations)
    evaluation = ExecuteProcess(cmd=[ExecutableInPackage("ssd-ros", PACKAGE), *evaluation_command(values)],
                                output="screen", name="ssd_eval")
    return [
        node_for(evaluation_node_setup(values)),
        evaluation,
        RegisterEventHandler(OnProcessExit(target_action=evaluation, on_exit=[
            EmitEvent(event=Shutdown(reason="evaluation finished"))])),
    ]


def generate_launch_description():
    return LaunchDescription([*declare(evaluate_bag_arguments()), OpaqueFunction(function=detector_and_evaluation)])
