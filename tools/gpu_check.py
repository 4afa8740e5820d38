"""``make gpu-check``: the GPU paths of ssd_ros end to end, for the first machine with an NVIDIA GPU.

What it does (about 5-8 minutes on a datacenter GPU with a fast PyPI link; a 10-minute deadline is
enforced, and whatever is unfinished is reported as such):

1. Fails fast, before installing anything, without an NVIDIA GPU (``nvidia-smi -L``) or ``.venv``.
2. Builds one venv per TensorRT major under ``.gpu-check/`` that sees ``.venv`` (ROS wheels,
   project, numpy, torch) through a .pth file and installs on top of it from PyPI:
   TensorRT 10 (``tensorrt-cu12``) + ``cuda-python`` 12 + ``onnxruntime-gpu``; TensorRT 11
   (``tensorrt``, CUDA 13) with ``.venv``'s cuda-python 13.
3. Models: the default model (models/default/model.onnx) and an SSDlite320 with random weights and
   re-estimated BatchNorm (ssd_ros.torchvision_reference, exported with ``.venv``'s torch), plus
   symmetric int8 Q/DQ versions of both for TensorRT 11.
4. In each venv (through ``python -m ssd_ros.sandbox``: DDS on loopback, own domain id):
   - the import-and-attribute test of the backend (test/unit/test_tensorrt_backend_api.py);
   - engines FP32 / FP16 / INT8 (TensorRT 10: calibration cache from synthetic scenes; 11: the
     Q/DQ model; FP16 on 11 needs an AutoCast graph, so its clear refusal is what is checked), each
     run at batch 1 and 4 and compared with onnxruntime on CPU within TOLERANCES (finding 2, 3);
   - engine cache: a second start builds nothing, changed calibration data rebuilds (finding 5);
   - TensorRT 10 venv: onnxruntime's CUDA and TensorRT providers, the TensorRT provider's engine
     cache reused by a second session (findings 4, 5);
   - the detector node (backend tensorrt, device cuda) on two cameras, frames batched (finding 3).
5. Prints ONE JSON line: ``{"ok": ..., "checks": [{"name", "ok", ...}], "timings_s": {...}}``;
   exit 0 when every check passed, 1 when one failed, 2 when it could not run.

Findings 1 (Python 3.10) and 6 (camera drivers) need no GPU: test/test_python_version_floor.py,
``make lint`` and test/launch/test_jetson_camera.py cover them.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".gpu-check"
DEADLINE_S = 600.0
MAJORS = ("10", "11")
PACKAGES = {  # what each TensorRT venv installs from PyPI on top of .venv
    "10": ["tensorrt-cu12>=10.3,<11", "cuda-python>=12.6,<13", "onnxruntime-gpu[cuda,cudnn]"],
    "11": ["tensorrt>=11,<12"],
}
# Detections of a GPU engine against onnxruntime on CPU, same frames, score threshold 0.3: every
# detection scoring above the threshold + max_score_delta on one side has a partner on the other
# (same class, IoU >= min_iou, |score difference| <= max_score_delta); INT8 may miss some.
TOLERANCES = {
    "fp32": {"min_iou": 0.98, "max_score_delta": 0.01, "min_matched": 1.0},
    "fp16": {"min_iou": 0.90, "max_score_delta": 0.05, "min_matched": 1.0},
    "int8": {"min_iou": 0.70, "max_score_delta": 0.15, "min_matched": 0.8},
}
SCORE_THRESHOLD = 0.3


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gpu_check", description=__doc__.split("\n")[0])
    parser.add_argument("--tensorrt", default=",".join(MAJORS),
                        help="TensorRT majors to check, comma-separated (default: 10,11)")
    parser.add_argument("--deadline-s", type=float, default=DEADLINE_S, help="stop after this many seconds")
    parser.add_argument("--work-dir", type=Path, default=WORK, help="venvs, models and engines go here")
    parser.add_argument("--inner", metavar="MAJOR", help=argparse.SUPPRESS)  # run the checks inside a venv
    parser.add_argument("--models", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    majors = [m.strip() for m in args.tensorrt.split(",") if m.strip()]
    unknown = [m for m in majors if m not in MAJORS]
    if not majors or unknown:
        parser.error(f"--tensorrt takes {' and/or '.join(MAJORS)}, got {args.tensorrt!r}")
    args.majors = majors
    if args.deadline_s <= 0:
        parser.error("--deadline-s must be positive")
    return args


def iou(a: list[float], b: list[float]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    overlap = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap
    return overlap / union if union > 0 else 0.0


def compare_detections(reference: list[dict], candidate: list[dict], precision: str,
                       threshold: float = SCORE_THRESHOLD) -> dict[str, Any]:
    """Detections (``to_json_dict()["detections"]``) of a GPU run against the CPU reference, per TOLERANCES."""
    tolerance = TOLERANCES[precision]
    sure = threshold + tolerance["max_score_delta"]  # below this, a detection may fall on either side
    unmatched_reference, worst_iou, worst_delta = 0, 1.0, 0.0
    needed = [d for d in reference if d["score"] >= sure]
    for wanted in needed:
        partners = [(iou(wanted["bbox"], d["bbox"]), abs(wanted["score"] - d["score"])) for d in candidate
                    if d["class_id"] == wanted["class_id"]]
        best = max(partners, default=(0.0, 1.0))
        if best[0] < tolerance["min_iou"] or best[1] > tolerance["max_score_delta"]:
            unmatched_reference += 1
        else:
            worst_iou, worst_delta = min(worst_iou, best[0]), max(worst_delta, best[1])
    extra = sum(1 for d in candidate if d["score"] >= sure and not any(
        r["class_id"] == d["class_id"] and iou(r["bbox"], d["bbox"]) >= tolerance["min_iou"] for r in reference))
    matched = 1.0 if not needed else (len(needed) - unmatched_reference) / len(needed)
    ok = matched >= tolerance["min_matched"] and (extra == 0 or tolerance["min_matched"] < 1.0)
    return {"ok": ok, "reference": len(needed), "matched_fraction": round(matched, 3), "extra": extra,
            "worst_iou": round(worst_iou, 4), "worst_score_delta": round(worst_delta, 4)}


def summary(checks: list[dict[str, Any]], timings: dict[str, float], started: float, **facts: Any) -> str:
    """The one JSON line: ok only when there are checks and every one passed."""
    ok = bool(checks) and all(check.get("ok") is True for check in checks)
    document = {"ok": ok, **facts, "failed": [c["name"] for c in checks if c.get("ok") is not True],
                "checks": checks, "timings_s": {k: round(v, 2) for k, v in timings.items()},
                "total_s": round(time.monotonic() - started, 1)}
    return json.dumps(document, sort_keys=False, separators=(",", ":"))


def no_gpu_reason() -> str | None:
    """Why this machine cannot run the check, or None."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return "no NVIDIA GPU: nvidia-smi is not installed (make gpu-check needs an NVIDIA GPU and its driver)"
    try:
        listing = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"nvidia-smi -L failed: {error}"
    if listing.returncode != 0 or "GPU" not in listing.stdout:
        return f"nvidia-smi lists no GPU: {(listing.stdout + listing.stderr).strip()[:200]}"
    return None


