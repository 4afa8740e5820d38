"""Core benchmark: pre-processing, inference per backend and post-processing, side by side.

For SSDlite320-MobileNetV3 (21 and 91 classes) and SSD300-VGG16 (21 classes), random weights with
re-estimated BatchNorm, on a 640x480 frame: medians of rounds in which every measurement takes its
turn (interleaved, so machine noise hits all alike). Besides torch eager and onnxruntime in this
process, each backend also runs in a worker process of its own, driven round by round: onnxruntime,
OpenVINO, OpenVINO in a process that has loaded onnxruntime too (the slowdown backend auto avoids),
and backend auto (which measures and picks at its load, with a fresh choice cache).

    tools/run python benchmarks/bench_core.py [--rounds 15] [--runs 5] [--models ssdlite320-21,ssd300-21]

Targets: onnxruntime >= 3x faster than torch eager on SSDlite320; pre + post-processing at score
threshold 0.3 <= 15% of onnxruntime inference; post-processing at 0.01 <= 30% of onnxruntime
inference (SSDlite320, 21 and 91 classes); auto >= 1.9x onnxruntime on SSD300, and auto no more than
5% slower than the faster of onnxruntime and OpenVINO (each model; all three in their own processes).
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

MODELS = ("ssdlite320-21", "ssdlite320-91", "ssd300-21")

WORKER = """
import sys, time, json, numpy as np
from ssd_ros.core.backends import create_backend
kind, model, batch_path, cache = sys.argv[1:5]
batch = np.load(batch_path)
if kind == "openvino beside onnxruntime":
    beside = create_backend("onnxruntime", model)  # stays loaded
    beside.run(batch)
    backend = create_backend("openvino", model)
elif kind == "auto":
    backend = create_backend("auto", model, choice_cache=cache)
else:
    backend = create_backend(kind, model)
backend.run(batch)
print(json.dumps({"backend": backend.name, "device": backend.device, "selection": backend.selection}), flush=True)
for line in sys.stdin:
    times = []
    for _ in range(int(line)):
        start = time.perf_counter(); backend.run(batch); times.append((time.perf_counter() - start) * 1e3)
    print(json.dumps(times), flush=True)
