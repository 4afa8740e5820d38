"""Core benchmark: pre-processing, inference per backend and post-processing, side by side.

For SSDlite320-MobileNetV3 and SSD300-VGG16 (21 classes, random weights with re-estimated
BatchNorm) on a 640x480 frame: medians of rounds in which every measurement takes its turn
(interleaved, so machine noise hits all alike). OpenVINO runs in its own worker process because
loading it beside onnxruntime halves its speed; the worker is driven round by round too.

    tools/run python benchmarks/bench_core.py [--rounds 15] [--runs 5]

Targets: onnxruntime >= 3x faster than torch eager on SSDlite320; pre + post-processing at score
threshold 0.3 <= 15% of onnxruntime inference.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

OPENVINO_WORKER = """
import sys, time, json, numpy as np
from ssd_ros.core.backends import create_backend
backend = create_backend("openvino", sys.argv[1])
batch = np.load(sys.argv[2])
backend.run(batch)
print(json.dumps({"device": backend.device}), flush=True)
for line in sys.stdin:
    runs = int(line)
    times = []
    for _ in range(runs):
        start = time.perf_counter(); backend.run(batch); times.append((time.perf_counter() - start) * 1e3)
    print(json.dumps(times), flush=True)
"""


def timed(function, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def bench_architecture(arch: str, rounds: int, runs: int, workdir: Path) -> dict[str, float]:
    import torch

    from ssd_ros.core import Detector, PostprocessConfig
    from ssd_ros.torchvision_reference import RawHead, export_raw_onnx, random_ssd

    torch.set_num_threads(2)
    model = random_ssd(arch, 21, seed=0)
    onnx_path = workdir / f"{arch}.onnx"
    export_raw_onnx(model, arch, onnx_path)
    detector = Detector.load(onnx_path)
    frame = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    batch, transform = detector._preprocess(frame, "rgb")
    np.save(workdir / f"{arch}-batch.npy", batch)
    raw = RawHead(model).eval()
    tensor = torch.from_numpy(batch)
    outputs = detector.backend.run(batch)
    posts = {threshold: PostprocessConfig(score_threshold=threshold, max_detections=100)
             for threshold in (0.01, 0.3)}

    worker = subprocess.Popen(
        [sys.executable, "-c", OPENVINO_WORKER, str(onnx_path), str(workdir / f"{arch}-batch.npy")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    openvino_device = json.loads(worker.stdout.readline())["device"]

    def torch_eager() -> None:
        with torch.inference_mode():
            raw(tensor)

    samples: dict[str, list[float]] = {name: [] for name in
                                       ("preprocess", "torch eager", "onnxruntime", f"openvino ({openvino_device})",
                                        "postprocess@0.01", "postprocess@0.3")}
    for _ in range(rounds):
        samples["preprocess"] += timed(lambda: detector._preprocess(frame, "rgb"), runs)
        samples["torch eager"] += timed(torch_eager, runs)
        samples["onnxruntime"] += timed(lambda: detector.backend.run(batch), runs)
        worker.stdin.write(f"{runs}\n")
        worker.stdin.flush()
        samples[f"openvino ({openvino_device})"] += json.loads(worker.stdout.readline())
        for threshold, post in posts.items():
            samples[f"postprocess@{threshold}"] += timed(
                lambda post=post: detector._postprocess(outputs, 0, transform, post), runs)
    worker.stdin.close()
    worker.wait()
    return {name: float(np.median(values)) for name, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--runs", type=int, default=5, help="runs of each measurement per round")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        results = {arch: bench_architecture(arch, args.rounds, args.runs, Path(folder))
                   for arch in ("ssdlite320", "ssd300")}
    names = list(next(iter(results.values())))
    print(f"\nmedian ms, 640x480 frame, 21 classes, {args.rounds} interleaved rounds x {args.runs} runs")
    print(f"{'':22}" + "".join(f"{arch:>14}" for arch in results))
    for name in names:
        print(f"{name:22}" + "".join(f"{results[arch][name]:14.2f}" for arch in results))
    print("\nratios")
    verdicts = []
    for arch, r in results.items():
        speedup = r["torch eager"] / r["onnxruntime"]
        overhead = (r["preprocess"] + r["postprocess@0.3"]) / r["onnxruntime"]
        openvino = next(v for k, v in r.items() if k.startswith("openvino"))
        print(f"  {arch}: torch eager / onnxruntime = {speedup:.2f}x   onnxruntime / openvino = "
              f"{r['onnxruntime'] / openvino:.2f}x   (pre + post@0.3) / onnxruntime = {overhead:.1%}")
        if arch == "ssdlite320":
            verdicts += [("onnxruntime >= 3x torch eager (SSDlite320)", speedup >= 3.0),
                         ("pre+post@0.3 <= 15% of onnxruntime (SSDlite320)", overhead <= 0.15)]
    print()
    for target, met in verdicts:
        print(f"  {'MET ' if met else 'MISSED'}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
