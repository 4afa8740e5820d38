"""``ssd-ros train | export | synth``: registered into the ssd-ros command line (no torch import here)."""
from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    train = subparsers.add_parser("train", help="train an SSD on a VOC dataset")
    train.add_argument("--data", required=True)
    train.add_argument("--format", default="voc", choices=["voc"])
    train.add_argument("--arch", default="ssdlite320", choices=["ssdlite320", "ssd300"])
    train.add_argument("--width-mult", type=float, default=1.0, help="MobileNetV3 width (ssdlite320 only)")
    train.add_argument("--epochs", type=int, default=120)
    train.add_argument("--batch-size", type=int, default=16)
    train.add_argument("--lr", type=float, default=2e-3)
    train.add_argument("--val-every", type=int, default=5)
    train.add_argument("--workers", type=int, default=2)
    train.add_argument("--threads", type=int, default=0)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--weights", help="local torchvision checkpoint to start from (transfer learning)")
    train.add_argument("--patience", type=int, default=0, help="stop after this many epochs without improvement")
    train.add_argument("--resume", action="store_true")
    train.add_argument("--out", required=True)
    train.set_defaults(func=run_train)

    export = subparsers.add_parser("export", help="export a checkpoint to a self-describing ONNX model")
    export.add_argument("checkpoint", type=Path)
    export.add_argument("--out", required=True, type=Path)
    export.add_argument("--check-data", help="VOC folder whose images check torch/onnxruntime parity")
    export.set_defaults(func=run_export)

    synth = subparsers.add_parser("synth", help="write a synthetic detection dataset (VOC layout)")
    synth.add_argument("--out", required=True, type=Path)
    synth.add_argument("--images", type=int, default=1000)
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--width", type=int, default=320)
    synth.add_argument("--height", type=int, default=240)
    synth.set_defaults(func=run_synth)


def run_train(args: argparse.Namespace) -> int:
    from ssd_ros_training.engine import TrainConfig, train

    config = TrainConfig(data=args.data, out=args.out, format=args.format, arch=args.arch, width_mult=args.width_mult,
                         epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, val_every=args.val_every,
                         workers=args.workers, threads=args.threads, seed=args.seed, weights=args.weights,
                         patience=args.patience, resume=args.resume)
    print(f"best checkpoint: {train(config)}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    import cv2

    from ssd_ros.datasets import load_dataset
    from ssd_ros_training.export import export_onnx

    images = []
    if args.check_data:
        for annotation in list(load_dataset(args.check_data, "voc"))[:4]:
            images.append(cv2.imread(str(annotation.image_path))[:, :, ::-1].copy())
    spec = export_onnx(args.checkpoint, args.out, images)
    print(f"wrote {args.out}: {spec.architecture}, {len(spec.labels) - 1} classes, "
          f"{spec.input.width}x{spec.input.height}, parity checked on {len(images)} images")
    return 0


def run_synth(args: argparse.Namespace) -> int:
    from ssd_ros_training.synth import write_voc_dataset

    sizes = write_voc_dataset(args.out, args.images, args.seed, args.width, args.height)
    print(f"wrote {args.images} images to {args.out}: {sizes}")
    return 0