# ---------------------------------------------------------------- outer: venvs, models, orchestration
class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return max(1.0, self.end - time.monotonic())


def _venv_site(python: Path) -> str:
    return subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()


def make_venv(work: Path, major: str, deadline: Deadline) -> Path:
    venv = work / f"venv-trt{major}"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "venv", str(venv)], check=True,
                       timeout=deadline.left())
        # sees .venv's packages (ROS wheels, the project, numpy, onnx, torch) after its own
        Path(_venv_site(python), "ssd_ros_dotvenv.pth").write_text(_venv_site(ROOT / ".venv" / "bin" / "python") + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PACKAGES[major]],
                   check=True, timeout=deadline.left())
    return python


EXPORT_SSDLITE = """
import sys
from pathlib import Path
import ssd_ros
sys.path.insert(0, str(Path(ssd_ros.__file__).resolve().parents[1] / "test"))  # the test helper's home
from torchvision_reference import random_ssd, export_raw_onnx
export_raw_onnx(random_ssd("ssdlite320", 21, seed=3), "ssdlite320", Path(sys.argv[1]))
"""

QUANTIZE_SYMMETRIC = """
import sys
import numpy as np
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from ssd_ros.core.preprocess import Preprocessor
from ssd_ros.core.spec import load_model_spec
from ssd_ros.synthetic import render_scene
source, target = sys.argv[1:3]
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 100
spec = load_model_spec(source)
prepare = Preprocessor(spec.input)
frames = [prepare(render_scene(np.random.default_rng(seed + i))[0], "rgb")[0] for i in range(16)]
class Reader(CalibrationDataReader):
    def __init__(self):
        self.items = iter([{"images": f} for f in frames])
    def get_next(self):
        return next(self.items, None)
quantize_static(source, target, Reader(), quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8, extra_options={"ActivationSymmetric": True, "WeightSymmetric": True})
import onnx
model = onnx.load(source)
quantized = onnx.load(target)
del quantized.metadata_props[:]
quantized.metadata_props.extend(model.metadata_props)
onnx.save(quantized, target)
"""


