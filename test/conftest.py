"""Test-session set-up shared by every test directory.

Before anything can import rclpy, the session switches to loopback-only DDS and claims a
ROS domain id no other process on this machine holds (ssd_ros.sandbox): every ROS process a
test starts inherits it. ``ros_domain`` gives a test its own additional domain when it must not
see leftovers of earlier tests.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from ssd_ros import sandbox

# Domains claimed by processes the tests start are appended here (ssd_ros.sandbox); the guard reads it.
os.environ[sandbox.DOMAIN_LOG_VARIABLE] = tempfile.mkstemp(prefix="ssd_ros-test-domains-")[1]
SESSION_DOMAIN_ID = sandbox.apply_localhost_environ()

from paths import SHARED  # noqa: E402


@pytest.fixture
def ros_domain(monkeypatch: pytest.MonkeyPatch):
    """A freshly claimed domain id, also exported to child processes started by the test."""
    domain = sandbox.claim_domain_id()
    monkeypatch.setenv("ROS_DOMAIN_ID", str(domain))
    yield domain
    sandbox.release_domain_id(domain)


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


def session_domains() -> set[int]:
    """Every domain id this test session used: its own, and those claimed in it or by its children."""
    claimed = {int(line) for line in Path(os.environ[sandbox.DOMAIN_LOG_VARIABLE]).read_text().split()}
    return {SESSION_DOMAIN_ID, *sandbox.claimed_domains, *claimed}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    sniffer = session.config.stash.get(_SNIFFER_KEY, None)
    if sniffer is None:
        return
    sniffer.__exit__(None, None, None)
    domains = session_domains()
    leaked = {name: count for name, count in sniffer.packets(domains).items() if count}
    others = {name: dict(counts) for name, counts in sniffer.counts.items() if counts and name not in leaked}
    note = (f" (ignored: RTPS of other domains, not this session's, on {others})" if others else "")
    if leaked:
        examples = [text for (name, domain), text in sniffer.examples.items() if domain in domains][:3]
        session.config.stash[_VERDICT_KEY] = (
            f"FAILED: DDS (RTPS) packets of this test session's domains {sorted(domains)} left the loopback "
            f"interface: {leaked}; first frames: {examples}. Every ROS process a test starts must keep DDS on "
            f"loopback (ssd_ros.sandbox).{note}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        session.config.stash[_VERDICT_KEY] = (
            f"DDS containment: no RTPS packet of this session's domains {sorted(domains)} on "
            f"{sorted(sniffer.counts)}{note}")


def pytest_unconfigure(config: pytest.Config) -> None:
    """The guard's verdict, printed after pytest's own summary so it is the last thing a reader sees."""
    verdict = config.stash.get(_VERDICT_KEY, None)
    if verdict is not None:
        print(f"\n{verdict}")


_SNIFFER_KEY = pytest.StashKey["object"]()
_VERDICT_KEY = pytest.StashKey[str]()
