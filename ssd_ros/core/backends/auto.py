"""Backend "auto": the fastest CPU backend for this model on this machine, measured once, then cached.

Contract:
- ``load(model_path, device, num_threads, precision, ...)`` returns the chosen backend itself (an
  onnxruntime or OpenVINO Backend: ``Detector.backend_name`` names it) with ``selection`` set to one
  line saying what was chosen and why. Only the chosen library is loaded into this process: loading
  onnxruntime beside OpenVINO has slowed OpenVINO (2x measured on an AVX-512 machine), so every
  candidate is timed in its own worker process (``python -m ssd_ros.core.backends.auto``).
- Candidates, for device "cpu" and an ONNX model: onnxruntime fp32, OpenVINO fp32, and OpenVINO bf16
  where the CPU supports it (OpenVINO reports BF16 among its CPU capabilities) and the precision is
  not pinned to fp32. Other precisions are refused (name a backend for them); other devices and
  model formats have one backend that runs them, which is taken without measuring.
- Measuring: each worker loads the model (the same threads and spin-wait setting as asked), runs
  WARMUP inferences on a frame of the model's input size, then the workers take turns, ROUNDS
  rounds of RUNS timed inferences each (interleaved, so machine noise hits all alike; a pause before
  each turn lets the previous worker's spinning threads go idle). The fastest median wins among
  the eligible candidates.
- Eligible: a candidate whose detections on the check frame (``check_frame``: fixed noise at the
  input size, post-processed by each worker's own Detector at score CHECK_SCORE) equal those of
  onnxruntime within the stated tolerance (``same_detections``): every detection scoring at least
  MATCH_SCORE on either side has one on the other with the same class, a score within SCORE_TOL and
  every box corner within BOX_TOL of the input's larger side. onnxruntime is the reference.
- Cache: ``~/.cache/ssd_ros/backend_choice.json`` (or ``choice_cache``), one record per key: the
  model's SHA-256, the CPU (model name and a digest of its feature flags), the onnxruntime and
  OpenVINO versions, the threads asked for and the CPUs this process may use, the spin-wait
  setting, the precision asked for. A record with any other key is not used, so a changed model,
  library or machine measures again. A cache file that cannot be read or parsed is ignored with a
  warning naming it and why, and rewritten.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import platform
import select
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from ssd_ros.core.backends.base import Backend, create_backend
from ssd_ros.core.backends.cpu_threads import usable_cpus
from ssd_ros.core.errors import ModelLoadError
from ssd_ros.core.hashing import file_sha256

LOG = logging.getLogger("ssd_ros.backend_auto")

DEFAULT_CACHE = Path("~/.cache/ssd_ros/backend_choice.json")
CACHE_FORMAT = 1
MAX_RECORDS = 64
WARMUP, ROUNDS, RUNS = 2, 3, 2
ANSWER_TIMEOUT_S = 180.0  # loading and timing even SSD300 takes far less: a silent worker has hung
CHECK_SCORE, MATCH_SCORE = 0.05, 0.1
SCORE_TOL, BOX_TOL = 0.02, 0.01
# onnxruntime's threads busy-wait a while after each run (spin_wait): left running into the next
# worker's turn they would slow it down, so each turn starts after this pause
SETTLE_S = 0.05


@dataclass(frozen=True)
class Candidate:
    backend: str
    precision: str | None  # what the backend is asked for: None = its default

    @property
    def label(self) -> str:
        return f"{self.backend} {self.precision or 'fp32'}"


@dataclass
class Choice:
    backend: str
    precision: str | None
    reason: str
    times_ms: dict[str, float] = field(default_factory=dict)


def load(model_path: Path, device: str, num_threads: int, precision: str | None, spin_wait: bool = True,
         model_config: str | None = None, choice_cache: str | Path | None = None, **options) -> Backend:
    choice = choose(model_path, device, num_threads, precision, spin_wait, model_config, choice_cache)
    backend = create_backend(choice.backend, model_path, device=device, num_threads=num_threads,
                             precision=choice.precision, spin_wait=spin_wait, **options)
    precision_name = choice.precision or ("fp32" if choice.backend == "onnxruntime" else "default precision")
    backend.selection = f"backend auto: {choice.backend} ({precision_name}): {choice.reason}"
    LOG.info(backend.selection)
    return backend


def choose(model_path: Path, device: str, num_threads: int, precision: str | None, spin_wait: bool = True,
           model_config: str | None = None, choice_cache: str | Path | None = None) -> Choice:
    """The backend to use, from the cache or measured (then cached)."""
    fixed = _only_choice(model_path, device)
    if fixed is not None:
        return Choice(fixed.backend, precision or None, fixed.reason)
    if precision not in (None, "", "fp32"):
        raise ModelLoadError(f"backend auto chooses among fp32 backends (and OpenVINO bf16 where it is exact "
                             f"enough); for precision {precision!r} name the backend (onnxruntime, openvino)")
    installed = [name for name in ("onnxruntime", "openvino") if importlib.util.find_spec(name) is not None]
    if installed == ["onnxruntime"]:
        return Choice("onnxruntime", precision or None, "OpenVINO is not installed (pip install openvino)")
    if not installed:
        raise ModelLoadError("backend auto needs onnxruntime (pip install onnxruntime) and, to choose, openvino")
    key = choice_key(model_path, num_threads, spin_wait, precision or "")
    path = Path(os.path.expanduser(str(choice_cache or DEFAULT_CACHE)))
    records = read_cache(path)
    for record in records:
        if record.get("key") == key:
            return Choice(record["backend"], record["precision"], f"{record['reason']} (cached in {path})",
                          record.get("times_ms", {}))
    choice = measure(model_path, model_config, num_threads, spin_wait, allow_bf16=not precision)
    records = [record for record in records if record.get("key") != key][-(MAX_RECORDS - 1):]
    records.append({"key": key, "backend": choice.backend, "precision": choice.precision, "reason": choice.reason,
                    "times_ms": choice.times_ms, "measured": time.strftime("%Y-%m-%d %H:%M:%S")})
    write_cache(path, records)
    return choice


def _only_choice(model_path: Path, device: str) -> Choice | None:
    """The one backend that can run this device or model format, if there is only one."""
    suffix = model_path.suffix.lower()
    if suffix in (".pt", ".pth"):
        return Choice("torch", None, f"{suffix} checkpoints run on torch only")
    if suffix in (".engine", ".plan"):
        return Choice("tensorrt", None, f"{suffix} engines run on tensorrt only")
    if device.lower() == "cpu":
        return None
    if device.upper().split(".")[0] in ("GPU", "NPU", "AUTO"):
        return Choice("openvino", None, f"device {device} is an OpenVINO device")
    return Choice("onnxruntime", None, f"device {device} runs on onnxruntime's execution providers")


def cpu_description() -> dict[str, str]:
    """The CPU's model name and a digest of its feature flags (Linux /proc/cpuinfo; else platform)."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            name, _, value = line.partition(":")
            fields.setdefault(name.strip(), value.strip())
    except OSError:
        pass
    flags = " ".join(sorted(fields.get("flags", fields.get("Features", "")).split()))
    return {"cpu": fields.get("model name") or platform.processor() or platform.machine(),
            "cpu_flags": hashlib.sha256(flags.encode()).hexdigest()[:16]}