def prepare_models(work: Path, deadline: Deadline, timings: dict[str, float]) -> list[Path]:
    models = work / "models"
    models.mkdir(parents=True, exist_ok=True)
    python = str(ROOT / ".venv" / "bin" / "python")
    default = models / "default.onnx"
    shutil.copy(ROOT / "models" / "default" / "model.onnx", default)
    ssdlite = models / "ssdlite320.onnx"
    started = time.monotonic()
    if not ssdlite.exists():
        subprocess.run([python, "-c", EXPORT_SSDLITE, str(ssdlite)], check=True, cwd=ROOT, timeout=deadline.left())
    for model in (default, ssdlite):
        qdq = model.with_name(model.stem + ".qdq.onnx")
        if not qdq.exists():
            subprocess.run([python, "-c", QUANTIZE_SYMMETRIC, str(model), str(qdq)], check=True, cwd=ROOT,
                           timeout=deadline.left())
    timings["prepare_models"] = time.monotonic() - started
    return [default, ssdlite]


def outer(args: argparse.Namespace) -> int:
    started = time.monotonic()
    deadline = Deadline(args.deadline_s)
    timings: dict[str, float] = {}
    checks: list[dict[str, Any]] = []
    reason = no_gpu_reason()
    if reason is None and not (ROOT / ".venv" / "bin" / "python").exists():
        reason = "no .venv: run `make setup` first (make gpu-check does)"
    if reason is not None:
        print(summary([], timings, started, error=reason))
        return 2
    args.work_dir.mkdir(parents=True, exist_ok=True)
    try:
        models = prepare_models(args.work_dir, deadline, timings)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        print(summary([{"name": "prepare models", "ok": False, "error": str(error)}], timings, started))
        return 1
    for major in args.majors:
        name = f"tensorrt {major}"
        try:
            begun = time.monotonic()
            python = make_venv(args.work_dir, major, deadline)
            timings[f"install trt{major}"] = time.monotonic() - begun
            api = subprocess.run([str(python), "-m", "ssd_ros.sandbox", str(python), "-m", "pytest", "-q",
                                  "-p", "no:cacheprovider", "test/unit/test_tensorrt_backend_api.py"],
                                 cwd=ROOT, capture_output=True, text=True, timeout=deadline.left())
            checks.append({"name": f"{name}: import-and-attribute test", "ok": api.returncode == 0,
                           "tail": api.stdout.strip().splitlines()[-1:] if api.stdout else api.stderr[-300:]})
            inner = subprocess.run([str(python), "-m", "ssd_ros.sandbox", str(python), str(Path(__file__).resolve()),
                                    "--inner", major, "--work-dir", str(args.work_dir), "--deadline-s",
                                    str(deadline.left() - 5), "--models", *map(str, models)],
                                   cwd=ROOT, capture_output=True, text=True, timeout=deadline.left())
            lines = [line for line in inner.stdout.splitlines() if line.startswith("{")]
            if not lines:
                checks.append({"name": name, "ok": False, "error": (inner.stderr or inner.stdout)[-800:]})
                continue
            report = json.loads(lines[-1])
            checks.extend(report["checks"])
            timings.update({f"trt{major} {k}": v for k, v in report["timings_s"].items()})
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
            checks.append({"name": name, "ok": False, "error": str(error)[-800:]})
    print(summary(checks, timings, started))
    return 0 if all(check["ok"] for check in checks) else 1


