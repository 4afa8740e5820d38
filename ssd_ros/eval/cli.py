"""``ssd-ros eval``: measure a model's mAP on a labelled dataset (rosbag input is not built yet).

    ssd-ros eval --model M.onnx --data DIR [--format voc] [--split test] [--min-map 0.5] [--json]

Prints COCO mAP@[.5:.95], mAP@.5, mAP@.75 and AP@.5 per class; ``--min-map`` exits with code 1
when mAP@.5 is below it (a CI gate).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("eval", help="measure mAP on a labelled dataset",
                                   description="Measure a model's mAP on a labelled dataset.")
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--model-config", type=Path)
    parser.add_argument("--data", required=True, type=Path, help="dataset folder")
    parser.add_argument("--format", default="voc", choices=["voc"])
    parser.add_argument("--split", default=None, help="dataset split, e.g. test (default: every image)")
    parser.add_argument("--backend", default="onnxruntime")
    parser.add_argument("--score-threshold", type=float, default=0.01)
    parser.add_argument("--min-map", type=float, default=None, help="exit 1 if mAP@0.5 is below this")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from ssd_ros.core import Detector, ModelLoadError, PostprocessConfig
    from ssd_ros.datasets import DatasetError, load_dataset
    from ssd_ros.eval.dataset import evaluate_on_dataset

    try:
        detector = Detector.load(args.model, args.model_config, backend=args.backend)
        dataset = load_dataset(args.data, args.format, args.split)
        result = evaluate_on_dataset(detector, dataset, PostprocessConfig(score_threshold=args.score_threshold))
    except (ModelLoadError, DatasetError) as error:
        print(f"ssd-ros eval: {error}", file=sys.stderr)
        return 2
    metrics = result.metrics
    if args.json:
        print(json.dumps({**asdict(metrics), "mean_detect_ms": result.mean_detect_ms}, indent=2))
    else:
        print(f"{args.model.name} on {args.data} ({args.split or 'all'}): {metrics.images} images, "
              f"{metrics.ground_truth_boxes} objects, {result.mean_detect_ms:.1f} ms per image")
        print(f"  mAP@[.5:.95] {metrics.map:.3f}   mAP@.5 {metrics.map_50:.3f}   mAP@.75 {metrics.map_75:.3f}")
        for name, value in metrics.ap_50_per_class.items():
            print(f"  AP@.5 {name:<20} {value:.3f}")
    if args.min_map is not None and metrics.map_50 < args.min_map:
        print(f"ssd-ros eval: mAP@.5 {metrics.map_50:.3f} is below --min-map {args.min_map}", file=sys.stderr)
        return 1
    return 0
