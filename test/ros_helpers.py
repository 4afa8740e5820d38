"""Helpers for tests over real DDS: a graph of in-process nodes and ROS processes started by tests."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import rclpy
from paths import REPO_ROOT, SHARED
from rclpy.executors import SingleThreadedExecutor

from ssd_ros.processes import interrupt_and_wait


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

    def service_client(self, client_node, service_type, name: str, harmless_request, timeout: float = 60.0):
        """A client whose service has answered once: ``harmless_request`` (no side effects) is sent until a
        response comes back, every 5 s.

        Why: ``service_is_ready`` only says the server reads requests. rmw_fastrtps waits 100 ms for the
        client's response reader to match before it answers, then gives up (ros2/rmw_fastrtps#467); on a
        loaded machine discovery takes longer and the first answer is lost, so a test waited forever.
        """
        client = client_node.create_client(service_type, name)
        self.spin_until(client.service_is_ready, timeout=30, what=name)
        deadline = time.monotonic() + timeout
        while True:
            future = client.call_async(harmless_request)
            try:
                self.spin_until(future.done, timeout=5.0, what=f"an answer from {name}")
                return client
            except AssertionError:
                client.remove_pending_request(future)
                if time.monotonic() > deadline:
                    raise AssertionError(f"{name} never answered within {timeout:.0f} s") from None

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
                timeout: float = 60.0, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """Run ``python ARGS...`` as its own process (with the test's DDS environment, or ``env``).

    Output goes to ``log_path``; with ``ready_text`` the context waits until that text appears.
    On exit the process gets SIGINT, like Ctrl-C, and must stop by itself.
    """
    log = log_path.open("w")
    process = subprocess.Popen([sys.executable, *args], stdout=log, stderr=subprocess.STDOUT,
                               env=dict(os.environ) if env is None else env, cwd=REPO_ROOT)
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


def require_ros2_cli() -> None:
    """Skip the calling test module without the ``ros2`` command line and launch packages, unless they
    belong here: where ../shared/ros2-cli exists (CI, developers) `make setup` installs them, so their
    absence is a failure, not a reason to skip."""
    import importlib.util
    import shutil

    missing = [name for name in ("launch_pytest", "launch_ros", "ros2cli") if importlib.util.find_spec(name) is None]
    if shutil.which("ros2") is None:
        missing.append("the ros2 command")
    if not missing:
        return
    if (SHARED / "ros2-cli").is_dir():
        pytest.fail(f"{', '.join(missing)} missing although {SHARED / 'ros2-cli'} exists: run `make setup`",
                    pytrace=False)
    pytest.skip(f"{', '.join(missing)} not installed: source a ROS 2 installation, or put the ros2-cli wheels "
                f"at {SHARED / 'ros2-cli'} and run `make setup`", allow_module_level=True)
