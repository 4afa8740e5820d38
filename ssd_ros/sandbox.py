"""The DDS sandbox of ssd_ros's own runs: tests, CI, ``make demo`` / ``make bench`` and ``tools/run``.

Everything these runs start goes through :func:`localhost_environ` (directly, or by running
``python -m ssd_ros.sandbox [--own-domain] COMMAND...``), so DDS never leaves the machine:

- Discovery and traffic stay on the loopback interface. Jazzy and newer honour
  ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` (and warn about the deprecated ``ROS_LOCALHOST_ONLY``,
  so it is not set there); Humble (and older) know only ``ROS_LOCALHOST_ONLY=1``. The distribution
  is ``ROS_DISTRO`` when a ROS 2 installation is sourced, else Jazzy (the PyPI-wheel environment).
- Fast DDS loads config/fastdds_loopback_large_frames.xml: the large shared-memory segment of the
  robot profile (:mod:`ssd_ros.ros.transport`) plus UDP bound to 127.0.0.1. The loopback whitelist
  belongs here, to the sandbox, never to what a robot runs.
- ``ROS_DOMAIN_ID``: with ``--own-domain`` (tests, demo, benchmarks) an id locked with an exclusive
  file lock, so concurrent runs never share a domain (the lock lives as long as the process that
  claimed it and is inherited across ``exec``); without it (interactive ``tools/run``) the user's
  ``ROS_DOMAIN_ID``, else :data:`INTERACTIVE_DOMAIN_ID`, so two terminals see each other.

No rclpy import here: this must run before rclpy initialises.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import sys
import tempfile
from pathlib import Path

from ssd_ros.resources import share_path

# ROS_LOCALHOST_ONLY is the only loopback switch up to Humble (Iron introduced the discovery range).
DISTROS_WITHOUT_DISCOVERY_RANGE = ("foxy", "galactic", "humble")
# ROS's own default: a plain second terminal (no ROS_DOMAIN_ID set) joins the same graph.
INTERACTIVE_DOMAIN_ID = 0
FASTDDS_PROFILE = "config/fastdds_loopback_large_frames.xml"
# Fast DDS 2.x (Humble, Jazzy) reads the first name, Fast DDS 3.x (Kilted and newer) the second.
FASTDDS_PROFILE_VARIABLES = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")
_SET_VARIABLES = ("ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_LOCALHOST_ONLY", *FASTDDS_PROFILE_VARIABLES, "ROS_DOMAIN_ID")
# Domain ids 0..101 are safe on every OS for the default port mapping; 0 is everyone's default,
# so claims start at 1 and stay clear of robots on the same machine using the default.
FIRST_DOMAIN, LAST_DOMAIN = 1, 101
# Per user, mode 0700, owned by the user, never followed through a symlink: a shared, world-writable
# folder would let another user plant symlinks (O_CREAT would then create or open files elsewhere).
_LOCK_DIR = Path(tempfile.gettempdir()) / f"ssd_ros-domain-locks-{os.getuid()}"
_held_locks: dict[int, int] = {}
# Every id this process claimed, also after release. The test session's DDS guard watches their ports;
# child processes that claim their own append theirs to the file this variable names.
claimed_domains: set[int] = set()
DOMAIN_LOG_VARIABLE = "SSD_ROS_DOMAIN_LOG"


class NoFreeDomainError(RuntimeError):
    pass


def _private_lock_dir() -> Path:
    """The lock folder, created 0700; refused unless it is a real folder of this user that others cannot write."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(_LOCK_DIR, 0o700)
    info = os.lstat(_LOCK_DIR)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise NoFreeDomainError(f"the domain lock folder {_LOCK_DIR} is not a folder of this user (a symlink or "
                                "another user's): remove it and retry")
    if info.st_mode & 0o077:
        os.chmod(_LOCK_DIR, 0o700)  # ours and a real folder (lstat): close it to others
    return _LOCK_DIR