def library_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def choice_key(model_path: Path, num_threads: int, spin_wait: bool, precision: str) -> dict[str, Any]:
    return {"model_sha256": file_sha256(model_path), **cpu_description(),
            "onnxruntime": library_version("onnxruntime"), "openvino": library_version("openvino"),
            "num_threads": num_threads, "usable_cpus": len(usable_cpus()), "spin_wait": spin_wait,
            "precision": precision}


def read_cache(path: Path) -> list[dict[str, Any]]:
    """The cache's records; [] (with a warning) for a file that cannot be used."""
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text())
        if not (isinstance(data, dict) and data.get("format") == CACHE_FORMAT
                and isinstance(data.get("records"), list)):
            raise ValueError(f"not a format-{CACHE_FORMAT} backend choice cache")
        records = data["records"]
        for record in records:
            if not (isinstance(record, dict) and isinstance(record.get("key"), dict)
                    and record.get("backend") in ("onnxruntime", "openvino") and isinstance(record.get("reason"), str)
                    and record.get("precision") in (None, "fp32", "bf16")):
                raise ValueError(f"a malformed record: {str(record)[:120]}")
        return records
    except (OSError, UnicodeDecodeError, ValueError) as error:  # JSONDecodeError is a ValueError
        LOG.warning("ignoring the backend choice cache %s (%s); measuring the backends again and rewriting it",
                    path, error)
        return []


