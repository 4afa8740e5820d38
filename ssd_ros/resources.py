"""Where the package's installed files are: the embedded default model, configs, message definitions.

Contract: paths resolve in this order, and the first that exists wins:
1. the ament index (a colcon/ROS install: ``share/ssd_ros/<relative>``),
2. the source tree this module was imported from (a clone, or ``pip install -e``),
3. ``<sys.prefix>/share/ssd_ros/<relative>`` (a plain ``pip install``).
"""
from __future__ import annotations

import sys
from pathlib import Path

PACKAGE = "ssd_ros"
DEFAULT_MODEL = "models/default/model.onnx"
SOURCE_ROOT = Path(__file__).resolve().parent.parent


def _ament_share() -> Path | None:
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    except ImportError:
        return None
    try:
        return Path(get_package_share_directory(PACKAGE))
    except (PackageNotFoundError, LookupError, OSError):  # OSError: no AMENT_PREFIX_PATH (not a ROS install)
        return None


def share_path(relative: str) -> Path:
    """The installed file or folder ``relative`` (e.g. "config/detector.yaml").

    FileNotFoundError says where it looked.
    """
    candidates = [root / relative for root in (_ament_share(), SOURCE_ROOT, Path(sys.prefix) / "share" / PACKAGE)
                  if root is not None]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    searched = ", ".join(str(candidate) for candidate in candidates)
    raise FileNotFoundError(f"{relative} is not installed (looked in {searched}); reinstall ssd_ros "
                            "(colcon build, or make setup in a clone)")


def default_model_path() -> Path:
    """The embedded default model, trained by the training package on its synthetic data."""
    return share_path(DEFAULT_MODEL)
