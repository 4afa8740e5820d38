"""DDS traffic between processes stays on loopback; the sniffer that guards the session really sees it."""
from __future__ import annotations

import pytest
from dds_guard import RtpsSniffer, interfaces
from ros_helpers import ros_process
from vision_msgs.msg import Detection2DArray

pytestmark = pytest.mark.ros


def test_cross_process_dds_traffic_stays_on_loopback(graph, tmp_path):
    try:
        sniffer = RtpsSniffer(interfaces(include_loopback=True))
    except PermissionError:
        pytest.skip("capturing packets needs root (CAP_NET_RAW)")
    received = []
    listener = graph.node("containment_listener")
    listener.create_subscription(Detection2DArray, "peer/detections", received.append, 10)
    with sniffer, ros_process(["test/ros/peer_publisher.py"], tmp_path / "peer.log", ready_text="peer ready"):
        graph.spin_until(lambda: len(received) >= 5, timeout=30, what="five messages from the peer process")

    assert sniffer.counts["lo"] > 0, "the sniffer saw no RTPS on loopback: it is not working, the check is void"
    leaked = {name: count for name, count in sniffer.counts.items() if name != "lo" and count}
    assert not leaked, f"RTPS packets left loopback: {leaked}, e.g. {sniffer.examples}"
