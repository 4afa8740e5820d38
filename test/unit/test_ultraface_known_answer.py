"""A third-party SSD (UltraFace RFB-320, trained by its authors): our priors and decoding on its raw
head reproduce the authors' own decoded model, and the CLI finds the faces in real photos."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from ssd_ros.core import Detector, PostprocessConfig
from ssd_ros.core.boxes import decode

pytestmark = pytest.mark.shared
REPO_ROOT = Path(__file__).resolve().parents[2]
SIDECARS = REPO_ROOT / "models" / "examples"


@pytest.fixture(scope="module")
def ultraface(shared_dir):
    root = shared_dir / "models" / "ultraface"
    decoded = Detector.load(root / "version-RFB-320.onnx", SIDECARS / "ultraface-rfb-320.yaml")
    raw = Detector.load(root / "version-RFB-320_without_postprocessing.onnx", SIDECARS / "ultraface-rfb-320-raw.yaml")
    photos = sorted((shared_dir / "data" / "face_photos").glob("*.jpg"))
    return decoded, raw, photos


def test_priors_count_and_layout_follow_the_authors_configuration(ultraface):
    _, raw, _ = ultraface
    priors = raw._priors
    assert priors.shape == (4420, 4)
    # first map 30x40, sizes 10/16/24 px: the first prior sits in the first cell, 10 px wide and high
    assert priors[0].tolist() == pytest.approx([0.5 / 40, 0.5 / 30, 10 / 320, 10 / 240])
    assert priors[2].tolist() == pytest.approx([0.5 / 40, 0.5 / 30, 24 / 320, 24 / 240])
    assert priors[3].tolist() == pytest.approx([1.5 / 40, 0.5 / 30, 10 / 320, 10 / 240])


def test_raw_model_with_our_decoding_equals_the_authors_decoded_model(ultraface):
    decoded, raw, photos = ultraface
    for photo in photos[:6]:
        tensor, _ = decoded._preprocess(cv2.imread(str(photo)), "bgr")
        reference = decoded.backend.run(tensor)
        head = raw.backend.run(tensor)
        ours = decode(head["boxes"][0], raw._priors, raw.spec.priors.variances)
        np.testing.assert_allclose(ours, reference["boxes"][0], atol=1e-5, rtol=0)
        np.testing.assert_allclose(head["scores"][0], reference["scores"][0], atol=1e-5, rtol=0)


def test_both_models_give_the_same_faces(ultraface):
    decoded, raw, photos = ultraface
    post = PostprocessConfig(score_threshold=0.7, nms_iou_threshold=0.3)
    for photo in photos:
        frame = cv2.imread(str(photo))
        a, b = decoded.detect(frame, "bgr", post), raw.detect(frame, "bgr", post)
        assert len(a) == len(b)
        np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-2)


def test_cli_finds_the_faces(shared_dir, tmp_path):
    photos = sorted((shared_dir / "data" / "face_photos").glob("*.jpg"))
    command = [sys.executable, "-m", "ssd_ros.cli", "detect", "--model",
               str(shared_dir / "models" / "ultraface" / "version-RFB-320.onnx"),
               "--model-config", str(SIDECARS / "ultraface-rfb-320.yaml"), "--score-threshold", "0.7",
               "--nms-iou", "0.3", "--json", "--save-dir", str(tmp_path), *map(str, photos)]
    lines = subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()
    results = [json.loads(line) for line in lines]
    assert [r["image"] for r in results] == [str(p) for p in photos]
    faces = {Path(r["image"]).name: r["detections"] for r in results}
    assert sum(len(d) for d in faces.values()) >= 2 * len(photos)  # group photos: several faces each
    assert all(faces[name] for name in faces), "a photo with people and no face found"
    photo_13 = next(r for r in results if r["image"].endswith("/13.jpg"))
    assert (photo_13["width"], photo_13["height"]) == (450, 344)
    for face in photo_13["detections"]:
        x1, y1, x2, y2 = face["bbox"]
        assert face["label"] == "face" and face["score"] >= 0.7
        assert 0 <= x1 < x2 <= 450 and 0 <= y1 < y2 <= 344 and 20 < x2 - x1 < 200
    assert len(list(tmp_path.glob("*.jpg"))) == len(photos)
