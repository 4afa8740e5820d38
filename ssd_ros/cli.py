"""``ssd-ros``: one command line for detection, evaluation, bags, training and export.

Each sub-command lives in the module that implements it and registers itself through an
``add_parser(subparsers)`` function. argparse needs every parser up front, so those modules
import nothing heavy (torch, onnxruntime, rclpy) at module level: heavy imports happen inside
the command's function.

Training commands come from the optional ``ssd_ros_training`` package (``training/``), which
pulls in PyTorch; without it those commands explain how to install it.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# command name(s) -> module providing add_parser(subparsers)
COMMAND_MODULES = [
    "ssd_ros.detect_cli",
    "ssd_ros.eval.cli",
    "ssd_ros.eval.bag_cli",
    "ssd_ros.datasets.cli",
]
TRAINING_MODULE = "ssd_ros_training.cli"
TRAINING_COMMANDS = ("train", "export", "synth")
TRAINING_HINT = (
    "the '{command}' command needs the training package (PyTorch, torchvision): "
    "install it with `pip install -e training/` from the ssd_ros repository "
    "(`make setup` does this)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ssd-ros", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(subparsers)
    try:
        training = importlib.import_module(TRAINING_MODULE)
    except ModuleNotFoundError as error:
        if error.name is None or not TRAINING_MODULE.startswith(error.name):
            raise
        for command in TRAINING_COMMANDS:
            missing = subparsers.add_parser(command, help="(needs the training package)", add_help=False)
            missing.set_defaults(func=_training_missing(command))
            missing.add_argument("rest", nargs=argparse.REMAINDER)
    else:
        training.add_parser(subparsers)
    return parser


def _training_missing(command: str):
    def report(_args: argparse.Namespace) -> int:
        print(f"ssd-ros: {TRAINING_HINT.format(command=command)}", file=sys.stderr)
        return 2

    return report


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
