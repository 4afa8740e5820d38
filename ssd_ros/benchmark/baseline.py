"""The Detector alone on the benchmark's frames: what the node is compared with (the standalone figure).

Contract: ``node_parameters(overrides)`` is the node's parameter set (the table's defaults with
``overrides``), validated like the node validates it (ValueError with the reason).
``detector_alone(parameters, width, height, cameras, seconds)`` loads the model exactly as the node
does (:func:`ssd_ros.ros.detector_node.load_detector`, same backend settings and post-processing),
then runs ``Detector.detect_batch`` back to back on batches of ``cameras`` of the player's frames for
``seconds`` (after a warm-up) in this process, and returns frames per second, the batch time p50
(ms) and this process's CPU time per frame (ms; every thread, so onnxruntime's pool counts).
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np


def node_parameters(overrides: Mapping[str, Any]) -> Any:
    from ssd_ros.ros.params import PARAMETERS, PARAMETERS_BY_NAME, NodeParameters, default, validate

    unknown = sorted(set(overrides) - set(PARAMETERS_BY_NAME))
    if unknown:
        raise ValueError(f"the node has no parameters {unknown}")
    values = {spec.name: overrides.get(spec.name, default(spec.name)) for spec in PARAMETERS}
    reason = validate(values)
    if reason is not None:
        raise ValueError(reason)
    return NodeParameters.from_values(values)


def detector_alone(parameters: Any, width: int, height: int, cameras: int = 1, seconds: float = 3.0,
                   frame_count: int = 16) -> dict[str, Any]:
    from ssd_ros.benchmark.frames import benchmark_frames
    from ssd_ros.ros.detector_node import load_detector
    from ssd_ros.ros.params import NodeSettings

    detector = load_detector(parameters)
    post = NodeSettings.build(parameters, detector.spec.labels, detector.spec.background_index).postprocess
    frames = benchmark_frames(frame_count, width, height)
    batches = [[frames[(start + camera) % len(frames)] for camera in range(cameras)]
               for start in range(0, len(frames), cameras)]
    for batch in batches[:3]:
        detector.detect_batch(batch, "rgb", post)  # warm-up
    times: list[float] = []
    cpu_started, started = time.process_time(), time.perf_counter()
    while time.perf_counter() - started < seconds or len(times) < 3:
        began = time.perf_counter()
        detector.detect_batch(batches[len(times) % len(batches)], "rgb", post)
        times.append(time.perf_counter() - began)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    frames_done = len(times) * cameras
    return {"backend": detector.backend_name, "device": str(detector.device), "cameras": cameras,
            "frames": frames_done, "fps": frames_done / wall, "batch_ms_p50": float(np.median(times)) * 1e3,
            "cpu_ms_per_frame": 1e3 * cpu / frames_done}
