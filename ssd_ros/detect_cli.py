"""``ssd-ros detect``: run a model on image files with the same code the node runs.

Output: with ``--json`` one JSON object per image and line,
``{"image": path, "width": W, "height": H, "detections": [{"class_id", "label", "score", "bbox"}]}``
(bbox x1, y1, x2, y2 in pixels of the original image); otherwise a readable table. An unreadable
image (or one the model fails on) is reported on stderr in one line and the others are still
processed (exit code 1 at the end). Before the first image the model gets the node's trial run
(core.trial_run): a model that loads but cannot run a frame is one line and exit 2, as are bad
options (negative --threads, thresholds outside [0, 1], unknown or background --classes).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ssd_ros.cli_args import fraction, non_negative_int, positive_int
from ssd_ros.ros.params import BACKENDS, default


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("detect", help="detect objects in image files",
                                   description="Detect objects in image files with an SSD model.")
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    parser.add_argument("--model", required=True, type=Path, help="model file (.onnx, or .pt for --backend torch)")
    parser.add_argument("--model-config", type=Path, help="YAML sidecar for third-party models (models/examples)")
    parser.add_argument("--backend", default=default("backend"), choices=BACKENDS, help="(default: %(default)s)")
    parser.add_argument("--device", default=default("device"), help="(default: %(default)s)")
    parser.add_argument("--threads", type=non_negative_int, default=0,
                        help="CPU inference threads (0: backend default)")
    parser.add_argument("--precision", default=None, help="fp32, fp16, bf16 or int8 (backend dependent)")
    parser.add_argument("--score-threshold", type=fraction, default=default("score_threshold"),
                        help="minimum score of a reported detection (default: %(default)s, as the node)")
    parser.add_argument("--nms-iou", type=fraction, default=default("nms_iou_threshold"),
                        help="IoU above which class-wise NMS suppresses the weaker box (default: %(default)s)")
    parser.add_argument("--max-detections", type=positive_int, default=default("max_detections"),
                        help="most detections per image (default: %(default)s)")
    parser.add_argument("--classes", nargs="*", default=None, help="only these class names")
    parser.add_argument("--json", action="store_true", help="one JSON object per image")
    parser.add_argument("--save-dir", type=Path, help="write annotated copies of the images here")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import cv2

    from ssd_ros.core import Detector, PostprocessConfig, trial_run
    from ssd_ros.drawing import draw_detections
    from ssd_ros.errors import UserError
    from ssd_ros.ros.params import class_allowlist

    try:
        detector = Detector.load(args.model, args.model_config, backend=args.backend, device=args.device,
                                 num_threads=args.threads, precision=args.precision)
        trial_run(detector, f"model {args.model}")
        spec = detector.spec
        allowlist = class_allowlist(args.classes, spec.labels, spec.background_index) if args.classes else None
        post = PostprocessConfig(score_threshold=args.score_threshold, nms_iou_threshold=args.nms_iou,
                                 max_detections=args.max_detections, class_allowlist=allowlist)
    except (UserError, ValueError) as error:
        print(f"ssd-ros detect: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    if args.save_dir:
        args.save_dir.mkdir(parents=True, exist_ok=True)

    failures = 0
    for path in args.images:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            print(f"ssd-ros detect: cannot read {path} as an image (missing, or not JPEG/PNG/BMP/TIFF)",
                  file=sys.stderr)
            failures += 1
            continue
        try:
            detections = detector.detect(image, color="bgr", post=post)
        except Exception as error:  # one image the model fails on: reported, the others still run
            print(f"ssd-ros detect: {path}: detection failed ({type(error).__name__}: "
                  f"{' '.join(str(error).split())[:300]})", file=sys.stderr)
            failures += 1
            continue
        if args.json:
            print(json.dumps({"image": str(path), **detections.to_json_dict()}), flush=True)
        else:
            print_table(path, detections, detector.last_timings)
        if args.save_dir:
            cv2.imwrite(str(args.save_dir / path.name), draw_detections(image, detections, color="bgr"))
    return 1 if failures else 0


def print_table(path: Path, detections, timings: dict[str, float]) -> None:
    total_ms = sum(timings.values())
    print(f"{path}  {detections.image_width}x{detections.image_height}  {len(detections)} detections  "
          f"({total_ms:.1f} ms)")
    for box, score, label in zip(detections.boxes, detections.scores, detections.label_names, strict=True):
        x1, y1, x2, y2 = (float(v) for v in box)
        print(f"  {label:<20} {score:6.3f}   [{x1:7.1f} {y1:7.1f} {x2:7.1f} {y2:7.1f}]")
