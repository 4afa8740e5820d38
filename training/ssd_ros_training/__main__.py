"""``python -m ssd_ros_training train|export|synth ...``: the training commands on their own.

This is what ``torchrun --nproc_per_node=N -m ssd_ros_training train ...`` runs in each process;
the options are those of ``ssd-ros train`` (same parser).
"""
from __future__ import annotations

import argparse
import sys

from ssd_ros_training.cli import add_parser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ssd_ros_training", description=__doc__.splitlines()[0])
    add_parser(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
