"""Test-session set-up shared by every test directory.

Before anything can import rclpy, the session switches to loopback-only DDS and claims a
ROS domain id no other process on this machine holds (ssd_ros.ros.env): every ROS process a
test starts inherits it. ``ros_domain`` gives a test its own additional domain when it must not
see leftovers of earlier tests.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from ssd_ros.ros import env

SESSION_DOMAIN_ID = env.apply_localhost_environ()

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SSD_ROS_SHARED", REPO_ROOT.parent / "shared"))


@pytest.fixture
def ros_domain(monkeypatch: pytest.MonkeyPatch):
    """A freshly claimed domain id, also exported to child processes started by the test."""
    domain = env.claim_domain_id()
    monkeypatch.setenv("ROS_DOMAIN_ID", str(domain))
    yield domain
    env.release_domain_id(domain)


@pytest.fixture
def ros_context(ros_domain: int):
    """An rclpy Context of the test's own, on its own domain."""
    rclpy = pytest.importorskip("rclpy", reason="rclpy is not importable: run `make setup` (or source ROS 2)")
    context = rclpy.context.Context()
    rclpy.init(context=context, domain_id=ros_domain)
    try:
        yield context
    finally:
        context.try_shutdown()


@pytest.fixture
def graph(ros_context):
    """Nodes in the test process on the test's context, spun by one executor (ros_helpers.NodeGraph)."""
    from ros_helpers import NodeGraph

    test_graph = NodeGraph(ros_context)
    try:
        yield test_graph
    finally:
        test_graph.close()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared (real third-party data); tests that need it skip with the reason when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"real data folder {SHARED} is absent (it ships beside the repository only in CI and dev "
                    "machines); set SSD_ROS_SHARED to point at a copy to run this test")
    return SHARED


def pytest_sessionstart(session: pytest.Session) -> None:
    """Watch every non-loopback interface for DDS packets for the whole test session (needs root)."""
    from dds_guard import RtpsSniffer, interfaces

    try:
        sniffer = RtpsSniffer(interfaces(include_loopback=False))
    except PermissionError:
        print("\nDDS containment guard off: capturing packets needs root (CAP_NET_RAW)")
        return
    session.config.stash[_SNIFFER_KEY] = sniffer.__enter__()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    sniffer = session.config.stash.get(_SNIFFER_KEY, None)
    if sniffer is None:
        return
    sniffer.__exit__(None, None, None)
    leaked = {name: count for name, count in sniffer.counts.items() if count}
    if leaked:
        print(f"\nFAILED: DDS (RTPS) packets left the loopback interface during the tests: {leaked}; "
              f"first frames: {sniffer.examples}. Every ROS process must run through ssd_ros.ros.env.")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        print(f"\nDDS containment: no RTPS packet on {sorted(sniffer.counts)} during the session")


_SNIFFER_KEY = pytest.StashKey["object"]()
