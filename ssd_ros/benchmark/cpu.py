"""CPU time of running processes (every thread), for CPU use and CPU time per frame.

Contract: ``cpu_seconds(pid)`` is the user + system CPU time the process has used so far, all its
threads included (not its children): from /proc/<pid>/stat on Linux, else psutil where installed;
``None`` when neither can tell (the report then leaves CPU figures out). ``total_cpu_seconds(pids)``
sums them, ``None`` if any is unknown.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return _psutil_seconds(pid)
    fields = text.rpartition(")")[2].split()  # the command name may hold spaces: fields start after ")"
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14 and 15 of stat)


def _psutil_seconds(pid: int) -> float | None:
    try:
        import psutil
    except ImportError:
        return None
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return float(times.user + times.system)


def total_cpu_seconds(pids: Iterable[int]) -> float | None:
    total = 0.0
    for pid in pids:
        seconds = cpu_seconds(pid)
        if seconds is None:
            return None
        total += seconds
    return total