def write_cache(path: Path, records: list[dict[str, Any]]) -> None:
    """Atomically (temporary file, then rename); a cache that cannot be written is only a warning."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as handle:
            json.dump({"format": CACHE_FORMAT, "records": records}, handle, indent=1)
        os.replace(handle.name, path)
    except OSError as error:
        LOG.warning("cannot write the backend choice cache %s: %s (the choice is measured again next time)",
                    path, error)


class Worker:
    """A process that loads one candidate and times it on request (JSON lines on its stdin/stdout)."""

    def __init__(self, candidate: Candidate, model_path: Path, model_config: str | None, num_threads: int,
                 spin_wait: bool) -> None:
        self.candidate = candidate
        self.times: list[float] = []
        request = {"model": str(model_path), "config": model_config, "backend": candidate.backend,
                   "precision": candidate.precision, "num_threads": num_threads, "spin_wait": spin_wait}
        package_root = str(Path(__file__).resolve().parents[3])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
        # stderr to a file, not a pipe: a chatty library cannot fill it and block; closed in close()
        self.errors = tempfile.TemporaryFile("w+")  # noqa: SIM115
        self.process = subprocess.Popen([sys.executable, "-m", "ssd_ros.core.backends.auto", json.dumps(request)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors,
                                        text=True, env=env)
        self.ready: dict[str, Any] = {}

    def wait_ready(self) -> None:
        self.ready = self._answer()

    def time(self, runs: int) -> None:
        if self.ok:
            assert self.process.stdin is not None
            self.process.stdin.write(f"{runs}\n")
            self.process.stdin.flush()
            self.times += self._answer().get("times_ms", [])

    @property
    def ok(self) -> bool:
        return bool(self.ready.get("ready"))

    def _answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], ANSWER_TIMEOUT_S)
        if not ready:  # a hung worker must not hang the node's start: it loses, and the others decide
            self.process.kill()
            self.process.wait()
            return {"error": f"no answer within {ANSWER_TIMEOUT_S:.0f} s"}
        line = self.process.stdout.readline()
        if line:
            return json.loads(line)
        self.process.wait()
        self.errors.seek(0)
        error = self.errors.read().strip().splitlines()
        return {"error": error[-1] if error else f"exited with status {self.process.returncode}"}

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.errors.close()


def measure(model_path: Path, model_config: str | None, num_threads: int, spin_wait: bool,
            allow_bf16: bool) -> Choice:
    reference = Worker(Candidate("onnxruntime", None), model_path, model_config, num_threads, spin_wait)
    workers = [reference, Worker(Candidate("openvino", "fp32"), model_path, model_config, num_threads, spin_wait)]
    try:
        for worker in workers:
            worker.wait_ready()
        notes = []
        if not workers[1].ok:
            notes.append(f"openvino failed: {workers[1].ready.get('error')}")
        elif not workers[1].ready.get("bf16"):
            notes.append("bf16: this CPU has no bf16 support in OpenVINO")
        elif not allow_bf16:
            notes.append("bf16: precision fp32 asked for")
        else:
            bf16 = Worker(Candidate("openvino", "bf16"), model_path, model_config, num_threads, spin_wait)
            bf16.wait_ready()
            workers.append(bf16)
        if not reference.ok:
            raise ModelLoadError(f"backend auto: onnxruntime cannot run {model_path}: {reference.ready.get('error')}")
        for _ in range(ROUNDS):
            for worker in workers:
                time.sleep(SETTLE_S)  # the last worker's threads stop spinning before this one's turn
                worker.time(RUNS)
    finally:
        for worker in workers:
            worker.close()
    size = max(reference.ready["input_size"])
    times = {worker.candidate.label: statistics.median(worker.times)
             for worker in workers if worker.ok and worker.times}
    eligible = []
    for worker in workers:
        if not worker.ok or not worker.times:
            continue
        mismatch = same_detections(reference.ready["detections"], worker.ready["detections"], size)
        if mismatch:
            notes.append(f"{worker.candidate.label} not eligible: {mismatch}")
        else:
            eligible.append(worker)
    best = min(eligible, key=lambda worker: times[worker.candidate.label])
    timing = ", ".join(f"{label} {ms:.2f} ms" for label, ms in sorted(times.items(), key=lambda item: item[1]))
    reason = (f"fastest of {timing} (median of {ROUNDS * RUNS} warm inferences each, interleaved, in separate "
              f"processes)" + "".join(f"; {note}" for note in notes))
    return Choice(best.candidate.backend, best.candidate.precision, reason, times)


def same_detections(reference: list[dict[str, Any]], other: list[dict[str, Any]], input_size: int) -> str:
    """Why two detection lists differ beyond the stated tolerance; "" when they agree."""
    for name, first, second in (("missing", reference, other), ("extra", other, reference)):
        for detection in first:
            if detection["score"] < MATCH_SCORE:
                continue
            if not any(candidate["class_id"] == detection["class_id"]
                       and abs(candidate["score"] - detection["score"]) <= SCORE_TOL
                       and max(abs(a - b) for a, b in zip(candidate["bbox"], detection["bbox"], strict=True))
                       <= BOX_TOL * input_size for candidate in second):
                return (f"{name} detection class {detection['class_id']} score {detection['score']:.3f} "
                        f"at {detection['bbox']} on the check frame (tolerance: score {SCORE_TOL}, box "
                        f"{BOX_TOL:.0%} of the input)")
    return ""


def check_frame(width: int, height: int) -> np.ndarray:
    """The frame every candidate is timed and checked on: fixed noise at the model's input size."""
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _worker_main(request: dict[str, Any], protocol: IO[str]) -> None:
    from ssd_ros.core.detector import Detector
    from ssd_ros.core.preprocess import Preprocessor
    from ssd_ros.core.types import PostprocessConfig

    try:
        detector = Detector.load(request["model"], request["config"], backend=request["backend"],
                                 num_threads=request["num_threads"], precision=request["precision"],
                                 spin_wait=request["spin_wait"])
    except Exception as error:  # reported to the parent, which leaves this candidate out
        protocol.write(json.dumps({"error": str(error).splitlines()[0] if str(error) else repr(error)}) + "\n")
        return
    model_input = detector.spec.input
    frame = check_frame(model_input.width, model_input.height)
    batch, _ = Preprocessor(model_input)(frame, "rgb")
    if detector.backend.batch_size:
        batch = np.repeat(batch, detector.backend.batch_size, axis=0)
    for _ in range(WARMUP):
        detector.backend.run(batch)
    detections = detector.detect(frame, "rgb", PostprocessConfig(score_threshold=CHECK_SCORE, max_detections=200))
    answer: dict[str, Any] = {"ready": True, "device": detector.device,
                              "input_size": [model_input.width, model_input.height],
                              "detections": detections.to_json_dict()["detections"]}
    if request["backend"] == "openvino":
        import openvino as ov

        answer["bf16"] = "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    protocol.write(json.dumps(answer) + "\n")
    for line in sys.stdin:
        times = []
        for _ in range(int(line)):
            start = time.perf_counter()
            detector.backend.run(batch)
            times.append((time.perf_counter() - start) * 1e3)
        protocol.write(json.dumps({"times_ms": times}) + "\n")


if __name__ == "__main__":
    # the protocol keeps the real stdout; whatever the libraries print goes to stderr
    protocol_stream = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    _worker_main(json.loads(sys.argv[1]), protocol_stream)
