"""DDS traffic between processes stays on loopback; the sniffer that guards the session really sees it."""
from __future__ import annotations

import struct

import pytest
from dds_guard import UNKNOWN_DOMAIN, RtpsSniffer, domain_of_port, interfaces, rtps_destination_port
from ros_helpers import ros_process
from vision_msgs.msg import Detection2DArray

pytestmark = pytest.mark.ros


def test_cross_process_dds_traffic_stays_on_loopback(graph, ros_domain, tmp_path):
    try:
        sniffer = RtpsSniffer(interfaces(include_loopback=True))
    except PermissionError:
        pytest.skip("capturing packets needs root (CAP_NET_RAW)")
    received = []
    listener = graph.node("containment_listener")
    listener.create_subscription(Detection2DArray, "peer/detections", received.append, 10)
    with sniffer, ros_process(["test/ros/peer_publisher.py"], tmp_path / "peer.log", ready_text="peer ready"):
        graph.spin_until(lambda: len(received) >= 5, timeout=30, what="five messages from the peer process")

    seen = sniffer.packets({ros_domain})
    assert seen["lo"] > 0, ("the sniffer saw no RTPS of the test's domain on loopback: it is not working, the "
                            f"check is void (domains seen: {dict(sniffer.counts['lo'])})")
    leaked = {name: count for name, count in seen.items() if name != "lo" and count}
    assert not leaked, f"RTPS packets left loopback: {leaked}, e.g. {sniffer.examples}"


def test_the_guard_attributes_packets_to_domains_by_port():
    assert [domain_of_port(port) for port in (7400, 7401, 7410, 7649, 7650, 7900 + 10 + 2 * 3, 1024)] == [
        0, 0, 0, 0, 1, 2, UNKNOWN_DOMAIN]
    header = bytes(12) + b"\x08\x00"
    ip = bytes([0x45]) + bytes(8) + bytes([17]) + bytes(10)
    rtps = header + ip + struct.pack("!HHHH", 40000, 7650 + 11, 28, 0) + b"RTPS" + bytes(16)
    assert rtps_destination_port(rtps) == 7661
    assert rtps_destination_port(header + ip + struct.pack("!HHHH", 40000, 7661, 28, 0) + b"HTTP" + bytes(16)) is None
