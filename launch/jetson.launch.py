"""A Jetson camera and the detector on TensorRT (FP16 by default), engine built and cached on first start.

    ros2 launch ssd_ros jetson.launch.py camera:=usb            # v4l2_camera (or usb_driver:=usb_cam)
    ros2 launch ssd_ros jetson.launch.py camera:=csi sensor_id:=0   # gscam on nvarguscamerasrc

The first start builds the TensorRT engine from the ONNX model (minutes on an Orin Nano) and caches
it in engine_cache_dir; later starts load it in seconds. Defaults come from config/jetson.yaml.
"""
from launch.actions import OpaqueFunction
from launch_ros.actions import Node

from launch import LaunchDescription
from ssd_ros.launch_actions import declare, detector_node
from ssd_ros.launch_support import jetson_arguments, jetson_camera_setup


def camera_and_detector(context):
    camera = jetson_camera_setup(dict(context.launch_configurations))
    return [
        Node(package=camera.package, executable=camera.executable, name=camera.name,
             namespace=context.launch_configurations["namespace"], parameters=[camera.parameters],
             remappings=camera.remappings, output="screen"),
        detector_node(context),
    ]


def generate_launch_description():
    return LaunchDescription([*declare(jetson_arguments()), OpaqueFunction(function=camera_and_detector)])
