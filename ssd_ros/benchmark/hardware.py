"""The host a benchmark ran on, named in its report: CPU model, cores, memory, OS, ROS and library versions.

Contract: ``describe_host()`` returns a JSON-ready dict and never raises: what cannot be read is
``None`` (or absent from ``versions``). CPU model from /proc/cpuinfo (``model name``, or ``Model``
on Arm boards such as Jetsons), else ``platform.processor()``; ``cpus_usable`` is the CPU affinity of
this process (a container's share), ``cpus_logical`` the machine's.
"""
from __future__ import annotations

import contextlib
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

# Distributions whose versions decide the numbers (ROS from PyPI wheels is "ros-rclpy"; a ROS install has none).
VERSIONED = ("onnxruntime", "onnxruntime-gpu", "openvino", "tensorrt", "numpy", "opencv-python-headless",
             "ros-rclpy", "ros-rmw-fastrtps-cpp")


def cpu_model() -> str | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model") and value.strip():
                return value.strip()
    return platform.processor() or None


def memory_gib() -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 ** 2, 1)
    return None


def versions() -> dict[str, str]:
    found = {}
    for name in VERSIONED:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def describe_host() -> dict[str, Any]:
    usable, found = None, versions()
    with contextlib.suppress(AttributeError, OSError):
        usable = len(os.sched_getaffinity(0))
    return {
        "cpu_model": cpu_model(),
        "cpus_logical": os.cpu_count(),
        "cpus_usable": usable,
        "memory_gib": memory_gib(),
        "machine": platform.machine(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "ros_distro": os.environ.get("ROS_DISTRO") or (f"PyPI wheels, ros-rclpy {found['ros-rclpy']}"
                                                       if "ros-rclpy" in found else None),
        "rmw": os.environ.get("RMW_IMPLEMENTATION") or "rmw_fastrtps_cpp (default)",
        "versions": found,
    }


def host_line(host: dict[str, Any]) -> str:
    """One line naming the host, for report headings."""
    cores = host.get("cpus_usable") or host.get("cpus_logical")
    libraries = ", ".join(f"{name} {version}" for name, version in host.get("versions", {}).items()
                          if name in ("onnxruntime", "onnxruntime-gpu", "openvino", "tensorrt"))
    return (f"{host.get('cpu_model') or 'unknown CPU'}, {cores} cores usable, {host.get('memory_gib')} GiB, "
            f"{host.get('machine')}, Python {host.get('python')}, ROS {host.get('ros_distro')}"
            + (f", {libraries}" if libraries else ""))
