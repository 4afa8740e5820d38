"""Where the tests find the checkout and the real third-party data (../shared, or SSD_ROS_SHARED)."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SSD_ROS_SHARED", REPO_ROOT.parent / "shared"))
