"""One detector, several cameras: the frames of all cameras are batched through one model.

    ros2 launch ssd_ros multi_camera.launch.py cameras:=/front/image_raw,/rear/image_raw

Each camera gets its own Detection2DArray topic: <camera namespace>/detections
(/front/detections and /rear/detections above).
"""
from launch.actions import OpaqueFunction

from launch import LaunchDescription
from ssd_ros.launch_actions import declare, detector_node
from ssd_ros.launch_support import multi_camera_arguments, multi_camera_parameters


def generate_launch_description():
    return LaunchDescription([
        *declare(multi_camera_arguments()),
        OpaqueFunction(function=lambda context: [
            detector_node(context, multi_camera_parameters(context.launch_configurations["cameras"]))]),
    ])
