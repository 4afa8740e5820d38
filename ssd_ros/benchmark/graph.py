"""One benchmark graph, running: the player, the detector node(s) and the monitor, and one measured run at a rate.

Contract:
- ``GraphSettings``: frames (size, encoding, distinct count), cameras, one node batching every camera
  or one node per camera (``separate_nodes``), the cameras' phase, node parameter overrides (plain
  values, as ``DetectorCommand`` renders them), and the topic prefix and node name, so that two
  graphs can run side by side.
- ``GraphSession(settings)`` as a context manager starts the node(s) with
  :class:`ssd_ros.node_command.DetectorCommand` (image_topics/detection_topics set, the rest the
  node's defaults unless overridden), waits until each logs that it is active, starts the player
  process and a monitor on an rclpy context of its own. Every process inherits this process's
  environment: DDS settings are whatever the caller has (``tools/run`` keeps them on loopback; on a
  robot they are the robot's). On exit everything gets Ctrl-C (SIGINT) and is waited for.
- ``measure(rate_hz, seconds)`` plays ``seconds`` at ``rate_hz`` per camera, waits for the answers
  still in flight (up to ``drain_s``, ending early once ``quiet_s`` passes without one), and returns a
  ``RunMeasurement``: frames sent and answered (a
  frame is answered when detections with its stamp reached the monitor), input and output rates per
  camera, latencies (header stamp -> receipt), jitter, and the node processes' CPU time over the
  run. ``BenchmarkError`` (a UserError) says what failed (a node that did not start or died, a player
  with no subscriber) and shows the end of its log.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ssd_ros.benchmark.cpu import total_cpu_seconds
from ssd_ros.benchmark.rules import RateTrial
from ssd_ros.benchmark.stats import jitter_ms, latency_summary
from ssd_ros.errors import UserError
from ssd_ros.node_command import DetectorCommand

READY_TEXT = "active:"  # what the node logs once it is subscribed and its worker runs


class BenchmarkError(UserError, RuntimeError):
    pass


@dataclass(frozen=True)
class GraphSettings:
    width: int = 640
    height: int = 480
    encoding: str = "rgb8"
    frames: int = 16  # distinct frames the player cycles through
    cameras: int = 1
    separate_nodes: bool = False  # one node per camera instead of one node batching them all
    phase: str = "sync"  # cameras tick together, or spread over the period
    parameters: Mapping[str, Any] = field(default_factory=dict)  # node parameter overrides
    prefix: str = "/ssd_ros_benchmark"
    name: str = "ssd_ros_benchmark"
    start_timeout_s: float = 300.0

    def image_topic(self, camera: int) -> str:
        return f"{self.prefix}/camera{camera}/image"

    def detection_topic(self, camera: int) -> str:
        return f"{self.prefix}/camera{camera}/detections"

    def node_commands(self) -> list[DetectorCommand]:
        groups = [[camera] for camera in range(self.cameras)] if self.separate_nodes else [list(range(self.cameras))]
        commands = []
        for index, cameras in enumerate(groups):
            parameters = {"image_topics": [self.image_topic(c) for c in cameras],
                          "detection_topics": [self.detection_topic(c) for c in cameras], **self.parameters}
            name = f"{self.name}_detector" + (f"_{index}" if self.separate_nodes else "")
            commands.append(DetectorCommand(name=name, parameters=parameters))
        return commands


@dataclass(frozen=True)
class RunMeasurement:
    offered_hz: float  # per camera
    cameras: int
    elapsed_s: float  # the player's playing time
    sent: int
    answered: int
    input_hz: float  # achieved, per camera
    output_hz: float  # answers per second, per camera
    latency_ms: dict[str, float]
    jitter_ms: dict[str, float]
    node_cpu_s: float | None  # CPU time of the node processes over the run and its drain
    window_s: float  # wall time of that CPU window
    # CPU time of the player and monitor processes in that window: on a small host they share the node's cores
    harness_cpu_s: float | None = None

    @property
    def trial(self) -> RateTrial:
        return RateTrial(self.offered_hz, self.sent, self.answered, self.input_hz, self.output_hz)

    @property
    def cpu_percent(self) -> float | None:
        """Node CPU use in % of one core."""
        return None if self.node_cpu_s is None else 100.0 * self.node_cpu_s / self.window_s

    @property
    def cpu_ms_per_frame(self) -> float | None:
        return None if self.node_cpu_s is None or not self.answered else 1e3 * self.node_cpu_s / self.answered

    def as_dict(self) -> dict[str, Any]:
        return {"offered_hz": self.offered_hz, "cameras": self.cameras, "elapsed_s": self.elapsed_s,
                "sent": self.sent, "answered": self.answered, "loss": self.trial.loss,
                "input_hz": self.input_hz, "output_hz": self.output_hz, "latency_ms": self.latency_ms,
                "jitter_ms": self.jitter_ms, "node_cpu_s": self.node_cpu_s, "window_s": self.window_s,
                "node_cpu_percent": self.cpu_percent, "node_cpu_ms_per_frame": self.cpu_ms_per_frame,
                "harness_cpu_s": self.harness_cpu_s}


def summarise(offered_hz: float, sent_stamps: Sequence[Sequence[int]], arrivals: Sequence[Sequence[tuple[int, int]]],
              elapsed_s: float, node_cpu_s: float | None, window_s: float,
              harness_cpu_s: float | None = None) -> RunMeasurement:
    """A run's figures from the stamps sent and the (stamp, receipt) pairs that came back, per camera."""
    latencies, jitters, answered_per_camera = [], [], []
    for sent, received in zip(sent_stamps, arrivals, strict=True):
        wanted = set(sent)
        matched = {stamp: receipt for stamp, receipt in received if stamp in wanted}  # each frame once
        answered_per_camera.append(len(matched))
        latencies += [(receipt - stamp) / 1e6 for stamp, receipt in matched.items()]
        jitters.append(jitter_ms(list(matched.values())))
    cameras = len(sent_stamps)
    sent_total, answered = sum(len(s) for s in sent_stamps), sum(answered_per_camera)
    jitter_means = [j["mean"] for j in jitters if j["mean"] == j["mean"]]
    jitter_maxes = [j["max"] for j in jitters if j["max"] == j["max"]]
    return RunMeasurement(
        offered_hz=offered_hz, cameras=cameras, elapsed_s=elapsed_s, sent=sent_total, answered=answered,
        input_hz=sent_total / cameras / elapsed_s if elapsed_s > 0 else 0.0,
        output_hz=answered / cameras / elapsed_s if elapsed_s > 0 else 0.0,
        latency_ms=latency_summary(latencies),
        jitter_ms={"mean": sum(jitter_means) / len(jitter_means) if jitter_means else float("nan"),
                   "max": max(jitter_maxes) if jitter_maxes else float("nan")},
        node_cpu_s=node_cpu_s, window_s=window_s, harness_cpu_s=harness_cpu_s)


