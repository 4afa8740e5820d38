"""Issue 13: checkpoint files that are malicious or foreign give one line and exit 2, never a traceback.

The malicious file is a real pickle whose payload would create a file if it ran; torch's safe loader
(weights_only=True) refuses it, and the payload's file never appears. The foreign file is a valid
torch file that is not an ssd-ros checkpoint.
"""
from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch")


class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.fixture
def bad_checkpoints(tmp_path):
    marker = tmp_path / "payload_ran"
    malicious = tmp_path / "malicious.pt"
    torch.save({"arch": "ssdlite320", "labels": ["background", "a"], "state_dict": _Payload(str(marker))}, malicious)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    return {"malicious": malicious, "foreign": foreign, "marker": marker}


def _one_line_exit_2(capsys, args) -> str:
    from ssd_ros.cli import main

    assert main([str(arg) for arg in args]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "Traceback" not in error, error
    return error


@pytest.mark.parametrize("kind", ["malicious", "foreign"])
def test_export_train_weights_and_resume_refuse_bad_files_in_one_line(kind, bad_checkpoints, tiny_voc, tmp_path,
                                                                        capsys):
    bad = bad_checkpoints[kind]
    error = _one_line_exit_2(capsys, ["export", bad, "--out", tmp_path / "out.onnx"])
    assert str(bad) in error and ("safe loader" in error if kind == "malicious" else "lacks" in error)
    common = ["train", "--data", tiny_voc, "--width-mult", "0.5", "--epochs", "1", "--batch-size", "4",
              "--workers", "0", "--no-tensorboard"]
    error = _one_line_exit_2(capsys, [*common, "--weights", bad, "--out", tmp_path / "run_weights"])
    assert str(bad) in error
    resume_dir = tmp_path / "run_resume"
    resume_dir.mkdir()
    (resume_dir / "last.pt").write_bytes(bad.read_bytes())
    error = _one_line_exit_2(capsys, [*common, "--resume", "--out", resume_dir])
    assert "--resume checkpoint" in error
    assert not bad_checkpoints["marker"].exists(), "the payload ran"


def test_negative_thread_counts_are_usage_errors(tmp_path, capsys):
    from ssd_ros.cli import main

    for args in (["train", "--data", tmp_path, "--out", tmp_path / "o", "--threads", "-5"],
                 ["export", tmp_path / "x.pt", "--out", tmp_path / "o.onnx", "--threads", "-5"],
                 ["detect", "--model", tmp_path / "m.onnx", "--threads", "-5", tmp_path / "a.png"]):
        with pytest.raises(SystemExit) as exited:
            main([str(arg) for arg in args])
        assert exited.value.code == 2
        assert "--threads: must be 0 or more, got -5" in capsys.readouterr().err
