"""argparse value types shared by the ``ssd-ros`` commands: a bad value is a one-line usage error (exit 2).

Contract: each function takes the option's text and returns the value or raises
``argparse.ArgumentTypeError`` saying what was expected, so argparse prints
``ssd-ros COMMAND: error: argument --threads: ...`` and exits 2 before the command runs.
"""
from __future__ import annotations

import argparse
import math


def _integer(text: str) -> int:
    stripped = text.strip()
    if not (stripped.lstrip("+-").isascii() and stripped.lstrip("+-").isdigit()):
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    return int(stripped)


def non_negative_int(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def positive_int(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def fraction(text: str) -> float:
    """A finite number within [0, 1] (score and IoU thresholds)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number within [0, 1], got {text!r}") from None
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise argparse.ArgumentTypeError(f"must be within [0, 1], got {text}")
    return value


def positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value
