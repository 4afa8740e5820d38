"""``make bench-quick``: issue 16's targets, each a ratio measured side by side in minutes; the last line is JSON.

    tools/run --own-domain python benchmarks/bench_quick.py [--rounds 3]

Each part runs in its own process (so DDS contexts, onnxruntime and OpenVINO never share one) and
prints one JSON object last; this script prints each part's lines, then one JSON object with every key,
each the median over that part's rounds (default model, 640x480 rgb8 unless said):
- node_peak_ratio (>= 0.95): per round, the Detector alone's frames per second back to back on the
  player's frames (ssd_ros.benchmark.baseline, in the benchmarking process, loaded and run as the node
  does), then the node graph's peak rate (ssd_ros.benchmark: player process -> node -> monitor,
  ros2_benchmark's pass rule) searched between 0.3x and 1.25x that; the ratio of the two, with the
  default parameters. The same for ``inference_workers: 2`` (two frames in flight, one thread each)
  is printed beside it (node_peak_ratio_workers2), with its peak over the default Detector's rate
  (node_peak_workers2_vs_default_detector).
- node_overhead_pct (<= 8), node_cpu_ratio (<= 1.15): benchmarks/bench_node.py --json at 30 Hz.
- post_at_001_pct (<= 30): post-processing at score 0.01 in % of SSDlite320 (21 classes) onnxruntime
  inference; ``bench_core.post_at_001_pct(rounds=N)`` when bench_core has it (returning the per-round
  values or their median), else ``core_fallback`` below with the current core.
- eval_loop_ratio (>= 0.95), eval_whole_ratio (>= 0.9): bench_eval.bench on 120 frames, the lower
  of its two bags (raw sqlite3, JPEG mcap).
- batched4_vs_separate4 (>= 1.5): four cameras at 15 Hz each into one node (image_topics with four
  topics, batched) vs four nodes of one camera each, both graphs up at once and measured in turn:
  processed frames per CPU-second of the node processes, batched over separate; p99 latency of
  both is printed beside it (the target also wants batched lower). The batched node with
  ``inference_workers: 2`` (one thread per worker) is measured beside them
  (batched4_workers2_vs_separate4).
- auto_vs_onnxruntime_ssd300 (>= 1.9): SSD300 (21 classes) inference time with onnxruntime over
  that with backend "auto"; ``bench_core.auto_vs_onnxruntime_ssd300(rounds=N)`` when it exists, else
  ``core_fallback`` with the backend the node uses by default ("auto" once the table has it), each
  backend in a worker process of its own.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL_CACHE = Path(tempfile.gettempdir()) / f"ssd_ros_bench_quick-{os.getuid()}"  # random-weight models, reused
PARTS = ("eval", "node", "peak", "cameras", "core")
TARGETS = {"node_peak_ratio": (">=", 0.95), "node_overhead_pct": ("<=", 8.0), "node_cpu_ratio": ("<=", 1.15),
           "post_at_001_pct": ("<=", 30.0), "eval_loop_ratio": (">=", 0.95), "eval_whole_ratio": (">=", 0.9),
           "batched4_vs_separate4": (">=", 1.5), "auto_vs_onnxruntime_ssd300": (">=", 1.9)}


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


# ---------------------------------------------------------------------- parts (each in its own process)
def part_eval(rounds: int) -> dict:
    sys.path.insert(0, str(HERE))
    import bench_eval

    ratios: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench_quick_eval_") as workdir:
        bench_eval.bench(rounds, 120, Path(workdir), ratios)
    return {"eval_loop_ratio": min(r["offline loop"] for r in ratios.values()),
            "eval_whole_ratio": min(r["whole evaluation"] for r in ratios.values()), "bags": ratios}


def part_node(rounds: int) -> dict:
    output = subprocess.run([sys.executable, str(HERE / "bench_node.py"), "--rounds", str(rounds), "--seconds", "3",
                             "--json"], capture_output=True, text=True, check=True).stdout
    print(output.rstrip())
    result = json.loads(output.strip().splitlines()[-1])
    return {"node_overhead_pct": result["overhead_pct"], "node_cpu_ratio": result["cpu_ratio"],
            "rounds": result["rounds"]}


def part_peak(rounds: int) -> dict:
    import contextlib

    from ssd_ros.benchmark.baseline import detector_alone, node_parameters
    from ssd_ros.benchmark.graph import GraphSession, GraphSettings
    from ssd_ros.benchmark.rules import search_peak

    # the defaults (lowest latency) and two frames in flight (highest frame rate; read-only: a node of its own)
    configs = {"default": {}, "workers2": {"inference_workers": 2}}
    per_round: dict[str, list[dict]] = {name: [] for name in configs}
    with contextlib.ExitStack() as stack:
        sessions = {name: stack.enter_context(GraphSession(GraphSettings(
            parameters=overrides, prefix=f"/bench_quick/peak_{name}", name=f"peak_{name}")))
            for name, overrides in configs.items()}
        for session in sessions.values():
            session.measure(10.0, 2.0)  # warm-up
        for _ in range(rounds):
            default_alone = None
            for name, overrides in configs.items():  # one graph plays at a time; the other idles
                session = sessions[name]
                alone = detector_alone(node_parameters(overrides), session.settings.width, session.settings.height,
                                       seconds=2.0)["fps"]
                default_alone = default_alone or alone

                def trial(rate: float, name: str = name, session: GraphSession = session):
                    measurement = session.measure(rate, 2.0)
                    cpu = {"node": measurement.node_cpu_s, "player+monitor": measurement.harness_cpu_s}
                    shares = ", ".join(f"{who} {100 * value / measurement.window_s:.0f}%"
                                       for who, value in cpu.items() if value is not None)
                    print(f"  {name} {rate:6.1f} Hz: {measurement.answered}/{measurement.sent} answered, "
                          f"{measurement.output_hz:.1f} Hz out; CPU of one core: {shares}", flush=True)
                    return measurement.trial

                search = search_peak(trial, 0.3 * alone, 1.25 * alone, tolerance=0.03, max_trials=5)
                per_round[name].append({"detector_fps": alone, "node_peak_hz": search.peak_hz,
                                        "ratio": search.peak_hz / alone,
                                        "vs_default_detector": search.peak_hz / default_alone})
                print(f"{name} {overrides or ''}: Detector alone, run as the node runs it, {alone:.1f} frames/s; node "
                      f"peak {search.peak_hz:.1f} Hz: {search.peak_hz / alone:.2f}x (of the default Detector: "
                      f"{search.peak_hz / default_alone:.2f}x)", flush=True)
    return {"node_peak_ratio": median([r["ratio"] for r in per_round["default"]]),
            "node_peak_ratio_workers2": median([r["ratio"] for r in per_round["workers2"]]),
            "node_peak_workers2_vs_default_detector": median([r["vs_default_detector"] for r in per_round["workers2"]]),
            "rounds": per_round}


def part_cameras(rounds: int) -> dict:
    import contextlib

    from ssd_ros.benchmark.graph import GraphSession, GraphSettings

    layouts = {"batched": GraphSettings(cameras=4, prefix="/bench_quick/batched", name="batched"),
               "batched_workers2": GraphSettings(cameras=4, prefix="/bench_quick/batched2", name="batched2",
                                                 parameters={"inference_workers": 2}),
               "separate": GraphSettings(cameras=4, separate_nodes=True, prefix="/bench_quick/separate",
                                         name="separate")}
    per_round: list[dict] = []
    with contextlib.ExitStack() as stack:
        sessions = {name: stack.enter_context(GraphSession(settings)) for name, settings in layouts.items()}
        for session in sessions.values():
            session.measure(15.0, 2.0)  # warm-up
        for _ in range(rounds):
            figures: dict = {}
            for name, session in sessions.items():  # one graph plays at a time; the others idle
                measurement = session.measure(15.0, 3.0)
                figures[name] = {"frames_per_cpu_s": measurement.answered / measurement.node_cpu_s
                                 if measurement.node_cpu_s else float("nan"),
                                 "p99_ms": measurement.latency_ms["p99"], "answered": measurement.answered,
                                 "sent": measurement.sent}
            for name in ("batched", "batched_workers2"):
                figures[f"{name}_ratio"] = figures[name]["frames_per_cpu_s"] / figures["separate"]["frames_per_cpu_s"]
            per_round.append(figures)
            print("  ".join(f"{name}: {figures[name]['frames_per_cpu_s']:.1f} frames/CPU-s, p99 "
                            f"{figures[name]['p99_ms']:.0f} ms, {figures[name]['answered']}/{figures[name]['sent']}"
                            for name in layouts), flush=True)
    p99 = {name: median([r[name]["p99_ms"] for r in per_round]) for name in layouts}
    workers2 = median([r["batched_workers2_ratio"] for r in per_round])
    ratio = median([r["batched_ratio"] for r in per_round])
    print(f"batched / separate frames per CPU-second: {ratio:.2f}x (inference_workers 2: {workers2:.2f}x); p99 ms "
          + ", ".join(f"{name} {value:.0f}" for name, value in p99.items()), flush=True)
    return {"batched4_vs_separate4": ratio, "batched4_workers2_vs_separate4": workers2, "p99_ms": p99,
            "rounds": per_round}


INFERENCE_WORKER = """
import json, sys, time
import numpy as np
from ssd_ros.core import Detector
detector = Detector.load(sys.argv[1], backend=sys.argv[2])
batch = np.load(sys.argv[3])
detector.backend.run(batch)
print(json.dumps({"backend": detector.backend_name, "device": str(detector.device)}), flush=True)
for line in sys.stdin:
    times = []
    for _ in range(int(line)):
        started = time.perf_counter(); detector.backend.run(batch); times.append(time.perf_counter() - started)
    print(json.dumps(times), flush=True)
