"""Evaluation benchmark: offline bag evaluation throughput vs the raw core Detector on the same frames.

A synthetic dataset (``--frames`` scenes at 320x240) is written as two bags by ``bag from-dataset``:
sensor_msgs/Image in sqlite3 and CompressedImage (JPEG) in mcap. In each round, interleaved:
1. raw Detector: the default ``Detector.load`` and ``Detector.detect`` one frame after another on the
   bag's frames already decoded in memory (what a user's own loop does);
2. the Detector as ``ssd-ros eval`` runs it: loaded with the cores divided among ``--workers`` (its
   default: one per core, at most 4) and that many frames detected at once, in memory;
3. offline loop: ``run_offline`` reading, deserialising, decoding and detecting from the bag, as 2;
4. whole evaluation: ``ssd-ros eval --bag`` end to end minus start-up (header pass, ground-truth
   matching, the offline loop and pycocotools).
Medians over rounds, in frames per second, side by side with the median over rounds of each
round's ratio to (1) (paired: the host's speed drifts between rounds); the loop's ratio to (2) is its
own overhead.

    tools/run python benchmarks/bench_eval.py [--frames 120] [--rounds 5]

Target: the offline loop (3) >= 0.95x and the whole evaluation (4) >= 0.9x the raw Detector (1), for
raw and compressed frames. (4) also pays fixed costs per run (opening the bag compiles its message
types; pycocotools), so its ratio grows towards (3) with the length of the bag.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

TARGET = 0.95  # offline loop over the raw Detector
WHOLE_TARGET = 0.9


def decoded_frames(bag_path: Path, topic: str) -> list:
    from ssd_ros.bags.reader import Bag, decode_frame

    with Bag(bag_path) as bag:
        frames = []
        for message in bag.messages(topic):
            frame, color = decode_frame(bag.camera_message(message), message.msgtype)
            frames.append((frame.copy(), color))
    return frames


def bench(rounds: int, frame_count: int, workdir: Path, ratios: dict | None = None) -> bool:
    """Prints the table; returns whether the targets were met and, given ``ratios``, fills it with
    {bag name: {"offline loop": median ratio, "whole evaluation": median ratio, ...}}."""
    from concurrent.futures import ThreadPoolExecutor

    from ssd_ros_training.synth import write_voc_dataset

    from ssd_ros.bags.from_dataset import write_dataset_bag
    from ssd_ros.bags.reader import Bag
    from ssd_ros.core import Detector, PostprocessConfig
    from ssd_ros.datasets import load_dataset
    from ssd_ros.eval.bag_eval import BagEvalRequest, evaluate_bag
    from ssd_ros.eval.cli import offline_workers
    from ssd_ros.eval.offline import OfflineMode, run_offline
    from ssd_ros.resources import default_model_path

    write_voc_dataset(workdir / "data", images=frame_count, seed=3)
    dataset = load_dataset(workdir / "data", "voc")
    bags = {"raw Image (sqlite3)": (write_dataset_bag(dataset, workdir / "raw", "sqlite3", False), "/camera/image_raw"),
            "JPEG CompressedImage (mcap)": (write_dataset_bag(dataset, workdir / "jpeg", "mcap", True),
                                            "/camera/image_raw/compressed")}
    workers = offline_workers(0)
    detector = Detector.load(default_model_path())
    eval_detector = Detector.load(default_model_path(), parallel_runs=workers)  # as ssd-ros eval loads it
    post = PostprocessConfig(score_threshold=0.01, max_detections=100)
    in_memory = {name: decoded_frames(summary.path, topic) for name, (summary, topic) in bags.items()}
    for frame, color in in_memory["raw Image (sqlite3)"][:5]:
        detector.detect(frame, color, post)  # warm-up
        eval_detector.detect(frame, color, post)

    kinds = ("raw Detector", "Detector as eval runs it", "offline loop", "whole evaluation")
    times: dict[tuple[str, str], list[float]] = {}
    with ThreadPoolExecutor(workers) as pool:
        for _ in range(rounds):
            for name, (summary, topic) in bags.items():
                started = time.perf_counter()
                for frame, color in in_memory[name]:
                    detector.detect(frame, color, post)
                times.setdefault((name, kinds[0]), []).append(time.perf_counter() - started)

                started = time.perf_counter()
                list(pool.map(lambda item: eval_detector.detect(item[0], item[1], post), in_memory[name]))
                times.setdefault((name, kinds[1]), []).append(time.perf_counter() - started)

                with Bag(summary.path) as bag:
                    started = time.perf_counter()
                    output = run_offline(bag, topic, set(range(frame_count)), eval_detector, post, workers)
                    times.setdefault((name, kinds[2]), []).append(time.perf_counter() - started)
                assert len(output.outputs) == frame_count

                request = BagEvalRequest(summary.path, topic, truth_topic=summary.truth_topic)
                started = time.perf_counter()
                evaluate_bag(request, OfflineMode(topic, eval_detector, post, context={}, workers=workers))
                times.setdefault((name, kinds[3]), []).append(time.perf_counter() - started)

    def paired(name: str, base: str, kind: str) -> float:
        # Ratios are paired per round (run back to back), then the median taken: the host's speed drifts
        # between rounds, and a ratio of separate medians would mix different speeds.
        return statistics.median(b / k for b, k in zip(times[(name, base)], times[(name, kind)], strict=True))

    met = True
    print(f"\n{frame_count} frames of 320x240, {rounds} interleaved rounds, median frames per second "
          f"(default model, {detector.backend_name} on {detector.device}; eval: {workers} frames at once)\n")
    print("| bag | raw Detector | Detector as eval runs it | offline loop | x raw | x eval's Detector | "
          "whole evaluation | x raw |\n|---|---|---|---|---|---|---|---|")
    for name in bags:
        fps = {kind: frame_count / statistics.median(times[(name, kind)]) for kind in kinds}
        loop_ratio, whole_ratio = paired(name, kinds[0], kinds[2]), paired(name, kinds[0], kinds[3])
        loop_overhead = paired(name, kinds[1], kinds[2])
        met &= loop_ratio >= TARGET and whole_ratio >= WHOLE_TARGET
        if ratios is not None:
            ratios[name] = {"offline loop": loop_ratio, "whole evaluation": whole_ratio,
                            "offline loop vs eval's Detector": loop_overhead, "workers": workers}
        print(f"| {name} | {fps[kinds[0]]:.1f} | {fps[kinds[1]]:.1f} | {fps[kinds[2]]:.1f} | {loop_ratio:.2f}x | "
              f"{loop_overhead:.2f}x | {fps[kinds[3]]:.1f} | {whole_ratio:.2f}x |")
    print(f"\ntargets: offline loop >= {TARGET}x and whole evaluation >= {WHOLE_TARGET}x the raw Detector: "
          f"{'met' if met else 'MISSED'}")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_eval_") as workdir:
        return 0 if bench(args.rounds, args.frames, Path(workdir)) else 1


if __name__ == "__main__":
    sys.exit(main())
