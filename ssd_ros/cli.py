"""``ssd-ros``: one command line for detection, evaluation, bags, training and export.

Each sub-command lives in the module that implements it and registers itself through an
``add_parser(subparsers)`` function. argparse needs every parser up front, so those modules
import nothing heavy (torch, onnxruntime, rclpy) at module level: heavy imports happen inside
the command's function.

Training commands come from the optional ``ssd_ros_training`` package (``training/``), which
pulls in PyTorch; without it those commands explain how to install it.

Errors: every command exits 2 with one line ``ssd-ros COMMAND: what is wrong`` on bad input. Commands
catch what they expect; ``main`` is the net under them: a ``UserError`` (ssd_ros/errors.py, the base of
every package's errors) is printed as its message, anything else as one line naming the exception
(the traceback only with SSD_ROS_TRACEBACK=1). Exit codes: 0 done, 1 the command's own failure
verdict (e.g. --min-map), 2 bad input or an error, 130 interrupted.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from ssd_ros.errors import UserError

# command name(s) -> module providing add_parser(subparsers)
COMMAND_MODULES = [
    "ssd_ros.detect_cli",
    "ssd_ros.eval.cli",
    "ssd_ros.bags.cli",
    "ssd_ros.datasets.cli",
    "ssd_ros.model_cli",
    "ssd_ros.ros.doctor",
    "ssd_ros.benchmark.cli",
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
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"ssd-ros {args.command}: interrupted", file=sys.stderr)
        return 130
    except UserError as error:
        print(f"ssd-ros {args.command}: {_one_line(error)}", file=sys.stderr)
        return 2
    except Exception as error:  # a bug or an unforeseen input: still one line, never a traceback by default
        if os.environ.get("SSD_ROS_TRACEBACK"):
            traceback.print_exc()
        print(f"ssd-ros {args.command}: unexpected {type(error).__name__}: {_one_line(error)} (set "
              "SSD_ROS_TRACEBACK=1 for the traceback and report it)", file=sys.stderr)
        return 2


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


if __name__ == "__main__":
    sys.exit(main())
