"""How many CPU inference threads a backend starts when the user leaves the count to us (0).

Contract: ``usable_cpus()`` is the number of logical CPUs this process may run on (its affinity mask:
taskset, a container's cpuset), ``default_threads()`` one thread per physical core among those (from
Linux sysfs topology; the logical count where the topology is unknown), at least 1, and
``threads_per_run(parallel_runs)`` those threads divided among the runs the caller keeps in flight at
once (the node's ``inference_workers``, evaluation's ``--workers``), at least 1 each.

Why not leave 0 to onnxruntime: its default is one thread per physical core of the whole machine,
ignoring the process's affinity mask (a container limited to 2 of 16 cores gets 8 threads), and it
also pins those threads to cores. Pinned threads suit a machine that does nothing else; in a ROS
node the executor and DDS threads and the other nodes of the robot run on the same cores, and a
pinned inference thread then waits for a busy core while another one idles. Measured on 2 cores
with one other thread busy 30% of the time: 61 frames/s with onnxruntime's default against 72 with
the same two threads set explicitly (unpinned); without the other thread both give 82-88.

Why divide among parallel runs: a small model does not split well across threads (SSDlite320 at
640x480 on 2 cores: one run at a time with 2 threads, 85-95 frames/s; two runs at once with 1 thread
each, 125-132 frames/s and 14.6 ms of CPU per frame against 17-19), while two runs with 2 threads each
oversubscribe the cores (+0-14% over one run at a time).
"""
from __future__ import annotations

import os
from pathlib import Path

_TOPOLOGY = Path("/sys/devices/system/cpu")


def usable_cpus() -> tuple[int, ...]:
    if hasattr(os, "sched_getaffinity"):
        return tuple(sorted(os.sched_getaffinity(0)))
    return tuple(range(os.cpu_count() or 1))


def _core_of(cpu: int) -> tuple[str, str] | None:
    topology = _TOPOLOGY / f"cpu{cpu}" / "topology"
    try:
        return (topology / "physical_package_id").read_text().strip(), (topology / "core_id").read_text().strip()
    except OSError:
        return None


def default_threads() -> int:
    cpus = usable_cpus()
    cores = [_core_of(cpu) for cpu in cpus]
    if any(core is None for core in cores):
        return max(1, len(cpus))
    return max(1, len(set(cores)))


def threads_per_run(parallel_runs: int = 1) -> int:
    return max(1, default_threads() // max(1, parallel_runs))