class GraphSession:
    def __init__(self, settings: GraphSettings, log_dir: Path | None = None) -> None:
        self.settings = settings
        self.log_dir = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="ssd_ros_benchmark_"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.nodes: list[subprocess.Popen] = []
        self._node_logs: list[Path] = []
        self._player: subprocess.Popen | None = None
        self._context: Any = None
        self.monitor: Any = None

    # ------------------------------------------------------------------ start and stop
    def __enter__(self) -> GraphSession:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _start(self) -> None:
        import rclpy

        from ssd_ros.benchmark.monitor import Monitor

        settings = self.settings
        for command in settings.node_commands():
            log = self.log_dir / f"{command.name}.log"
            self._node_logs.append(log)
            self.nodes.append(subprocess.Popen(command.python_command(), stdout=log.open("w"),
                                               stderr=subprocess.STDOUT))
        deadline = time.monotonic() + settings.start_timeout_s
        for process, log in zip(self.nodes, self._node_logs, strict=True):
            while READY_TEXT not in log.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    state = ("exited" if process.poll() is not None
                             else f"not active after {settings.start_timeout_s:g} s")
                    raise BenchmarkError(f"the detector node {state} (log {log}):\n{_tail(log)}")
                time.sleep(0.1)
        topics = ",".join(settings.image_topic(camera) for camera in range(settings.cameras))
        player_log = self.log_dir / "player.log"
        self._player = subprocess.Popen(
            [sys.executable, "-u", "-m", "ssd_ros.benchmark.player", "--topics", topics, "--width",
             str(settings.width), "--height", str(settings.height), "--encoding", settings.encoding,
             "--frames", str(settings.frames), "--phase", settings.phase],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=player_log.open("w"), text=True)
        self._reply("starting")
        self._context = rclpy.context.Context()
        rclpy.init(context=self._context)
        self.monitor = Monitor(self._context, [settings.detection_topic(c) for c in range(settings.cameras)],
                               settings.name)
        deadline = time.monotonic() + 30
        while not all(self.monitor.publisher_count(c) for c in range(settings.cameras)):
            if time.monotonic() > deadline:
                raise BenchmarkError("the monitor found no detection publisher within 30 s: is DDS discovery "
                                     "blocked on this machine?")
            time.sleep(0.05)

    def close(self) -> None:
        from ssd_ros.processes import interrupt_and_wait

        if self.monitor is not None:
            self.monitor.close()
            self.monitor = None
        if self._context is not None:
            self._context.try_shutdown()
            self._context = None
        if self._player is not None:
            if self._player.stdin is not None:
                self._player.stdin.close()
            interrupt_and_wait(self._player)
            self._player = None
        for process in self.nodes:
            interrupt_and_wait(process)
        self.nodes = []

    # ------------------------------------------------------------------ measuring
    @property
    def node_pids(self) -> list[int]:
        return [process.pid for process in self.nodes]

    def _reply(self, what: str) -> dict[str, Any]:
        assert self._player is not None and self._player.stdout is not None
        line = self._player.stdout.readline()
        if not line:
            raise BenchmarkError(f"the player process ended while {what} (log {self.log_dir / 'player.log'}):\n"
                                 f"{_tail(self.log_dir / 'player.log')}")
        reply = json.loads(line)
        if "error" in reply:
            raise BenchmarkError(f"the player: {reply['error']} (node logs in {self.log_dir})")
        return reply

    def _check_nodes(self) -> None:
        for process, log in zip(self.nodes, self._node_logs, strict=True):
            if process.poll() is not None:
                raise BenchmarkError(f"the detector node exited with {process.returncode} (log {log}):\n{_tail(log)}")

    def measure(self, rate_hz: float, seconds: float, drain_s: float = 3.0, quiet_s: float = 0.5) -> RunMeasurement:
        assert self._player is not None and self._player.stdin is not None and self.monitor is not None
        self._check_nodes()
        self.monitor.take()  # stragglers of an earlier run
        harness = [self._player.pid, os.getpid()]  # the monitor runs in this process
        cpu_before, harness_before = total_cpu_seconds(self.node_pids), total_cpu_seconds(harness)
        window_start = time.monotonic()
        self._player.stdin.write(json.dumps({"rate": rate_hz, "seconds": seconds}) + "\n")
        self._player.stdin.flush()
        reply = self._reply(f"playing at {rate_hz:g} Hz")
        sent = reply["stamps"]
        arrivals: list[list[tuple[int, int]]] = [[] for _ in sent]
        wanted = [set(stamps) for stamps in sent]
        deadline = time.monotonic() + drain_s
        last_arrival = time.monotonic()
        while True:
            for camera, received in enumerate(self.monitor.take()):
                arrivals[camera] += received
                last_arrival = time.monotonic() if received else last_arrival
            done = all(len(w) <= sum(1 for stamp, _ in a if stamp in w) for w, a in zip(wanted, arrivals, strict=True))
            # the rest were dropped (newest-frame queue) when nothing more came for quiet_s
            if done or time.monotonic() > deadline or time.monotonic() - last_arrival > quiet_s:
                break
            time.sleep(0.02)
        cpu_after, harness_after = total_cpu_seconds(self.node_pids), total_cpu_seconds(harness)
        window = time.monotonic() - window_start
        self._check_nodes()
        node_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
        harness_cpu = None if harness_before is None or harness_after is None else harness_after - harness_before
        return summarise(rate_hz, sent, arrivals, float(reply["elapsed"]), node_cpu, window, harness_cpu)


def _tail(log: Path, lines: int = 25) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