# ---------------------------------------------------------------- inner: runs inside a TensorRT venv
def scenes(count: int, seed: int) -> list[Any]:
    import numpy as np

    from ssd_ros.synthetic import render_scene

    return [render_scene(np.random.default_rng(seed + i), 640, 480)[0] for i in range(count)]


def detect_all(detector: Any, frames: list[Any], batch: int) -> list[list[dict]]:
    from ssd_ros.core import PostprocessConfig

    post = PostprocessConfig(score_threshold=SCORE_THRESHOLD)
    results = []
    for start in range(0, len(frames), batch):
        results += detector.detect_batch(frames[start:start + batch], "rgb", post)
    return [r.to_json_dict()["detections"] for r in results]


def compare_runs(name: str, reference: list[list[dict]], candidate: list[list[dict]], precision: str) -> dict:
    per_frame = [compare_detections(r, c, precision) for r, c in zip(reference, candidate, strict=True)]
    return {"name": name, "ok": all(p["ok"] for p in per_frame), "frames": len(per_frame),
            "reference_detections": sum(p["reference"] for p in per_frame),
            "worst_matched_fraction": min(p["matched_fraction"] for p in per_frame),
            "worst_iou": min(p["worst_iou"] for p in per_frame),
            "worst_score_delta": max(p["worst_score_delta"] for p in per_frame),
            "extra": sum(p["extra"] for p in per_frame)}


def timed(timings: dict[str, float], key: str, function: Any, *args: Any, **kwargs: Any) -> Any:
    begun = time.monotonic()
    try:
        return function(*args, **kwargs)
    finally:
        timings[key] = time.monotonic() - begun


def write_calibration(model: Any, frames: list[Any], cache_file: Path, engine_dir: Path) -> Any:
    """TensorRT 8.6/10: calibrate on ``frames`` (preprocessed like the Detector); writes ``cache_file``."""
    from ssd_ros.core.backends import tensorrt_backend
    from ssd_ros.core.preprocess import Preprocessor
    from ssd_ros.core.spec import load_model_spec

    prepare = Preprocessor(load_model_spec(model).input)
    batches = iter([prepare(frame, "rgb")[0] for frame in frames])
    calibrator = tensorrt_backend.image_calibrator(batches, cache_file)
    return tensorrt_backend.cached_engine(model, "int8", str(engine_dir), calibrator)


