"""Train on the real BCCD blood-cell dataset (../shared/data/bccd) and report test mAP@0.5 per class.

Trains SSDlite320 on the trainval split, exports the best checkpoint to ONNX and evaluates it on
the test split with the core Detector (the node's code path), printing the wall time.
Target: mAP@0.5 >= 0.70 within 60 minutes of 2-core CPU training.

    tools/run python benchmarks/train_bccd.py [--epochs 40] [--out runs/bccd]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

SHARED_BCCD = Path(__file__).resolve().parents[2] / "shared" / "data" / "bccd" / "BCCD"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED_BCCD)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--width-mult", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=Path("runs/bccd"))
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"skipped: BCCD not found at {args.data} (it ships in ../shared beside the repository; "
              "pass --data to point at a copy)")
        return 0

    from ssd_ros_training.engine import TrainConfig, train
    from ssd_ros_training.export import export_onnx

    from ssd_ros.core import Detector
    from ssd_ros.datasets import load_dataset
    from ssd_ros.eval.dataset import evaluate_on_dataset

    started = time.monotonic()
    command = ["ssd-ros", "train", "--data", str(args.data), "--arch", "ssdlite320", "--epochs", str(args.epochs),
               "--out", str(args.out)]
    best = train(TrainConfig(data=str(args.data), out=str(args.out), arch="ssdlite320", width_mult=args.width_mult,
                             epochs=args.epochs, train_split="trainval", val_split="test", val_every=5,
                             threads=2, workers=1, command=command))
    train_minutes = (time.monotonic() - started) / 60
    export_onnx(best, args.out / "bccd.onnx")
    result = evaluate_on_dataset(Detector.load(args.out / "bccd.onnx"), load_dataset(args.data, "voc", "test"))
    print(f"\nBCCD test split, {result.metrics.images} images: trained {args.epochs} epochs in {train_minutes:.1f} min")
    for name, value in result.metrics.ap_50_per_class.items():
        print(f"  AP@0.5 {name:<10} {value:.3f}")
    met = result.metrics.map_50 >= 0.70 and train_minutes <= 60
    print(f"  mAP@0.5    {result.metrics.map_50:.3f}   (COCO mAP {result.metrics.map:.3f}); "
          f"target mAP@0.5 >= 0.70 within 60 min: {'MET' if met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