def claim_domain_id() -> int:
    """Lock and return a ROS domain id no other ssd_ros process on this machine holds."""
    lock_dir = _private_lock_dir()
    start = FIRST_DOMAIN + os.getpid() % (LAST_DOMAIN - FIRST_DOMAIN + 1)
    span = LAST_DOMAIN - FIRST_DOMAIN + 1
    for offset in range(span):
        domain = FIRST_DOMAIN + (start - FIRST_DOMAIN + offset) % span
        if domain in _held_locks:
            continue
        try:
            fd = os.open(lock_dir / f"{domain}.lock", os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600)
        except OSError:  # e.g. a symlink planted there (ELOOP): never followed, that domain is skipped
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        _held_locks[domain] = fd
        claimed_domains.add(domain)
        log = os.environ.get(DOMAIN_LOG_VARIABLE)
        if log:
            with open(log, "a") as claims:
                claims.write(f"{domain}\n")
        return domain
    raise NoFreeDomainError(
        f"all ROS domain ids {FIRST_DOMAIN}..{LAST_DOMAIN} are locked by other ssd_ros processes "
        f"(lock files in {_LOCK_DIR}); stop leftover test or demo processes and retry"
    )


def release_domain_id(domain: int) -> None:
    fd = _held_locks.pop(domain, None)
    if fd is not None:
        os.close(fd)


def loopback_variables(distro: str | None) -> dict[str, str | None]:
    """The variables that keep DDS on loopback for ``distro`` (None: unset the variable)."""
    if (distro or "jazzy").lower() in DISTROS_WITHOUT_DISCOVERY_RANGE:
        return {"ROS_LOCALHOST_ONLY": "1", "ROS_AUTOMATIC_DISCOVERY_RANGE": None}
    return {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST", "ROS_LOCALHOST_ONLY": None}


def localhost_environ(domain_id: int | None = None, base: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default: os.environ) with loopback-only DDS and ``domain_id`` (None: claim one)."""
    env = dict(os.environ if base is None else base)
    for name, value in loopback_variables(env.get("ROS_DISTRO")).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    profile = str(share_path(FASTDDS_PROFILE))
    env.update({variable: profile for variable in FASTDDS_PROFILE_VARIABLES})
    env["ROS_DOMAIN_ID"] = str(claim_domain_id() if domain_id is None else domain_id)
    return env


def apply_localhost_environ(domain_id: int | None = None) -> int:
    """Set loopback-only DDS and ``domain_id`` (None: a claimed one) in this process; return the id."""
    env = localhost_environ(domain_id)
    for key in _SET_VARIABLES:
        if key in env:
            os.environ[key] = env[key]
        else:
            os.environ.pop(key, None)
    return int(env["ROS_DOMAIN_ID"])


def interactive_domain_id(environ: dict[str, str] | os._Environ[str] = os.environ) -> int:
    """The user's ``ROS_DOMAIN_ID``, or :data:`INTERACTIVE_DOMAIN_ID` when it is unset or empty."""
    text = environ.get("ROS_DOMAIN_ID", "").strip()
    if not text:
        return INTERACTIVE_DOMAIN_ID
    if not text.isdecimal() or not 0 <= int(text) <= 232:
        raise SystemExit(f"ROS_DOMAIN_ID={text!r} is not a ROS domain id: use a whole number 0..232 "
                         "(0..101 work with every OS's port range), or unset it")
    return int(text)


USAGE = """usage: python -m ssd_ros.sandbox [--own-domain] COMMAND [ARGS...]
  Run COMMAND with DDS kept on the loopback interface.
  --own-domain  lock a ROS_DOMAIN_ID for COMMAND alone (tests, demo, benchmarks); without it the
                user's ROS_DOMAIN_ID is kept, or 0 when none is set, so other terminals see the graph."""


def main(argv: list[str] | None = None) -> None:
    """``python -m ssd_ros.sandbox [--own-domain] COMMAND [ARGS...]`` (what ``tools/run`` runs)."""
    args = sys.argv[1:] if argv is None else argv
    own_domain = args[:1] == ["--own-domain"]
    if own_domain:
        args = args[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args or args[0] in ("-h", "--help"):
        sys.exit(USAGE)
    if own_domain:
        domain = apply_localhost_environ()
        os.set_inheritable(_held_locks[domain], True)  # the command keeps the domain locked
    else:
        apply_localhost_environ(interactive_domain_id())
    os.execvp(args[0], args)


if __name__ == "__main__":
    main()