"""
WORKERS = ("onnxruntime", "openvino", "openvino beside onnxruntime", "auto")
SETTLE_S = 0.05


def timed(function, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def bench_model(name: str, rounds: int, runs: int, workdir: Path) -> tuple[dict[str, float], dict[str, str]]:
    import torch

    from ssd_ros.core import Detector, PostprocessConfig
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))  # the test helper's home
    from torchvision_reference import RawHead, export_raw_onnx, random_ssd

    arch, num_classes = name.split("-")[0], int(name.split("-")[1])
    torch.set_num_threads(2)
    model = random_ssd(arch, num_classes, seed=0)
    onnx_path = workdir / f"{name}.onnx"
    export_raw_onnx(model, arch, onnx_path)
    detector = Detector.load(onnx_path, backend="onnxruntime")
    frame = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    batch, transform = detector._preprocess(frame, "rgb")
    np.save(workdir / f"{name}-batch.npy", batch)
    raw = RawHead(model).eval()
    tensor = torch.from_numpy(batch)
    outputs = detector.backend.run(batch)
    posts = {threshold: PostprocessConfig(score_threshold=threshold, max_detections=100)
             for threshold in (0.01, 0.3)}

    workers, notes = {}, {}
    for kind in WORKERS:  # one after the other: auto measures at its load on an otherwise idle machine
        worker = subprocess.Popen([sys.executable, "-c", WORKER, kind, str(onnx_path),
                                   str(workdir / f"{name}-batch.npy"), str(workdir / f"{name}-choice.json")],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert worker.stdout is not None
        ready = json.loads(worker.stdout.readline())
        workers[kind] = worker
        notes[kind] = ready["selection"] or f"{ready['backend']} ({ready['device']})"

    def torch_eager() -> None:
        with torch.inference_mode():
            raw(tensor)

    samples: dict[str, list[float]] = {label: [] for label in (
        "preprocess", "torch eager", "onnxruntime", *(f"[own process] {kind}" for kind in workers),
        "postprocess@0.01", "postprocess@0.3")}
    for _ in range(rounds):
        samples["preprocess"] += timed(lambda: detector._preprocess(frame, "rgb"), runs)
        samples["torch eager"] += timed(torch_eager, runs)
        time.sleep(SETTLE_S)
        samples["onnxruntime"] += timed(lambda: detector.backend.run(batch), runs)
        for label, worker in workers.items():
            assert worker.stdin is not None and worker.stdout is not None
            time.sleep(SETTLE_S)  # the threads of the last turn (onnxruntime's spin after each run) go idle
            worker.stdin.write(f"{runs}\n")
            worker.stdin.flush()
            samples[f"[own process] {label}"] += json.loads(worker.stdout.readline())
        time.sleep(SETTLE_S)
        for threshold, post in posts.items():
            samples[f"postprocess@{threshold}"] += timed(
                lambda post=post: detector._postprocess(outputs, 0, transform, post), runs)
    for worker in workers.values():
        assert worker.stdin is not None
        worker.stdin.close()
        worker.wait()
    return {label: float(np.median(values)) for label, values in samples.items()}, notes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--runs", type=int, default=5, help="runs of each measurement per round")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated, from " + ", ".join(MODELS))
    args = parser.parse_args()
    models = [name for name in args.models.split(",") if name]
    results, notes = {}, {}
    with tempfile.TemporaryDirectory() as folder:
        for name in models:
            results[name], notes[name] = bench_model(name, args.rounds, args.runs, Path(folder))
    rows = list(next(iter(results.values())))
    print(f"\nmedian ms, 640x480 frame, {args.rounds} interleaved rounds x {args.runs} runs")
    print(f"{'':40}" + "".join(f"{name:>15}" for name in results))
    for row in rows:
        print(f"{row:40}" + "".join(f"{r[row]:15.2f}" for r in results.values()))
    for name, picked in notes.items():
        print(f"  {name}: openvino on {picked['openvino']}; {picked['auto']}")
    print("\nratios")
    verdicts = []
    for name, r in results.items():
        onnxruntime = r["onnxruntime"]
        own = {kind: r[f"[own process] {kind}"] for kind in WORKERS}
        speedup = r["torch eager"] / onnxruntime
        overhead = (r["preprocess"] + r["postprocess@0.3"]) / onnxruntime
        post_low = r["postprocess@0.01"] / onnxruntime
        auto_speedup = own["onnxruntime"] / own["auto"]
        auto_vs_best = own["auto"] / min(own["onnxruntime"], own["openvino"])
        beside = own["openvino beside onnxruntime"] / own["openvino"]
        print(f"  {name}: torch eager / onnxruntime = {speedup:.2f}x   (pre + post@0.3) / onnxruntime = "
              f"{overhead:.1%}   post@0.01 / onnxruntime = {post_low:.1%}")
        print(f"    own processes: onnxruntime / openvino = {own['onnxruntime'] / own['openvino']:.2f}x   "
              f"openvino beside onnxruntime / alone = {beside:.2f}x   onnxruntime / auto = {auto_speedup:.2f}x   "
              f"auto / faster of the two = {auto_vs_best:.2f}x")
        if name.startswith("ssdlite320"):
            verdicts.append((f"post@0.01 <= 30% of onnxruntime ({name})", post_low <= 0.30))
        if name == "ssdlite320-21":
            verdicts += [("onnxruntime >= 3x torch eager (ssdlite320-21)", speedup >= 3.0),
                         ("pre+post@0.3 <= 15% of onnxruntime (ssdlite320-21)", overhead <= 0.15)]
        if name.startswith("ssd300"):
            verdicts.append((f"auto >= 1.9x onnxruntime ({name})", auto_speedup >= 1.9))
        verdicts.append((f"auto <= 1.05x the faster of onnxruntime and openvino ({name})", auto_vs_best <= 1.05))
    print()
    for target, met in verdicts:
        print(f"  {'MET ' if met else 'MISSED'}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
