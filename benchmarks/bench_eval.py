"""Evaluation benchmark: offline bag evaluation throughput vs the raw core Detector on the same frames.

A synthetic dataset (``--frames`` scenes at 320x240) is written as two bags by ``bag from-dataset``:
sensor_msgs/Image in sqlite3 and CompressedImage (JPEG) in mcap. In each round, interleaved:
1. raw Detector: ``Detector.detect`` on the bag's frames already decoded in memory;
2. offline loop: ``run_offline`` reading, deserialising, decoding and detecting from the bag;
3. whole evaluation: ``ssd-ros eval --bag`` end to end minus start-up (header pass, ground-truth
   matching, the offline loop and pycocotools).
Medians over rounds, in frames per second, side by side with the median over rounds of each
round's ratio to (1) (paired: the host's speed drifts between rounds).

    tools/run python benchmarks/bench_eval.py [--frames 120] [--rounds 5]

Target: the offline loop (2) >= 0.9x the raw Detector (1), for raw and compressed frames. (3) also
pays fixed costs per run (opening the bag compiles its message types; pycocotools), so its ratio
grows towards (2) with the length of the bag.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

TARGET = 0.9


def decoded_frames(bag_path: Path, topic: str) -> list:
    from ssd_ros.bags.reader import Bag, decode_frame

    with Bag(bag_path) as bag:
        frames = []
        for message in bag.messages(topic):
            frame, color = decode_frame(bag.camera_message(message), message.msgtype)
            frames.append((frame.copy(), color))
    return frames


def bench(rounds: int, frame_count: int, workdir: Path, ratios: dict | None = None) -> bool:
    """Prints the table; returns whether the target was met and, given ``ratios``, fills it with
    {bag name: {"offline loop": median ratio, "whole evaluation": median ratio}}."""
    from ssd_ros_training.synth import write_voc_dataset

    from ssd_ros.bags.from_dataset import write_dataset_bag
    from ssd_ros.bags.reader import Bag
    from ssd_ros.core import Detector, PostprocessConfig
    from ssd_ros.datasets import load_dataset
    from ssd_ros.eval.bag_eval import BagEvalRequest, evaluate_bag
    from ssd_ros.eval.offline import OfflineMode, run_offline
    from ssd_ros.resources import default_model_path

    write_voc_dataset(workdir / "data", images=frame_count, seed=3)
    dataset = load_dataset(workdir / "data", "voc")
    bags = {"raw Image (sqlite3)": (write_dataset_bag(dataset, workdir / "raw", "sqlite3", False), "/camera/image_raw"),
            "JPEG CompressedImage (mcap)": (write_dataset_bag(dataset, workdir / "jpeg", "mcap", True),
                                            "/camera/image_raw/compressed")}
    detector = Detector.load(default_model_path())
    post = PostprocessConfig(score_threshold=0.01, max_detections=100)
    in_memory = {name: decoded_frames(summary.path, topic) for name, (summary, topic) in bags.items()}
    for frame, color in in_memory["raw Image (sqlite3)"][:5]:
        detector.detect(frame, color, post)  # warm-up

    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for name, (summary, topic) in bags.items():
            started = time.perf_counter()
            for frame, color in in_memory[name]:
                detector.detect(frame, color, post)
            times.setdefault((name, "raw Detector"), []).append(time.perf_counter() - started)

            with Bag(summary.path) as bag:
                started = time.perf_counter()
                output = run_offline(bag, topic, set(range(frame_count)), detector, post)
                times.setdefault((name, "offline loop"), []).append(time.perf_counter() - started)
            assert len(output.outputs) == frame_count

            request = BagEvalRequest(summary.path, topic, truth_topic=summary.truth_topic)
            started = time.perf_counter()
            evaluate_bag(request, OfflineMode(topic, detector, post, context={}))
            times.setdefault((name, "whole evaluation"), []).append(time.perf_counter() - started)

    met = True
    print(f"\n{frame_count} frames of 320x240, {rounds} interleaved rounds, median frames per second "
          f"(default model, {detector.backend_name} on {detector.device})\n")
    print("| bag | raw Detector | offline loop | ratio | whole evaluation | ratio |\n|---|---|---|---|---|---|")
    for name in bags:
        fps = {kind: frame_count / statistics.median(times[(name, kind)])
               for kind in ("raw Detector", "offline loop", "whole evaluation")}
        # Ratios are paired per round (the three run back to back), then the median taken: the host's
        # speed drifts between rounds, and a ratio of separate medians would mix different speeds.
        loop_ratio, whole_ratio = (statistics.median(
            raw / other for raw, other in zip(times[(name, "raw Detector")], times[(name, kind)], strict=True))
            for kind in ("offline loop", "whole evaluation"))
        met &= loop_ratio >= TARGET
        if ratios is not None:
            ratios[name] = {"offline loop": loop_ratio, "whole evaluation": whole_ratio}
        print(f"| {name} | {fps['raw Detector']:.1f} | {fps['offline loop']:.1f} | {loop_ratio:.2f}x | "
              f"{fps['whole evaluation']:.1f} | {whole_ratio:.2f}x |")
    print(f"\ntarget: offline loop >= {TARGET}x the raw Detector: {'met' if met else 'MISSED'}")
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
