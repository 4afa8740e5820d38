"""Start the SSD detector on one camera topic.

    ros2 launch ssd_ros detect.launch.py image:=/camera/image_raw model:=/path/x.onnx

Arguments, their defaults (from config/detector.yaml) and descriptions live in
ssd_ros.launch_support, where they are tested on machines without the launch packages;
`ros2 launch ssd_ros detect.launch.py --show-args` lists them.
"""
from launch.actions import OpaqueFunction

from launch import LaunchDescription
from ssd_ros.launch_actions import declare, detector_node
from ssd_ros.launch_support import detector_arguments


def generate_launch_description():
    return LaunchDescription([
        *declare(detector_arguments()),
        OpaqueFunction(function=lambda context: [detector_node(context)]),
    ])
