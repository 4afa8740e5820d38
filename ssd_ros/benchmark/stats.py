"""Latency percentiles, output jitter and the trimmed aggregate of repeated runs.

Contract:
- ``latency_summary(latencies_ms)``: count, p50, p95, p99, mean, max (ms); empty input gives NaNs.
- ``jitter_ms(arrivals_ns)``: ros2_benchmark's jitter: for consecutive output intervals, the absolute
  change from one interval to the next; returns its mean and max (ms), NaN with fewer than 3 arrivals.
- ``trimmed_mean(values, drop)``: the mean after dropping the ``drop`` lowest and ``drop`` highest
  values (ros2_benchmark's "5 runs, best and worst dropped"); with too few values to drop that many,
  the plain mean. Each metric is trimmed on its own. NaNs are ignored; all NaN gives NaN.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

NAN = float("nan")


def latency_summary(latencies_ms: Sequence[float]) -> dict[str, float]:
    values = np.asarray(latencies_ms, dtype=np.float64)
    if values.size == 0:
        return {"count": 0, "p50": NAN, "p95": NAN, "p99": NAN, "mean": NAN, "max": NAN}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"count": int(values.size), "p50": float(p50), "p95": float(p95), "p99": float(p99),
            "mean": float(values.mean()), "max": float(values.max())}


def jitter_ms(arrivals_ns: Sequence[int]) -> dict[str, float]:
    arrivals = np.sort(np.asarray(arrivals_ns, dtype=np.int64))
    if arrivals.size < 3:
        return {"mean": NAN, "max": NAN}
    changes = np.abs(np.diff(np.diff(arrivals))) / 1e6
    return {"mean": float(changes.mean()), "max": float(changes.max())}


def trimmed_mean(values: Sequence[float], drop: int = 1) -> float:
    finite = sorted(value for value in values if not math.isnan(value))
    if not finite:
        return NAN
    if drop > 0 and len(finite) > 2 * drop:
        finite = finite[drop:-drop]
    return float(sum(finite) / len(finite))