def inner(args: argparse.Namespace) -> int:
    from ssd_ros.core import Detector, ModelLoadError
    from ssd_ros.core.backends import tensorrt_backend

    started = time.monotonic()
    deadline = Deadline(args.deadline_s)
    major, checks, timings = args.inner, [], {}  # type: ignore[var-annotated]
    engines = args.work_dir / f"engines-trt{major}"
    shutil.rmtree(engines, ignore_errors=True)
    frames = scenes(8, seed=7)
    strong = tensorrt_backend.strongly_typed_only()
    for model in args.models:
        reference = Detector.load(model, backend="onnxruntime", device="cpu")
        expected = detect_all(reference, frames, 1)
        for precision in ("fp32", "fp16", "int8"):
            if deadline.left() < 60:
                checks.append({"name": f"trt{major} {model.stem} {precision}", "ok": False, "error": "deadline"})
                continue
            source = model
            name = f"trt{major} {model.stem} {precision}"
            try:
                if precision == "int8" and strong:
                    source = model.with_name(model.stem + ".qdq.onnx")
                elif precision == "int8":
                    timed(timings, f"{model.stem} calibrate+build int8", write_calibration, model, scenes(16, 100),
                          model.with_suffix(".calib"), engines)
                if precision == "fp16" and strong:
                    try:
                        Detector.load(model, backend="tensorrt", device="cuda", precision="fp16",
                                      engine_cache_dir=str(engines))
                        checks.append({"name": name, "ok": False, "error": "fp16 on an fp32 graph was not refused"})
                    except ModelLoadError as error:
                        checks.append({"name": f"{name}: strongly typed refusal names AutoCast",
                                       "ok": "autocast" in str(error).lower()})
                    continue
                detector = timed(timings, f"{model.stem} {precision} build+load", Detector.load, source,
                                 backend="tensorrt", device="cuda", precision=precision, engine_cache_dir=str(engines))
                for batch in (1, 4):
                    got = timed(timings, f"{model.stem} {precision} detect 8 frames batch {batch}", detect_all,
                                detector, frames, batch)
                    checks.append(compare_runs(f"{name} batch {batch} vs onnxruntime cpu", expected, got, precision))
                checks.append({"name": f"{name}: engine batch profile", "ok": detector.backend.max_batch == 4,
                               "max_batch": detector.backend.max_batch})
            except Exception as error:  # report and go on: one JSON line lists every failure
                checks.append({"name": name, "ok": False, "error": f"{type(error).__name__}: {error}"[-600:]})
    checks += cache_checks(args.models[0], engines, strong, timings)
    if major == "10":
        checks += onnxruntime_checks(args.models[0], frames, args.work_dir / "ort-cache", timings)
    checks.append(node_check(args.models[0], engines, "fp32" if strong else "fp16", deadline, timings))
    print(summary(checks, timings, started))
    return 0


def cache_checks(model: Path, engines: Path, strong: bool, timings: dict[str, float]) -> list[dict]:
    """Second start reuses the engine; changed calibration data (8.6/10: the .calib cache; 11: the Q/DQ
    scales in the graph) gives another key and a rebuild, which the node's lookup then finds."""
    from ssd_ros.core.backends import tensorrt_backend

    built: list[Path] = []
    checks = []
    source = model.with_name(model.stem + ".qdq.onnx") if strong else model
    try:
        first = tensorrt_backend.cached_engine(source, "int8", str(engines), on_build=built.append)
        built.clear()
        again = timed(timings, "cached engine second start", tensorrt_backend.cached_engine, source, "int8",
                      str(engines), on_build=built.append)
        checks.append({"name": "engine cache: second start reuses", "ok": again == first and not built})
        if strong:  # re-quantized on other images: other scales, other graph hash
            subprocess.run([sys.executable, "-c", QUANTIZE_SYMMETRIC, str(model), str(source), "500"], check=True,
                           cwd=ROOT, timeout=300)
        else:  # export-time calibration on other images writes another .calib and its engine
            write_calibration(model, scenes(16, 500), model.with_suffix(".calib"), engines)
        built.clear()
        current = tensorrt_backend.cached_engine(source, "int8", str(engines), on_build=built.append)
        checks.append({"name": "engine cache: changed calibration data gives another engine", "ok": current != first,
                       "built_at_lookup": bool(built)})
    except Exception as error:
        checks.append({"name": "engine cache", "ok": False, "error": f"{type(error).__name__}: {error}"[-600:]})
    return checks


