"""Helpers for tests over real DDS: a graph of in-process nodes and ROS processes started by tests."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import rclpy
from rclpy.executors import SingleThreadedExecutor

from ssd_ros.processes import interrupt_and_wait

REPO_ROOT = Path(__file__).resolve().parents[1]


class NodeGraph:
    """Nodes created in the test process, spun by one executor on the test's context."""

    def __init__(self, context: rclpy.context.Context) -> None:
        self.context = context
        self.executor = SingleThreadedExecutor(context=context)
        self.nodes: list = []

    def node(self, name: str):
        node = rclpy.create_node(name, context=self.context)
        self.executor.add_node(node)
        self.nodes.append(node)
        return node

    def spin_until(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
            self.executor.spin_once(timeout_sec=0.05)

    def spin_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=max(0.0, min(0.05, deadline - time.monotonic())))

    def close(self) -> None:
        for node in self.nodes:
            self.executor.remove_node(node)
            node.destroy_node()
        self.executor.shutdown()


@contextmanager
def ros_process(args: list[str], log_path: Path, ready_text: str | None = None,
                timeout: float = 60.0) -> Iterator[subprocess.Popen]:
    """Run ``python ARGS...`` as its own process (inheriting the test's DDS environment).

    Output goes to ``log_path``; with ``ready_text`` the context waits until that text appears.
    On exit the process gets SIGINT, like Ctrl-C, and must stop by itself.
    """
    log = log_path.open("w")
    process = subprocess.Popen([sys.executable, *args], stdout=log, stderr=subprocess.STDOUT,
                               env=dict(os.environ), cwd=REPO_ROOT)
    try:
        if ready_text is not None:
            deadline = time.monotonic() + timeout
            while ready_text not in log_path.read_text():
                if process.poll() is not None:
                    raise AssertionError(f"process {args} exited with {process.returncode}:\n{log_path.read_text()}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"process {args} not ready after {timeout} s:\n{log_path.read_text()}")
                time.sleep(0.05)
        yield process
    finally:
        interrupt_and_wait(process)
        log.close()
