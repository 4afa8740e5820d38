"""Fuzzing ``ssd-ros eval`` with damaged bags: random bytes overwritten in sqlite3 and MCAP files.

Every run must end in exit 0 with every frame accounted for (read = evaluated + unmatched +
unreadable), or in exit 2 with one line on stderr: never a traceback, never an exception out of
the command. Cases: ``SSD_ROS_FUZZ_BAG_CASES`` per storage (default 5; ``make fuzz``: 50), seeded.
"""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from eval_helpers import IMAGE_TOPIC, TRUTH_TOPIC, assert_frames_accounted, eval_report, scene_bag

CASES = int(os.environ.get("SSD_ROS_FUZZ_BAG_CASES", "5"))
SEED = int(os.environ.get("SSD_ROS_FUZZ_SEED", "13"))


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_damaged_bags_end_in_an_accounted_report_or_one_line(storage, tmp_path, capsys):
    clean = scene_bag(tmp_path / "clean", frames=4, storage=storage)
    bag_file = next(path for path in clean.iterdir() if path.suffix in (".db3", ".mcap"))
    original = bag_file.read_bytes()
    rng = np.random.default_rng(SEED)
    outcomes = {0: 0, 2: 0}
    for case in range(CASES):
        damaged = tmp_path / f"damaged_{case}"
        shutil.copytree(clean, damaged)
        data = bytearray(original)
        for _ in range(int(rng.integers(1, 4))):
            start, length = int(rng.integers(0, len(data))), int(rng.integers(1, 256))
            data[start:start + length] = rng.integers(0, 256, len(data[start:start + length]), np.uint8).tobytes()
        (damaged / bag_file.name).write_bytes(bytes(data))
        try:
            code, report = eval_report(tmp_path / f"report_{case}", "--bag", damaged, "--image-topic", IMAGE_TOPIC,
                                       "--gt-topic", TRUTH_TOPIC)
        except Exception as error:
            pytest.fail(f"case {case} (seed {SEED}, {storage}) escaped the command: {error!r}")
        captured = capsys.readouterr()
        assert code in (0, 2), (case, code, captured.err)
        outcomes[code] += 1
        if code == 0:
            assert_frames_accounted(report)
        else:
            assert len(captured.err.strip().splitlines()) == 1 and "Traceback" not in captured.err, captured.err
    print(f"\n{storage}: {CASES} damaged bags, {outcomes}")
