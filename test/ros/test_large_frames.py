"""Camera-sized frames cross processes intact, and the Fast DDS profile that makes it so stays loopback-only.

Before config/fastdds_loopback_large_frames.xml, best-effort 640x480 rgb8 frames (900 KB, above Fast
DDS's default 512 KB shared-memory segment) went out as UDP fragments and about a third were lost.
"""
from __future__ import annotations

import os
from xml.etree import ElementTree

import numpy as np
import pytest
from node_fixtures import detector_process
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray

from ssd_ros.resources import share_path
from ssd_ros.ros.conversions import frame_to_image
from ssd_ros.sandbox import FASTDDS_PROFILE, FASTDDS_PROFILE_VARIABLES
from ssd_ros.synthetic import render_scene

NAMESPACE = {"dds": "http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles"}


def test_every_ros_process_gets_the_loopback_only_profile():
    profile = str(share_path(FASTDDS_PROFILE))
    for variable in FASTDDS_PROFILE_VARIABLES:
        assert os.environ.get(variable) == profile, f"{variable} is not set by ssd_ros.sandbox"

    root = ElementTree.parse(profile).getroot()
    descriptors = {d.findtext("dds:transport_id", namespaces=NAMESPACE): d
                   for d in root.iterfind(".//dds:transport_descriptor", NAMESPACE)}
    participant = root.find(".//dds:participant", NAMESPACE)
    used = [t.text for t in participant.iterfind("dds:rtps/dds:userTransports/dds:transport_id", NAMESPACE)]
    assert participant.findtext("dds:rtps/dds:useBuiltinTransports", namespaces=NAMESPACE) == "false", \
        "built-in transports would add a UDP transport on every interface"
    for transport_id in used:
        descriptor = descriptors[transport_id]
        kind = descriptor.findtext("dds:type", namespaces=NAMESPACE)
        assert kind in ("SHM", "UDPv4"), f"unexpected transport {kind}: check it cannot leave the machine"
        if kind == "UDPv4":
            addresses = [a.text for a in descriptor.iterfind("dds:interfaceWhiteList/dds:address", NAMESPACE)]
            assert addresses == ["127.0.0.1"], f"UDP transport {transport_id} is not bound to loopback only"
        else:
            assert int(descriptor.findtext("dds:segment_size", namespaces=NAMESPACE)) >= 4 * 640 * 480 * 3


@pytest.mark.ros
def test_every_640x480_rgb8_frame_reaches_the_node_and_is_answered(graph, tmp_path):
    rng = np.random.default_rng(3)
    frames = [frame_to_image(render_scene(rng, 640, 480)[0], Header(frame_id="camera_optical")) for _ in range(20)]
    assert len(frames[0].data) > 512 * 1024
    answers: dict[int, Detection2DArray] = {}
    client = graph.node("large_frame_camera")
    publisher = client.create_publisher(Image, "/camera/image_raw", qos_profile_sensor_data)
    client.create_subscription(Detection2DArray, "/detections",
                               lambda msg: answers.setdefault(msg.header.stamp.sec, msg),
                               QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
    with detector_process(tmp_path, "-r", "image:=/camera/image_raw", "-p", "publish_debug_image:=false"):
        graph.spin_until(lambda: publisher.get_subscription_count() > 0, timeout=30, what="the node's subscription")
        # Matching completes on each side on its own: until one answer has come back, a frame or its
        # answer may still meet an endpoint that has not matched yet. Counted frames start after that.
        warm_up = frame_to_image(render_scene(rng, 640, 480)[0], Header(frame_id="camera_optical"))
        warm_up.header.stamp.sec = 99

        def answered_warm_up() -> bool:
            publisher.publish(warm_up)
            graph.spin_for(0.2)
            return 99 in answers

        graph.spin_until(answered_warm_up, timeout=30, what="an answer to a warm-up frame")
        for index, msg in enumerate(frames):
            msg.header.stamp.sec = 100 + index
            publisher.publish(msg)
            graph.spin_for(0.1)
        counted = {100 + index for index in range(len(frames))}
        graph.spin_until(lambda: counted <= answers.keys(), timeout=30,
                         what=f"answers to all {len(frames)} frames (got {sorted(answers)})")
    answers.pop(99)
    assert answers.keys() == counted
    assert all(answer.header.frame_id == "camera_optical" for answer in answers.values())