"""


def core_fallback(rounds: int, workdir: Path) -> dict:
    """post_at_001_pct and auto_vs_onnxruntime_ssd300 with the current core (when bench_core has no such functions)."""
    import numpy as np

    sys.path.insert(0, str(HERE.parent / "test"))  # the torchvision reference models live with the tests
    from torchvision_reference import export_raw_onnx, random_ssd

    from ssd_ros.core import Detector, PostprocessConfig
    from ssd_ros.ros.params import PARAMETERS_BY_NAME

    frame = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    paths = {}
    for arch in ("ssdlite320", "ssd300"):
        paths[arch] = MODEL_CACHE / f"{arch}-21-seed0.onnx"  # exporting SSD300 takes minutes: once per machine
        if not paths[arch].is_file():
            MODEL_CACHE.mkdir(parents=True, exist_ok=True)
            export_raw_onnx(random_ssd(arch, 21, seed=0), arch, workdir / paths[arch].name)
            (workdir / paths[arch].name).replace(paths[arch])
    detector = Detector.load(paths["ssdlite320"])
    batch, transform = detector._preprocess(frame, "rgb")
    outputs = detector.backend.run(batch)
    post = PostprocessConfig(score_threshold=0.01, max_detections=100)
    post_pct = []
    for _ in range(rounds):
        inference, postprocess = [], []
        for _ in range(10):
            started = time.perf_counter()
            detector.backend.run(batch)
            inference.append(time.perf_counter() - started)
            started = time.perf_counter()
            detector._postprocess(outputs, 0, transform, post)
            postprocess.append(time.perf_counter() - started)
        post_pct.append(100 * median(postprocess) / median(inference))
    del detector

    default_backend = PARAMETERS_BY_NAME["backend"].default
    candidate = "auto" if "auto" in PARAMETERS_BY_NAME["backend"].choices else default_backend
    ssd300_input = workdir / "ssd300-batch.npy"
    np.save(ssd300_input, Detector.load(paths["ssd300"])._preprocess(frame, "rgb")[0])
    workers = {name: subprocess.Popen([sys.executable, "-c", INFERENCE_WORKER, str(paths["ssd300"]), name,
                                       str(ssd300_input)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
               for name in dict.fromkeys(("onnxruntime", candidate))}
    described = {name: json.loads(worker.stdout.readline()) for name, worker in workers.items()}  # type: ignore[union-attr]
    auto_ratio = []
    for _ in range(rounds):
        times = {}
        for name, worker in workers.items():
            worker.stdin.write("3\n")  # type: ignore[union-attr]
            worker.stdin.flush()  # type: ignore[union-attr]
            times[name] = median(json.loads(worker.stdout.readline()))  # type: ignore[union-attr]
        auto_ratio.append(times["onnxruntime"] / times[candidate])
    for worker in workers.values():
        worker.stdin.close()  # type: ignore[union-attr]
        worker.wait()
    print(f"post-processing @0.01 / SSDlite320 onnxruntime inference: {[f'{p:.1f}%' for p in post_pct]}; "
          f"SSD300 onnxruntime / {candidate} ({described[candidate]}): {[f'{r:.2f}x' for r in auto_ratio]}"
          + ("" if candidate == "auto" else f" (no 'auto' backend yet: the node's default, {default_backend})"))
    return {"post_at_001_pct": median(post_pct), "auto_vs_onnxruntime_ssd300": median(auto_ratio),
            "auto_backend_measured": candidate}


def part_core(rounds: int) -> dict:
    sys.path.insert(0, str(HERE))
    import bench_core

    figures: dict = {}
    for key in ("post_at_001_pct", "auto_vs_onnxruntime_ssd300"):
        function = getattr(bench_core, key, None)
        if function is not None:
            value = function(rounds=rounds)
            figures[key] = median(list(value)) if isinstance(value, (list, tuple)) else float(value)
            figures[f"{key}_source"] = f"bench_core.{key}"
    if len(figures) < 4:
        with tempfile.TemporaryDirectory(prefix="bench_quick_core_") as workdir:
            fallback = core_fallback(rounds, Path(workdir))
        for key in ("post_at_001_pct", "auto_vs_onnxruntime_ssd300"):
            if key not in figures:
                figures[key], figures[f"{key}_source"] = fallback[key], "bench_quick.core_fallback"
        figures["auto_backend_measured"] = fallback["auto_backend_measured"]
    return figures


PART_FUNCTIONS = {"eval": part_eval, "node": part_node, "peak": part_peak, "cameras": part_cameras, "core": part_core}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--part", choices=PARTS, help="run one part in this process (what the script does per part)")
    parser.add_argument("--parts", default=",".join(PARTS), help="parts to run (default: all)")
    args = parser.parse_args()
    if args.part:
        from ssd_ros.ros.transport import configure_transport

        configure_transport()  # the node's DDS settings for this process and the ones it starts
        print(json.dumps(PART_FUNCTIONS[args.part](args.rounds)), flush=True)
        return 0
    results: dict = {}
    for part in args.parts.split(","):
        started = time.monotonic()
        print(f"\n===== bench_quick: {part} =====", flush=True)
        process = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--part", part, "--rounds",
                                  str(args.rounds)], stdout=subprocess.PIPE, text=True)
        lines = process.stdout.rstrip().splitlines()
        print("\n".join(lines[:-1]))
        if process.returncode != 0 or not lines:
            print(f"part {part} failed (exit {process.returncode})", flush=True)
            continue
        results[part] = json.loads(lines[-1])
        print(f"({part}: {time.monotonic() - started:.0f} s) {lines[-1]}", flush=True)
    summary = {key: None for key in TARGETS}
    for figures in results.values():
        summary.update({key: round(float(value), 3) for key, value in figures.items() if key in TARGETS})
    print()
    for key, (sense, target) in TARGETS.items():
        value = summary[key]
        met = value is not None and (value >= target if sense == ">=" else value <= target)
        print(f"  {'MET   ' if met else 'MISSED'} {key} = {value} (target {sense} {target})")
    print(json.dumps(summary), flush=True)
    return 0 if all(value is not None for value in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
