"""``ssd-ros train | export | synth``: registered into the ssd-ros command line (no torch import here).

The same commands run as ``python -m ssd_ros_training train ...``, which is what
``torchrun --nproc_per_node=N -m ssd_ros_training train ...`` starts in every process.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ssd_ros.cli_args import non_negative_int
from ssd_ros.datasets.cli import add_voc_origin_argument

FORMATS = ["auto", "voc", "coco", "yolo", "csv"]


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.replace("x", ",").split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _size(text: str) -> tuple[int, int]:
    values = _floats(text)
    if len(values) != 2 or any(v <= 0 or not v.is_integer() for v in values):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels, e.g. 512x384, got {text!r}")
    return int(values[0]), int(values[1])


def _split(text: str) -> str | None:
    return None if text == "all" else text


def add_parser(subparsers) -> None:
    train = subparsers.add_parser("train", help="train an SSD on a VOC, COCO, YOLO or TensorFlow CSV dataset",
                                  description="Train an SSD (torchvision) on a labelled dataset.")
    data = train.add_argument_group("data")
    data.add_argument("--data", required=True, help="dataset folder (or COCO .json / TensorFlow .csv file)")
    data.add_argument("--format", default="auto", choices=FORMATS, help="default auto: from the folder's layout")
    data.add_argument("--train-split", type=_split, default="train",
                      help="a list file (ImageSets/Main/S.txt, S.txt, S_labels.csv), a split folder, a COCO file or "
                           "a YOLO data.yaml entry; 'all' for every image")
    data.add_argument("--val-split", type=_split, default="val")
    data.add_argument("--val-fraction", type=float, default=0.0,
                      help="validate on this seeded share of the training split instead of --val-split")
    data.add_argument("--cache-images", action="store_true", help="keep decoded images in memory")
    add_voc_origin_argument(data)
    model = train.add_argument_group("model")
    model.add_argument("--arch", default="ssdlite320", choices=["ssdlite320", "ssd300"])
    model.add_argument("--width-mult", type=float, default=1.0, help="MobileNetV3 width (ssdlite320 only)")
    model.add_argument("--input-size", type=_size, default=None, help="WIDTHxHEIGHT (default: the arch's own)")
    model.add_argument("--anchor-scales", type=_floats, default=None,
                       help="default-box scales, fractions of the input side, one per feature map plus one "
                            "(7 values; default torchvision's)")
    model.add_argument("--weights", help="local torchvision checkpoint to start from (transfer learning)")
    schedule = train.add_argument_group("optimisation")
    schedule.add_argument("--epochs", type=int, default=120, help="epochs (with --time-budget: at most)")
    schedule.add_argument("--time-budget", type=float, default=None, metavar="MIN",
                          help="train for this many minutes: the warm-up + cosine schedule is fitted to the time "
                               "(step time measured on the first steps and re-estimated every epoch), then the run "
                               "validates, saves and stops")
    schedule.add_argument("--batch-size", type=int, default=16, help="per process")
    schedule.add_argument("--lr", type=float, default=2e-3)
    schedule.add_argument("--weight-decay", type=float, default=1e-4)
    schedule.add_argument("--warmup-iterations", type=int, default=300)
    schedule.add_argument("--val-every", type=int, default=5)
    schedule.add_argument("--patience", type=int, default=0,
                          help="stop after this many epochs without improvement (0: never)")
    schedule.add_argument("--best-min-val-images", type=int, default=50,
                          help="with fewer validation images, best.pt is the last validated checkpoint (mAP on so "
                               "few images is noise)")
    schedule.add_argument("--best-tolerance", type=float, default=0.01,
                          help="mAP@0.5 differences up to this are noise: a later checkpoint wins them for best.pt")
    schedule.add_argument("--seed", type=int, default=0)
    schedule.add_argument("--multi-scale", type=_floats, default=(),
                          help="input-size factors drawn per batch, e.g. 0.75,1,1.25 (default off)")
    augment = train.add_argument_group("augmentation")
    augment.add_argument("--zoom-out", type=float, default=2.5, help="largest zoom-out ratio (1 = off)")
    augment.add_argument("--no-iou-crop", action="store_true", help="no IoU-constrained random crop")
    augment.add_argument("--scale-jitter", type=_floats, default=(0.85, 1.15), help="content scale range lo,hi")
    augment.add_argument("--rotation", type=float, default=5.0, help="largest rotation in degrees")
    augment.add_argument("--affine-probability", type=float, default=0.3,
                         help="share of images that get rotation and scale jitter")
    augment.add_argument("--vertical-flip", action="store_true", help="also flip up/down (top-down imagery)")
    run = train.add_argument_group("run")
    run.add_argument("--out", required=True)
    run.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    run.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    run.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    run.add_argument("--workers", type=non_negative_int, default=2)
    run.add_argument("--threads", type=non_negative_int, default=0, help="PyTorch CPU threads (0: its default)")
    run.add_argument("--no-tensorboard", action="store_true")
    run.add_argument("--tune", type=int, default=0, metavar="N",
                     help="instead of training: run N short Optuna trials and report the best settings")
    run.add_argument("--tune-epochs", type=int, default=5, help="epochs per tuning trial")
    train.set_defaults(func=run_train)

    export = subparsers.add_parser("export", help="export a checkpoint to a self-describing ONNX model",
                                   description="Export a checkpoint to ONNX (optionally INT8 / a TensorRT engine).")
    export.add_argument("checkpoint", type=Path)
    export.add_argument("--out", required=True, type=Path)
    export.add_argument("--check-data", help="dataset whose images check torch/onnxruntime parity")
    export.add_argument("--data-format", default="auto", choices=FORMATS, help="format of the dataset options")
    export.add_argument("--int8", action="store_true",
                        help="also write OUT with .int8.onnx: static INT8 for CPU (onnxruntime); with --tensorrt: "
                             "an INT8 TensorRT engine")
    export.add_argument("--calib-data", help="dataset whose images calibrate INT8 (e.g. the training set)")
    export.add_argument("--calib-split", type=_split, default=None, help="split of --calib-data (default all)")
    export.add_argument("--calib-images", type=int, default=100, help="number of calibration images")
    export.add_argument("--calib-method", default="minmax", choices=["minmax", "entropy", "percentile"])
    export.add_argument("--eval-data", help="dataset to report the INT8 mAP and speed change on "
                                            "(default: --calib-data)")
    export.add_argument("--eval-split", type=_split, default=None, help="split of the evaluation dataset")
    export.add_argument("--tensorrt", action="store_true", help="build the TensorRT engine into the engine cache")
    export.add_argument("--fp16", action="store_true", help="TensorRT FP16 engine (the default with --tensorrt)")
    export.add_argument("--engine-cache-dir", default=None, help="default ~/.cache/ssd_ros/engines")
    export.add_argument("--threads", type=non_negative_int, default=0,
                        help="onnxruntime threads for the INT8 comparison")
    export.set_defaults(func=run_export)

    synth = subparsers.add_parser("synth", help="write a synthetic detection dataset (VOC layout)")
    synth.add_argument("--out", required=True, type=Path)
    synth.add_argument("--images", type=int, default=1000)
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--width", type=int, default=320)
    synth.add_argument("--height", type=int, default=240)
    synth.set_defaults(func=run_synth)


def train_config(args: argparse.Namespace):
    from ssd_ros_training.engine import TrainConfig
    from ssd_ros_training.transforms import AugmentConfig

    if args.time_budget is not None and args.time_budget <= 0:
        raise SystemExit(f"ssd-ros train: --time-budget must be a positive number of minutes, got {args.time_budget:g}")
    if len(args.scale_jitter) != 2 or not 0 < args.scale_jitter[0] <= args.scale_jitter[1]:
        raise SystemExit(f"ssd-ros train: --scale-jitter needs lo,hi with 0 < lo <= hi, got {args.scale_jitter}")
    augment = AugmentConfig(zoom_out=args.zoom_out, iou_crop=not args.no_iou_crop,
                            scale_jitter=(args.scale_jitter[0], args.scale_jitter[1]), rotation=args.rotation,
                            affine_probability=args.affine_probability, vertical_flip=args.vertical_flip)
    return TrainConfig(
        data=args.data, out=args.out, format=args.format, arch=args.arch, width_mult=args.width_mult,
        input_size=args.input_size, anchor_scales=args.anchor_scales, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
        warmup_iterations=args.warmup_iterations, train_split=args.train_split, val_split=args.val_split,
        val_fraction=args.val_fraction, val_every=args.val_every, workers=args.workers, seed=args.seed,
        weights=args.weights, threads=args.threads, resume=args.resume, patience=args.patience, device=args.device,
        amp=not args.no_amp, multi_scale=args.multi_scale, augment=augment, cache_images=args.cache_images,
        tensorboard=not args.no_tensorboard, time_budget=args.time_budget,
        best_min_val_images=args.best_min_val_images, best_tolerance=args.best_tolerance, voc_origin=args.voc_origin,
        command=["ssd-ros", *sys.argv[1:]])


def run_train(args: argparse.Namespace) -> int:
    from ssd_ros.datasets import DatasetError

    config = train_config(args)
    try:
        if args.tune:
            from ssd_ros_training.tune import tune

            tuned = tune(config, args.tune, args.tune_epochs)
            print(f"\nbest of {tuned.trials} trials ({tuned.pruned} pruned): val mAP@0.5 {tuned.map_50:.3f}")
            print(f"  settings: {tuned.params}")
            print(f"  train with: ssd-ros train ... {tuned.options}   (written to {args.out}/tune/best.json)")
            return 0
        from ssd_ros_training.engine import train

        result = train(config)
    except (DatasetError, ValueError) as error:
        print(f"ssd-ros train: {error}", file=sys.stderr)
        return 2
    print(f"best checkpoint: {result.best_checkpoint} (val mAP@0.5 {result.best_map_50:.3f}, "
          f"{result.epochs_run} epochs)")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from ssd_ros.datasets import DatasetError
    from ssd_ros_training.tensorrt_export import TensorRtMissing, require_tensorrt

    try:
        if args.tensorrt:
            require_tensorrt()  # before spending time on anything else
        if args.int8 and not args.calib_data:
            raise ValueError("--int8 needs calibration images: pass --calib-data DIR (e.g. the training dataset)")
        if args.fp16 and not args.tensorrt:
            raise ValueError("--fp16 applies to TensorRT engines: add --tensorrt")
        _export(args)
    except (TensorRtMissing, DatasetError, ValueError) as error:
        print(f"ssd-ros export: {error}", file=sys.stderr)
        return 2
    return 0


def _export(args: argparse.Namespace) -> None:
    from ssd_ros.datasets import load_dataset
    from ssd_ros_training.data import read_rgb
    from ssd_ros_training.export import export_onnx

    images = []
    if args.check_data:
        images = [read_rgb(a.image_path) for a in list(load_dataset(args.check_data, args.data_format))[:4]]
    spec = export_onnx(args.checkpoint, args.out, images)
    print(f"wrote {args.out}: {spec.architecture}, {len(spec.labels) - 1} classes, "
          f"{spec.input.width}x{spec.input.height}, parity checked on {len(images)} images")
    calibration = []
    if args.int8:
        from ssd_ros_training.calibration import pick_images

        calibration = pick_images(args.calib_data, args.data_format, args.calib_split, args.calib_images)
    if args.int8 and not args.tensorrt:
        from ssd_ros_training.quantize import compare, quantize_int8

        int8_path = args.out.with_suffix(".int8.onnx")
        quantize_int8(args.out, int8_path, calibration, args.calib_method)
        print(f"wrote {int8_path}: static INT8 (QDQ), calibrated on {len(calibration)} images")
        evaluation = load_dataset(args.eval_data or args.calib_data, args.data_format, args.eval_split)
        print(compare(args.out, int8_path, evaluation, threads=args.threads).table())
    if args.tensorrt:
        from ssd_ros_training.tensorrt_export import build_tensorrt_engine

        precision = "int8" if args.int8 else "fp16"
        engine = build_tensorrt_engine(args.out, precision, calibration, args.engine_cache_dir)
        print(f"built TensorRT {precision} engine {engine}: the node with backend tensorrt loads it from the cache")


def run_synth(args: argparse.Namespace) -> int:
    from ssd_ros_training.synth import write_voc_dataset

    sizes = write_voc_dataset(args.out, args.images, args.seed, args.width, args.height)
    print(f"wrote {args.images} images to {args.out}: {sizes}")
    return 0
