"""The Detector alone on the benchmark's frames: what the node is compared with (the standalone figure).

Contract: ``node_parameters(overrides)`` is the node's parameter set (the table's defaults with
``overrides``), validated like the node validates it (ValueError with the reason).
``detector_alone(parameters, width, height, cameras, seconds)`` loads the model exactly as the node
does (:func:`ssd_ros.ros.detector_node.load_detector`, same backend settings and post-processing),
then runs ``Detector.detect_batch`` back to back on batches of ``cameras`` of the player's frames for
``seconds`` (after a warm-up) in this process, in ``inference_workers`` threads at once where the
backend runs concurrently (as the node's workers do), and returns frames per second, the batch time
p50 (ms) and this process's CPU time per frame (ms; every thread, so onnxruntime's pool counts).
"""
from __future__ import annotations

import threading
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
    workers = parameters.inference_workers if detector.backend.concurrent_runs else 1
    times: list[list[float]] = [[] for _ in range(workers)]
    cpu_started, started = time.process_time(), time.perf_counter()

    def run(worker: int) -> None:
        own = times[worker]
        while time.perf_counter() - started < seconds or len(own) < 3:
            began = time.perf_counter()
            detector.detect_batch(batches[(worker + workers * len(own)) % len(batches)], "rgb", post)
            own.append(time.perf_counter() - began)

    threads = [threading.Thread(target=run, args=(worker,)) for worker in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    all_times = [value for own in times for value in own]
    frames_done = len(all_times) * cameras
    return {"backend": detector.backend_name, "device": str(detector.device), "cameras": cameras,
            "workers": workers, "frames": frames_done, "fps": frames_done / wall,
            "batch_ms_p50": float(np.median(all_times)) * 1e3, "cpu_ms_per_frame": 1e3 * cpu / frames_done}
