"""Per-camera counters and timings behind the node's /diagnostics, kept ROS-free.

Contract: counters only grow (received, processed, dropped, failed by kind); ``snapshot`` turns the
change since the previous snapshot into rates over that period and percentiles of the timings
recorded in it. A failed frame is recorded with its kind ("bad input", "frame too large",
"inference failed", ...: whatever the node names it) and the last error text; "bad input" is also
reported under its historical key. Thread-safe: the worker records, the diagnostics timer snapshots.
"""
from __future__ import annotations

import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

BAD_INPUT = "bad input"


@dataclass
class CameraCounters:
    processed: int = 0
    failed: Counter = field(default_factory=Counter)  # kind -> frames
    last_error: str = ""
    inference_ms: list[float] = field(default_factory=list)
    stamp_latency_ms: list[float] = field(default_factory=list)  # header stamp -> published
    node_latency_ms: list[float] = field(default_factory=list)  # received by the node -> published


@dataclass(frozen=True)
class CameraReport:
    received: int
    processed: int
    dropped: int
    bad_input: int
    input_rate_hz: float
    processed_rate_hz: float
    bad_input_in_period: int
    inference_ms_mean: float
    stamp_latency_ms_p50: float
    stamp_latency_ms_max: float
    node_latency_ms_p50: float
    last_error: str
    failed: dict[str, int] = field(default_factory=dict)  # kind -> frames, since the start
    failed_in_period: int = 0  # frames of any kind

    def as_key_values(self) -> list[tuple[str, str]]:
        failures = [(f"frames failed: {kind}", str(count)) for kind, count in sorted(self.failed.items())
                    if kind != BAD_INPUT]
        return [
            ("frames received", str(self.received)),
            ("frames processed", str(self.processed)),
            ("frames dropped (newer frame arrived first)", str(self.dropped)),
            ("frames with bad input", str(self.bad_input)),
            ("input rate (Hz)", f"{self.input_rate_hz:.2f}"),
            ("processed rate (Hz)", f"{self.processed_rate_hz:.2f}"),
            ("inference (ms, mean)", f"{self.inference_ms_mean:.2f}"),
            ("stamp to publish latency (ms, p50)", f"{self.stamp_latency_ms_p50:.2f}"),
            ("stamp to publish latency (ms, max)", f"{self.stamp_latency_ms_max:.2f}"),
            ("receive to publish latency (ms, p50)", f"{self.node_latency_ms_p50:.2f}"),
            *failures,
            ("last bad input", self.last_error),
        ]


class DetectorStatistics:
    def __init__(self, cameras: int) -> None:
        self._lock = threading.Lock()
        self._counters = [CameraCounters() for _ in range(cameras)]
        self._previous = [(0, 0, 0, 0)] * cameras  # (received, processed, bad input, failed) at the last snapshot
        self._previous_time = time.monotonic()

    def record_processed(self, camera: int, inference_ms: float, stamp_latency_ms: float,
                         node_latency_ms: float) -> None:
        """``stamp_latency_ms`` is NaN for frames without a header stamp."""
        with self._lock:
            counters = self._counters[camera]
            counters.processed += 1
            counters.inference_ms.append(inference_ms)
            if not math.isnan(stamp_latency_ms):
                counters.stamp_latency_ms.append(stamp_latency_ms)
            counters.node_latency_ms.append(node_latency_ms)

    def record_failure(self, camera: int, kind: str, error: str) -> None:
        with self._lock:
            self._counters[camera].failed[kind] += 1
            self._counters[camera].last_error = f"{kind}: {error}"

    def snapshot(self, received: list[int], dropped: list[int]) -> list[CameraReport]:
        """Reports since the previous snapshot; ``received``/``dropped`` come from the frame queue."""
        now = time.monotonic()
        with self._lock:
            period = max(now - self._previous_time, 1e-6)
            reports = []
            for camera, counters in enumerate(self._counters):
                previous_received, previous_processed, previous_bad, previous_failed = self._previous[camera]
                bad_input, failed = counters.failed[BAD_INPUT], sum(counters.failed.values())
                stamp_latency = np.asarray(counters.stamp_latency_ms)
                reports.append(CameraReport(
                    received=received[camera],
                    processed=counters.processed,
                    dropped=dropped[camera],
                    bad_input=bad_input,
                    input_rate_hz=(received[camera] - previous_received) / period,
                    processed_rate_hz=(counters.processed - previous_processed) / period,
                    bad_input_in_period=bad_input - previous_bad,
                    inference_ms_mean=float(np.mean(counters.inference_ms)) if counters.inference_ms else 0.0,
                    stamp_latency_ms_p50=float(np.median(stamp_latency)) if stamp_latency.size else 0.0,
                    stamp_latency_ms_max=float(stamp_latency.max()) if stamp_latency.size else 0.0,
                    node_latency_ms_p50=float(np.median(counters.node_latency_ms)) if counters.node_latency_ms else 0.0,
                    last_error=counters.last_error,
                    failed={kind: count for kind, count in counters.failed.items() if count},
                    failed_in_period=failed - previous_failed,
                ))
                self._previous[camera] = (received[camera], counters.processed, bad_input, failed)
                counters.inference_ms.clear()
                counters.stamp_latency_ms.clear()
                counters.node_latency_ms.clear()
            self._previous_time = now
        return reports


# The keys of as_key_values() that account for the frames of one input topic, and how node_counters names them.
_COUNTER_KEYS = {"frames received": "received", "frames processed": "processed",
                 "frames dropped (newer frame arrived first)": "dropped"}
_FAILED_PREFIX = "frames failed: "


def node_counters(status) -> dict[str, int]:
    """The frame counters of one DiagnosticStatus of the node: received, processed, dropped, failed: <kind>."""
    counters = {}
    for entry in status.values:
        name = _COUNTER_KEYS.get(entry.key) or (
            "failed: " + entry.key[len(_FAILED_PREFIX):] if entry.key.startswith(_FAILED_PREFIX) else
            "failed: bad input" if entry.key == "frames with bad input" else None)
        if name is not None and entry.value.strip().isdigit():
            counters[name] = int(entry.value)
    return counters
