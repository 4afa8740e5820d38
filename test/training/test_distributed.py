"""DistributedDataParallel under torchrun: 2 CPU processes (gloo) train a few steps on a shared dataset
and leave one working model: one checkpoint set, one log, written by rank 0 only."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ssd_ros_training.export import export_onnx  # noqa: E402

from ssd_ros.core import Detector, PostprocessConfig  # noqa: E402
from ssd_ros.datasets import load_dataset  # noqa: E402


def test_torchrun_two_gloo_processes_train_one_model(tiny_voc, start_weights, tmp_path):
    out = tmp_path / "run"
    command = [str(Path(sys.executable).with_name("torchrun")), "--standalone", "--nproc_per_node=2",
               "-m", "ssd_ros_training", "train", "--data", str(tiny_voc), "--format", "voc", "--width-mult", "0.5",
               "--epochs", "2", "--batch-size", "4", "--lr", "1e-4", "--warmup-iterations", "2", "--val-every", "1",
               "--workers", "0", "--threads", "1", "--device", "cpu", "--weights", str(start_weights),
               "--out", str(out)]
    # gloo between the two local processes over loopback only
    environment = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300, env=environment)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert "DistributedDataParallel: 2 processes (gloo), 2 steps of 4 images per process" in finished.stdout
    assert finished.stdout.count("best checkpoint:") == 2  # every rank finishes ...
    assert finished.stdout.count("epoch 2: loss") == 1  # ... but only rank 0 reports, validates and writes
    assert sorted(p.name for p in out.iterdir()) == ["best.pt", "last.pt", "log.csv", "tensorboard"]
    assert len(list((out / "tensorboard").iterdir())) == 1
    assert len((out / "log.csv").read_text().splitlines()) == 3

    state = torch.load(str(out / "last.pt"), weights_only=True)
    assert state["epoch"] == 1 and state["global_step"] == 4  # 9 images per rank, batches of 4: 2 steps per epoch
    assert state["dataset"]["train_images"] == 18 and 0.0 <= state["validation"]["map_50"] <= 1.0
    start = torch.load(str(start_weights), weights_only=True)
    assert not all(torch.equal(start[name], state["state_dict"][name]) for name in start)  # it trained

    image = cv2.imread(str(load_dataset(tiny_voc, "voc", "val")[0].image_path))[:, :, ::-1].copy()
    export_onnx(out / "best.pt", tmp_path / "ddp.onnx", [image])  # onnxruntime reproduces the DDP-trained model
    detections = Detector.load(tmp_path / "ddp.onnx").detect(image, "rgb", PostprocessConfig(score_threshold=0.01))
    assert len(detections.boxes) > 0 and np.isfinite(detections.scores).all()
