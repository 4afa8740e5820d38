"""Watch network interfaces for RTPS (DDS) packets of the test session's domains while tests run.

The test session must never let its DDS traffic leave the machine. ``RtpsSniffer`` opens a raw
AF_PACKET socket per interface (root only: CAP_NET_RAW) and counts frames that carry the RTPS magic
in a UDP datagram, by the ROS domain their destination port belongs to: with the standard RTPS port
mapping every port of domain ``d`` lies in ``7400 + 250 * d ... 7400 + 250 * d + 249``.
test/conftest.py runs one over every non-loopback interface for the whole session and fails the
session only for the domains the session used (other processes on the machine, e.g. a robot on
domain 0, are none of its business); test_dds_containment.py checks the sniffer sees the session's
traffic on loopback, so a silent sniffer cannot pass for a clean network.
"""
from __future__ import annotations

import socket
import struct
import threading
from collections import Counter
from pathlib import Path

ETH_P_ALL = 0x0003
RTPS_MAGIC = b"RTPS"
PORT_BASE, DOMAIN_GAIN = 7400, 250  # RTPS well-known port mapping (DDSI-RTPS 2.x, section 9.6.1.1)
UNKNOWN_DOMAIN = -1


def interfaces(include_loopback: bool) -> list[str]:
    names = sorted(path.name for path in Path("/sys/class/net").iterdir())
    return [name for name in names if include_loopback or name != "lo"]


def domain_of_port(port: int) -> int:
    """The ROS domain id whose RTPS ports include ``port``, or UNKNOWN_DOMAIN outside the mapping."""
    return (port - PORT_BASE) // DOMAIN_GAIN if port >= PORT_BASE else UNKNOWN_DOMAIN


def rtps_destination_port(frame: bytes) -> int | None:
    """The UDP destination port of an Ethernet frame carrying RTPS, or None when it carries none."""
    offset, ethertype = (14, struct.unpack_from("!H", frame, 12)[0]) if len(frame) >= 14 else (0, 0)
    if ethertype == 0x8100 and len(frame) >= 18:  # one VLAN tag
        offset, ethertype = 18, struct.unpack_from("!H", frame, 16)[0]
    if ethertype == 0x0800 and len(frame) >= offset + 20:
        header_length = (frame[offset] & 0x0F) * 4
        if frame[offset + 9] != 17:
            return None
        udp = offset + header_length
    elif ethertype == 0x86DD and len(frame) >= offset + 40:
        if frame[offset + 6] != 17:
            return None
        udp = offset + 40
    else:
        return None
    if len(frame) < udp + 8 or frame[udp + 8:udp + 12] != RTPS_MAGIC:
        return None
    return struct.unpack_from("!H", frame, udp + 2)[0]


class RtpsSniffer:
    def __init__(self, interface_names: list[str]) -> None:
        self.sockets = []
        for name in interface_names:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            sock.bind((name, 0))
            sock.settimeout(0.2)
            self.sockets.append((name, sock))
        self.counts: dict[str, Counter[int]] = {name: Counter() for name in interface_names}  # domain -> packets
        self.examples: dict[tuple[str, int], str] = {}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._watch, args=(name, sock), daemon=True)
                         for name, sock in self.sockets]

    def __enter__(self) -> RtpsSniffer:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        for _, sock in self.sockets:
            sock.close()

    def packets(self, domains: set[int]) -> dict[str, int]:
        """RTPS packets seen per interface for ``domains``."""
        return {name: sum(count for domain, count in counts.items() if domain in domains)
                for name, counts in self.counts.items()}

    def _watch(self, name: str, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                frame = sock.recv(65535)
            except (TimeoutError, OSError):
                continue
            port = rtps_destination_port(frame)
            if port is None:
                continue
            domain = domain_of_port(port)
            self.counts[name][domain] += 1
            self.examples.setdefault((name, domain), f"{name}: UDP port {port}: {frame[:64].hex()}")
