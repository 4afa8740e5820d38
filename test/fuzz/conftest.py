"""The fuzz suite: seeded malformed inputs through the code users run (see each module's docstring).

The bag cases build their bags with the evaluation tests' helpers (test/eval/eval_helpers.py).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
