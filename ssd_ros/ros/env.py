"""The one place that decides the DDS environment of every ROS process ssd_ros starts.

Tests, ``make demo``, benchmarks and CI all go through :func:`localhost_environ` (directly, or
by running ``python -m ssd_ros.ros.env COMMAND...``), so DDS discovery never leaves the
machine and concurrent runs never share a domain:

- ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` (Iron and newer) and ``ROS_LOCALHOST_ONLY=1``
  (Humble, still honoured by Jazzy) keep discovery and traffic on the loopback interface.
- ``ROS_DOMAIN_ID`` is claimed with an exclusive file lock, so two test sessions, a demo and a
  benchmark running at once each get their own domain. The lock lives as long as the
  process that claimed it (and is inherited across ``exec``).
- Fast DDS loads config/fastdds_loopback_large_frames.xml: a 16 MB shared-memory segment so camera
  frames above 512 KB are not lost in UDP fragments, and UDP bound to 127.0.0.1 (read the file for
  the measurements behind it). Other RMW implementations ignore it.

No rclpy import here: this must run before rclpy initialises.
"""
from __future__ import annotations

import fcntl
import os
import sys
import tempfile
from pathlib import Path

from ssd_ros.resources import share_path

LOCALHOST_ONLY = {
    "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
    "ROS_LOCALHOST_ONLY": "1",
}
FASTDDS_PROFILE = "config/fastdds_loopback_large_frames.xml"
# Fast DDS 2.x (Humble, Jazzy) reads the first name, Fast DDS 3.x (Kilted and newer) the second.
FASTDDS_PROFILE_VARIABLES = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")
_SET_VARIABLES = (*LOCALHOST_ONLY, *FASTDDS_PROFILE_VARIABLES, "ROS_DOMAIN_ID")
# Domain ids 0..101 are safe on every OS for the default port mapping; 0 is everyone's default,
# so claims start at 1 and stay clear of robots on the same machine using the default.
FIRST_DOMAIN, LAST_DOMAIN = 1, 101
_LOCK_DIR = Path(tempfile.gettempdir()) / "ssd_ros-domain-locks"
_held_locks: dict[int, int] = {}


class NoFreeDomainError(RuntimeError):
    pass


def claim_domain_id() -> int:
    """Lock and return a ROS domain id no other ssd_ros process on this machine holds."""
    _LOCK_DIR.mkdir(parents=True, exist_ok=True)
    start = FIRST_DOMAIN + os.getpid() % (LAST_DOMAIN - FIRST_DOMAIN + 1)
    span = LAST_DOMAIN - FIRST_DOMAIN + 1
    for offset in range(span):
        domain = FIRST_DOMAIN + (start - FIRST_DOMAIN + offset) % span
        if domain in _held_locks:
            continue
        fd = os.open(_LOCK_DIR / f"{domain}.lock", os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        _held_locks[domain] = fd
        return domain
    raise NoFreeDomainError(
        f"all ROS domain ids {FIRST_DOMAIN}..{LAST_DOMAIN} are locked by other ssd_ros processes "
        f"(lock files in {_LOCK_DIR}); stop leftover test or demo processes and retry"
    )


def release_domain_id(domain: int) -> None:
    fd = _held_locks.pop(domain, None)
    if fd is not None:
        os.close(fd)


def localhost_environ(domain_id: int | None = None, base: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default: os.environ) with loopback-only DDS and a claimed domain id."""
    env = dict(os.environ if base is None else base)
    env.update(LOCALHOST_ONLY)
    profile = str(share_path(FASTDDS_PROFILE))
    env.update({variable: profile for variable in FASTDDS_PROFILE_VARIABLES})
    env["ROS_DOMAIN_ID"] = str(claim_domain_id() if domain_id is None else domain_id)
    return env


def apply_localhost_environ(domain_id: int | None = None) -> int:
    """Set loopback-only DDS and a claimed domain id in this process's environment; return the id."""
    env = localhost_environ(domain_id)
    os.environ.update({key: env[key] for key in _SET_VARIABLES})
    return int(env["ROS_DOMAIN_ID"])


def main(argv: list[str] | None = None) -> None:
    """``python -m ssd_ros.ros.env COMMAND [ARGS...]``: run COMMAND in the loopback-only environment."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        sys.exit("usage: python -m ssd_ros.ros.env COMMAND [ARGS...]")
    domain = apply_localhost_environ()
    os.set_inheritable(_held_locks[domain], True)  # the command keeps the domain locked
    os.execvp(args[0], args)


if __name__ == "__main__":
    main()
