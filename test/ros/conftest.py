"""Fixtures for tests that talk over real DDS (loopback only, see test/conftest.py).

Every test gets its own rclpy Context on its own claimed domain, so nodes left over from an
earlier test can never answer it. Processes the test starts inherit that domain through
ROS_DOMAIN_ID (the ``ros_domain`` fixture exports it).
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest

rclpy = pytest.importorskip("rclpy", reason="rclpy is not importable: run `make setup` (or source ROS 2)")
from ros_helpers import NodeGraph  # noqa: E402


@pytest.fixture
def ros_context(ros_domain: int) -> Iterator[rclpy.context.Context]:
    context = rclpy.context.Context()
    rclpy.init(context=context, domain_id=ros_domain)
    try:
        yield context
    finally:
        context.try_shutdown()


@pytest.fixture
def graph(ros_context) -> Iterator[NodeGraph]:
    test_graph = NodeGraph(ros_context)
    try:
        yield test_graph
    finally:
        test_graph.close()