def onnxruntime_checks(model: Path, frames: list[Any], cache: Path, timings: dict[str, float]) -> list[dict]:
    import onnxruntime

    from ssd_ros.core import Detector

    checks: list[dict] = [{"name": "onnxruntime-gpu providers", "ok": {"CUDAExecutionProvider",
                                                                      "TensorrtExecutionProvider"}
                           <= set(onnxruntime.get_available_providers()),
                           "providers": onnxruntime.get_available_providers()}]
    expected = detect_all(Detector.load(model, backend="onnxruntime", device="cpu"), frames, 1)
    for device, precision in (("cuda", "fp32"), ("tensorrt", "fp16")):
        try:
            first = timed(timings, f"onnxruntime {device} session 1", Detector.load, model, backend="onnxruntime",
                          device=device, precision=precision, engine_cache_dir=str(cache))
            got = detect_all(first, frames, 4)
            checks.append({**compare_runs(f"onnxruntime {device} vs cpu", expected, got, precision),
                           "provider": first.device})
            if device == "tensorrt":
                timed(timings, "onnxruntime tensorrt session 2", Detector.load, model, backend="onnxruntime",
                      device=device, precision=precision, engine_cache_dir=str(cache))
                cached = [p for p in cache.rglob("*") if p.is_file() and p.suffix in (".engine", ".profile")]
                checks.append({"name": "onnxruntime tensorrt engine cache written and reused", "ok": bool(cached) and
                               timings["onnxruntime tensorrt session 2"] < timings["onnxruntime tensorrt session 1"],
                               "files": len(cached)})
        except Exception as error:
            checks.append({"name": f"onnxruntime {device}", "ok": False, "error": f"{type(error).__name__}: {error}"})
    return checks


def node_check(model: Path, engines: Path, precision: str, deadline: Deadline, timings: dict[str, float]) -> dict:
    """The detector node on the GPU with two cameras (this process is already in ssd_ros.sandbox's DDS setup)."""
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image
    from vision_msgs.msg import Detection2DArray

    from ssd_ros.ros.conversions import frame_to_image

    cameras = ("/gpu_cam_a/image_raw", "/gpu_cam_b/image_raw")
    command = [sys.executable, "-m", "ssd_ros.ros.detector_node", "--ros-args", "-p", f"model_path:={model}",
               "-p", "backend:=tensorrt", "-p", "device:=cuda", "-p", f"precision:={precision}",
               "-p", f"engine_cache_dir:={engines}", "-p", "max_batch_size:=4",
               "-p", f"image_topics:=[{','.join(cameras)}]", "-p", "publish_debug_image:=false"]
    node_process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    received: dict[str, int] = {camera: 0 for camera in cameras}
    begun = time.monotonic()
    rclpy.init()
    try:
        node = rclpy.create_node("gpu_check_cameras")
        publishers = [node.create_publisher(Image, camera, qos_profile_sensor_data) for camera in cameras]
        def counter(camera: str) -> Any:
            def count(_message: Any) -> None:
                received[camera] += 1
            return count

        for camera in cameras:
            node.create_subscription(Detection2DArray, camera.rpartition("/")[0] + "/detections", counter(camera), 10)
        frames = scenes(4, seed=900)
        limit = time.monotonic() + min(120.0, deadline.left() - 10)
        index = 0
        while time.monotonic() < limit and min(received.values()) < 10 and node_process.poll() is None:
            for camera, publisher in zip(cameras, publishers, strict=True):
                message = frame_to_image(frames[index % len(frames)], "rgb8")
                message.header.frame_id = camera
                message.header.stamp = node.get_clock().now().to_msg()
                publisher.publish(message)
            index += 1
            rclpy.spin_once(node, timeout_sec=0.1)
        timings["node two cameras"] = time.monotonic() - begun
        ok = min(received.values()) >= 10
        return {"name": "node on GPU, two cameras batched", "ok": ok, "detections_received": received,
                "node_log": "" if ok else (node_process.stdout.read()[-800:] if node_process.poll() is not None
                                           and node_process.stdout else "")}
    finally:
        rclpy.try_shutdown()
        if node_process.poll() is None:
            node_process.send_signal(2)
            try:
                node_process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                node_process.kill()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.inner:
        return inner(args)
    os.environ.pop("PYTHONPATH", None)
    return outer(args)


if __name__ == "__main__":
    sys.exit(main())
