"""Train on the real BCCD blood-cell dataset (../shared/data/bccd) and report test mAP@0.5 per class.

From scratch (no pretrained weights): trains SSDlite320-MobileNetV3 on the trainval split with a
recipe for this data (input size and anchor scales fitted to its cells, augmentation for
microscopy), exports the last checkpoint (no model selection: the test split is never looked at
before the end; the progress bar's mAP is on the val images, which are part of trainval) to ONNX
and evaluates it on the test split with the core Detector, the node's code path. Prints AP@0.5
per class, mAP@0.5 and the training wall time. Target: mAP@0.5 >= 0.70 within 60 minutes of
2-core CPU training.

    tools/run python benchmarks/train_bccd.py [--epochs N] [--out runs/bccd]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

SHARED_BCCD = Path(__file__).resolve().parents[2] / "shared" / "data" / "bccd" / "BCCD"

# The recipe, as ssd-ros train options (also printed, so the run can be repeated by hand).
# BCCD images are 640x480; platelets ~40 px, red cells ~105 px, white cells ~200 px (ssd-ros dataset check).
RECIPE = ["--arch", "ssdlite320", "--width-mult", "0.5", "--input-size", "512x384",
          "--anchor-scales", "0.07,0.15,0.3,0.45,0.6,0.8,1.0", "--batch-size", "16", "--lr", "3e-3",
          "--warmup-iterations", "50", "--zoom-out", "1", "--no-iou-crop", "--scale-jitter", "0.75,1.33",
          "--rotation", "10", "--affine-probability", "0.5", "--vertical-flip", "--cache-images",
          "--workers", "1", "--threads", "2"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED_BCCD)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--val-every", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("runs/bccd"))
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"skipped: BCCD not found at {args.data} (it ships in ../shared beside the repository; "
              "pass --data to point at a copy)")
        return 0

    from ssd_ros_training.cli import add_parser, train_config
    from ssd_ros_training.engine import train
    from ssd_ros_training.export import export_onnx

    from ssd_ros.core import Detector
    from ssd_ros.datasets import load_dataset
    from ssd_ros.eval.dataset import evaluate_on_dataset

    options = ["--data", str(args.data), "--format", "voc", "--train-split", "trainval", "--val-split", "val",
               "--epochs", str(args.epochs), "--val-every", str(args.val_every), *RECIPE, "--out", str(args.out)]
    commands = argparse.ArgumentParser().add_subparsers()
    add_parser(commands)
    train_args = commands.choices["train"].parse_args(options)
    config = train_config(train_args)
    config.command = ["ssd-ros", "train", *options]
    print("ssd-ros train " + " ".join(options), flush=True)
    started = time.monotonic()
    result = train(config)
    train_minutes = (time.monotonic() - started) / 60
    export_onnx(result.last_checkpoint, args.out / "bccd.onnx")
    test = load_dataset(args.data, "voc", "test")
    evaluation = evaluate_on_dataset(Detector.load(args.out / "bccd.onnx"), test)
    metrics = evaluation.metrics
    print(f"\nBCCD test split, {metrics.images} images, {metrics.ground_truth_boxes} objects: trained "
          f"{result.epochs_run} epochs in {train_minutes:.1f} min (2-core CPU), last checkpoint, "
          f"{evaluation.mean_detect_ms:.1f} ms per image in the Detector")
    for name, value in metrics.ap_50_per_class.items():
        print(f"  AP@0.5 {name:<10} {value:.3f}")
    met = metrics.map_50 >= 0.70 and train_minutes <= 60
    print(f"  mAP@0.5    {metrics.map_50:.3f}   (COCO mAP {metrics.map:.3f}); "
          f"target mAP@0.5 >= 0.70 within 60 min: {'MET' if met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
