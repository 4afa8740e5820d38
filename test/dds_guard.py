"""Watch network interfaces for RTPS (DDS) packets while tests run.

The test session must never let DDS traffic leave the machine. ``RtpsSniffer`` opens a raw
AF_PACKET socket per interface (root only: CAP_NET_RAW) and counts frames whose payload carries
the RTPS magic. test/conftest.py runs one over every non-loopback interface for the whole
session and fails the session if it saw anything; test_dds_containment.py checks the sniffer
itself sees the traffic on loopback, so a silent sniffer cannot pass for a clean network.
"""
from __future__ import annotations

import socket
import threading
from pathlib import Path

ETH_P_ALL = 0x0003
RTPS_MAGIC = b"RTPS"


def interfaces(include_loopback: bool) -> list[str]:
    names = sorted(path.name for path in Path("/sys/class/net").iterdir())
    return [name for name in names if include_loopback or name != "lo"]


class RtpsSniffer:
    def __init__(self, interface_names: list[str]) -> None:
        self.sockets = []
        for name in interface_names:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            sock.bind((name, 0))
            sock.settimeout(0.2)
            self.sockets.append((name, sock))
        self.counts = {name: 0 for name in interface_names}
        self.examples: list[str] = []
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

    def _watch(self, name: str, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                frame = sock.recv(65535)
            except (TimeoutError, OSError):
                continue
            if RTPS_MAGIC in frame:
                self.counts[name] += 1
                if len(self.examples) < 5:
                    self.examples.append(f"{name}: {frame[:64].hex()}")
