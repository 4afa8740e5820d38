"""jetson.launch.py's camera drivers, against the drivers' own topic and parameter names.

Checked in the drivers' sources: gscam (ros-drivers/gscam, ros2) advertises ``camera/image_raw``
and ``camera/camera_info`` and takes ``image_encoding`` rgb8 | mono8 | yuv422 (UYVY) | jpeg;
v4l2_camera publishes ``image_raw`` / ``camera_info``, takes ``time_per_frame`` as an integer
[numerator, denominator] and converts on the CPU whenever ``output_encoding`` (default rgb8)
differs from the capture's (YUYV -> yuv422_yuy2); usb_cam's ``yuyv`` format publishes
yuv422_yuy2 unconverted. The detector decodes all of these itself (ssd_ros/camera_frames.py).
"""
from __future__ import annotations

import pytest

from ssd_ros import launch_support
from ssd_ros.camera_frames import SUPPORTED_ENCODINGS


def values(**changes: str) -> dict[str, str]:
    return {**{arg.name: arg.default or "" for arg in launch_support.jetson_arguments()}, **changes}


def test_camera_info_reaches_the_topic_beside_the_image_for_every_driver():
    for setup in (launch_support.jetson_camera_setup(values(camera="csi")),
                  launch_support.jetson_camera_setup(values()),
                  launch_support.jetson_camera_setup(values(usb_driver="usb_cam"))):
        remaps = dict(setup.remappings)
        published = ("camera/image_raw", "camera/camera_info") if setup.package == "gscam" else ("image_raw",
                                                                                                "camera_info")
        assert remaps == {published[0]: "camera/image_raw", published[1]: "camera/camera_info"}, setup.package


def test_drivers_publish_yuv_without_cpu_conversion_in_an_encoding_the_node_decodes():
    csi = launch_support.jetson_camera_setup(values(camera="csi", sensor_id="1", fps="15"))
    assert csi.parameters["image_encoding"] == "yuv422" and "yuv422" in SUPPORTED_ENCODINGS
    assert csi.parameters["gscam_config"].endswith("nvvidconv ! video/x-raw,format=UYVY"), "UYVY is gscam's yuv422"
    assert "videoconvert" not in csi.parameters["gscam_config"] and "framerate=15/1" in csi.parameters["gscam_config"]
    v4l2 = launch_support.jetson_camera_setup(values(fps="15"))
    assert v4l2.parameters["output_encoding"] == "yuv422_yuy2" and "yuv422_yuy2" in SUPPORTED_ENCODINGS
    assert v4l2.parameters["time_per_frame"] == [1, 15], "v4l2_camera's frame rate is an integer [num, den] period"
    usb_cam = launch_support.jetson_camera_setup(values(usb_driver="usb_cam", fps="15"))
    assert (usb_cam.parameters["pixel_format"], usb_cam.parameters["framerate"]) == ("yuyv", 15.0)
    with pytest.raises(ValueError, match="fps must be a positive"):
        launch_support.jetson_camera_setup(values(fps="0"))
