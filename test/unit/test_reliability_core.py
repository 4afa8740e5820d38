"""Issue 13 without ROS: the trial run, model file checks, frame headers and limits, allow-lists, lock folder.

Models are real ONNX graphs (test/model_faults.py) run by onnxruntime; frames are real PNG/JPEG
streams made by OpenCV, their sizes read from the header compared with what OpenCV decodes.
"""
from __future__ import annotations

import os
import stat
import subprocess
import sys

import cv2
import numpy as np
import pytest
from fuzz_inputs import png_bomb
from model_faults import classifier, default_model_sidecar, describe, dynamic_ssd

from ssd_ros.camera_frames import FrameError, FrameTooLarge, compressed_size, compressed_to_frame, image_to_frame
from ssd_ros.core import Detector, ModelLoadError, ModelSpecError, ModelTrialError, trial_run
from ssd_ros.resources import default_model_path


class Message:  # the fields camera_frames reads (it takes rclpy and rosbags messages alike)
    def __init__(self, **fields) -> None:
        self.__dict__.update({"encoding": "", "height": 0, "width": 0, "step": 0, "is_bigendian": 0, "data": b"",
                              "format": "", **fields})


def test_the_trial_run_passes_a_good_model_and_refuses_models_that_cannot_serve(tmp_path):
    assert len(trial_run(Detector.load(default_model_path()))) > 0
    dynamic = dynamic_ssd(tmp_path / "dynamic.onnx", columns=5)
    assert len(trial_run(Detector.load(dynamic, describe(dynamic, ["background", "a", "b", "c", "d"])))) > 0
    with pytest.raises(ModelTrialError, match=r"class ids \[3, 4\] but has only 3 labels"):
        trial_run(Detector.load(dynamic, describe(dynamic, ["background", "a", "b"])))
    not_ssd = classifier(tmp_path / "classifier.onnx")
    with pytest.raises(ModelTrialError, match="cannot run a 64x48 frame"):
        trial_run(Detector.load(not_ssd, describe(not_ssd, ["background", "a"])))
    wrong_size = default_model_sidecar(tmp_path / "wrong_size.yaml", input_changes={"width": 300, "height": 300})
    with pytest.raises(ModelLoadError, match="300"):  # at load (description vs graph) or at the trial run
        trial_run(Detector.load(default_model_path(), wrong_size))


def test_model_paths_are_named_for_what_they_are(tmp_path):
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    for path, fragment in ((tmp_path, "is a directory"), ("/dev/zero", "not a regular file"),
                           (empty, "is empty"), (tmp_path / "missing.onnx", "does not exist")):
        with pytest.raises(ModelSpecError, match=fragment):
            Detector.load(path)


def test_a_failed_torch_backend_load_does_not_import_torch():
    code = ("import sys\nfrom ssd_ros.core import Detector, ModelLoadError\n"
            f"try:\n    Detector.load({str(default_model_path())!r}, backend='torch')\n"
            "except ModelLoadError as error:\n    print('refused:', error)\n"
            "print('torch imported:', 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    assert "refused:" in out and "not a PyTorch checkpoint" in out and "torch imported: False" in out, out


@pytest.mark.parametrize(("codec", "size"), [(".png", (37, 23)), (".jpg", (640, 480)), (".jpg", (1, 1)),
                                             (".png", (1000, 3))])
def test_header_sizes_match_what_opencv_decodes(codec, size):
    width, height = size
    data = cv2.imencode(codec, np.random.default_rng(0).integers(0, 256, (height, width, 3), np.uint8))[1]
    kind, header_width, header_height = compressed_size(data.tobytes())
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    assert (header_width, header_height) == (decoded.shape[1], decoded.shape[0]) == size
    assert kind == ("png" if codec == ".png" else "jpeg")
    progressive = cv2.imencode(".jpg", decoded, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes()
    assert compressed_size(progressive)[1:] == size


def test_a_decompression_bomb_is_refused_from_its_header():
    bomb = Message(format="png", data=png_bomb(8000, 6000))  # 48 MP in ~50 KB
    with pytest.raises(FrameTooLarge, match=r"8000x6000 = 48000000 pixels, more than the limit of 40000000"):
        compressed_to_frame(bomb)
    with pytest.raises(FrameTooLarge):
        compressed_to_frame(Message(format="png", data=cv2.imencode(".png", np.zeros((20, 30, 3), np.uint8))[1]),
                            max_pixels=599)
    assert compressed_to_frame(Message(format="png", data=cv2.imencode(".png", np.zeros((20, 30, 3), np.uint8))[1]),
                               max_pixels=600)[0].shape == (20, 30, 3)
    with pytest.raises(FrameTooLarge):  # raw frames: from the fields, before any pixel is touched
        image_to_frame(Message(encoding="rgb8", height=60000, width=60000, step=180000, data=b"\0" * 10))
    with pytest.raises(FrameError, match="could not decode 20 bytes of format 'bmp'"):
        compressed_to_frame(Message(format="bmp", data=cv2.imencode(".bmp", np.zeros((4, 4, 3), np.uint8))[1][:20]))


def test_sender_controlled_strings_are_shortened_in_errors():
    with pytest.raises(FrameError) as raised:
        image_to_frame(Message(encoding="x" * 3000, height=2, width=2, step=6, data=bytes(12)))
    assert len(str(raised.value)) < 400 and "3000 characters" in str(raised.value)
    with pytest.raises(FrameError) as raised:
        compressed_to_frame(Message(format="f" * 3000, data=b"junk"))
    assert len(str(raised.value)) < 400


def test_allow_lists_that_can_never_publish_are_refused():
    from ssd_ros.ros.params import class_allowlist

    labels = ("background", "circle", "square")
    for entries in (["background"], ["0"], ["circle", "0"]):
        with pytest.raises(ValueError, match=r"background class .* never published"):
            class_allowlist(entries, labels, 0)
    with pytest.raises(ValueError, match=r"does not know: \['²'\]"):
        class_allowlist(["²"], labels, 0)
    with pytest.raises(ValueError, match=r"does not know: \['٣'\]"):
        class_allowlist(["٣"], labels, 0)
    assert class_allowlist(["circle", "2", " 1 "], labels, 0) == frozenset({1, 2})
    assert class_allowlist(["0"], ("cat", "dog"), None) == frozenset({0})  # no background: 0 is a class


def test_the_domain_lock_folder_is_private_and_never_follows_symlinks(tmp_path, monkeypatch):
    from ssd_ros import sandbox

    folder = tmp_path / "locks"
    monkeypatch.setattr(sandbox, "_LOCK_DIR", folder)
    monkeypatch.setattr(sandbox, "_held_locks", {})
    target = tmp_path / "elsewhere"
    monkeypatch.setattr(sandbox, "FIRST_DOMAIN", 5)
    monkeypatch.setattr(sandbox, "LAST_DOMAIN", 6)
    folder.mkdir(mode=0o777)
    os.chmod(folder, 0o777)
    os.symlink(target, folder / "5.lock")  # planted: must not be followed (O_CREAT would create target)
    domain = sandbox.claim_domain_id()
    assert domain == 6 and not target.exists()
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    sandbox.release_domain_id(domain)
    link = tmp_path / "link_to_folder"
    os.symlink(folder, link)
    monkeypatch.setattr(sandbox, "_LOCK_DIR", link)
    with pytest.raises(sandbox.NoFreeDomainError, match="symlink"):
        sandbox.claim_domain_id()
