"""The frames a benchmark plays: synthetic scenes with objects, the same ones in every process that asks.

Contract: ``benchmark_frames(count, width, height, seed)`` returns ``count`` RGB uint8 H x W x 3 scenes
(:func:`ssd_ros.synthetic.render_scene`: shapes on cluttered backgrounds, so the detector has work
after its score threshold too); equal arguments give equal frames, so the player's frames and the
Detector-alone baseline's are the same.
"""
from __future__ import annotations

import numpy as np


def benchmark_frames(count: int, width: int, height: int, seed: int = 0) -> list[np.ndarray]:
    from ssd_ros.synthetic import render_scene

    rng = np.random.default_rng(seed)
    return [render_scene(rng, width, height)[0] for _ in range(count)]
