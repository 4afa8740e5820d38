"""``make bench``: every benchmark, one after the other (each prints its own side-by-side table)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["bench_core.py", "bench_node.py", "bench_eval.py"]


def main() -> int:
    failures = 0
    for name in BENCHMARKS:
        print(f"\n===== {name} =====", flush=True)
        failures += subprocess.run([sys.executable, str(HERE / name)]).returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
