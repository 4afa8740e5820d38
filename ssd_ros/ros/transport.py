"""The DDS transport of every ssd_ros process that publishes or receives camera frames.

Contract: :func:`configure_transport` runs before ``rclpy.init`` in the detector node, ``ssd-ros eval
--online``, ``ssd-ros bag`` tools that talk DDS, the demo and the benchmarks. It changes only this
process's environment, and only when the user has not configured DDS:

- no DDS settings in the environment and Fast DDS as the RMW (the default of Humble and Jazzy):
  Fast DDS loads config/fastdds_large_frames.xml (a 16 MB shared-memory segment; UDP on every
  interface as usual), so frames above Fast DDS's 512 KB default segment are not lost in UDP
  fragments. It names no interface: a robot's node still reaches other machines.
- any Fast DDS profile or builtin-transport variable set, a discovery server, or another RMW
  (Cyclone DDS, Zenoh, ...): left exactly as the user set it, and the returned description says so
  (the node logs it once at start-up).

Loopback-only settings are not made here: they belong to tests, CI and ``tools/run``
(:mod:`ssd_ros.sandbox`). No rclpy import: this must run before rclpy initialises.
"""
from __future__ import annotations

import os
from collections.abc import MutableMapping
from dataclasses import dataclass

from ssd_ros.resources import share_path

LARGE_FRAMES_PROFILE = "config/fastdds_large_frames.xml"
# Fast DDS 2.x (Humble, Jazzy) reads the first name, Fast DDS 3.x (Kilted and newer) the second.
PROFILE_VARIABLES = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")
# Any of these set means the user chose how Fast DDS talks: we do not override it.
USER_DDS_VARIABLES = (*PROFILE_VARIABLES, "FASTDDS_BUILTIN_TRANSPORTS", "RMW_FASTRTPS_USE_QOS_FROM_XML",
                      "ROS_DISCOVERY_SERVER")
FAST_DDS_RMWS = ("", "rmw_fastrtps_cpp", "rmw_fastrtps_dynamic_cpp")


@dataclass(frozen=True)
class TransportChoice:
    applied_profile: str | None  # the profile this call set, None when the user's settings were kept
    description: str  # one line for the log


def configure_transport(environ: MutableMapping[str, str] | None = None) -> TransportChoice:
    """Give Fast DDS the large-frame profile unless the user configured DDS (see the module contract)."""
    environ = os.environ if environ is None else environ
    rmw = environ.get("RMW_IMPLEMENTATION", "")
    if rmw not in FAST_DDS_RMWS:
        return TransportChoice(None, f"RMW_IMPLEMENTATION={rmw}: its transport settings are yours "
                               "(frames above its message-size limits may need its own tuning)")
    chosen = {name: environ[name] for name in USER_DDS_VARIABLES if environ.get(name)}
    if chosen:
        settings = ", ".join(f"{name}={value}" for name, value in chosen.items())
        return TransportChoice(None, f"Fast DDS as you configured it ({settings}); ssd_ros's large-frame "
                               f"profile ({LARGE_FRAMES_PROFILE}) not applied")
    profile = str(share_path(LARGE_FRAMES_PROFILE))
    for name in PROFILE_VARIABLES:
        environ[name] = profile
    return TransportChoice(profile, f"Fast DDS large-frame profile {profile} (16 MB shared memory; "
                           "set FASTRTPS_DEFAULT_PROFILES_FILE to use your own)")


def discovery_range(environ: MutableMapping[str, str] | None = None) -> str:
    """How far discovery reaches under ``environ``, as one phrase for the log."""
    environ = os.environ if environ is None else environ
    if environ.get("ROS_LOCALHOST_ONLY") == "1":
        return "discovery on this machine only (ROS_LOCALHOST_ONLY=1)"
    scope = environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE", "")
    if scope:
        return f"discovery range {scope} (ROS_AUTOMATIC_DISCOVERY_RANGE)"
    return "discovery on the whole subnet (ROS's default)"
