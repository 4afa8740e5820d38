"""InlineFramesExecutor: frames keep arriving on their own thread while a slow callback (a model load) blocks."""
from __future__ import annotations

import threading
import time

import pytest
import rclpy
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from std_msgs.msg import Header

from ssd_ros.ros.executor import InlineFramesExecutor

pytestmark = pytest.mark.ros


def test_frames_are_received_on_the_frames_thread_while_a_slow_callback_blocks(ros_context):
    node = rclpy.create_node("executor_under_test", context=ros_context)
    camera = rclpy.create_node("executor_test_camera", context=ros_context)
    frames_group = MutuallyExclusiveCallbackGroup()
    executor = InlineFramesExecutor(frames_group, num_threads=2, context=ros_context)
    executor.add_node(node)
    executor.add_node(camera)

    received: list[tuple[float, str]] = []
    slow_window: list[float] = []

    def slow_callback() -> None:  # stands in for a parameter change that loads a model for seconds
        timer.cancel()
        slow_window.append(time.monotonic())
        time.sleep(1.5)
        slow_window.append(time.monotonic())

    timer = node.create_timer(0.2, slow_callback)
    spinner = threading.Thread(target=executor.spin, name="spinning_thread", daemon=True)
    spinner.start()
    time.sleep(0.1)  # created while both threads wait: the frames thread must be woken to see it
    node.create_subscription(Header, "frames", lambda _: received.append((time.monotonic(),
                                                                          threading.current_thread().name)),
                             10, callback_group=frames_group)
    publisher = camera.create_publisher(Header, "frames", 10)
    camera.create_timer(0.05, lambda: publisher.publish(Header()))
    deadline = time.monotonic() + 20
    while len(slow_window) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    executor.shutdown()
    spinner.join(timeout=10)
    node.destroy_node()
    camera.destroy_node()

    assert len(slow_window) == 2, "the slow callback never ran to its end"
    during = [name for stamp, name in received if slow_window[0] < stamp < slow_window[1]]
    assert len(during) >= 10, f"only {len(during)} frames arrived while the slow callback ran (expected ~30)"
    assert {name for _, name in received} == {"ssd_ros_frames"}, \
        f"frame callbacks ran on {set(name for _, name in received)}, not on the frames thread alone"
    assert not executor._frames_thread.is_alive(), "shutdown left the frames thread running"


def test_a_failing_pooled_callback_is_reported_and_the_executor_keeps_serving(ros_context):
    """rclpy's Task keeps a callback's exception to itself: the executor must retrieve and report it."""
    node = rclpy.create_node("executor_errors_under_test", context=ros_context)
    frames_group = MutuallyExclusiveCallbackGroup()
    reported: list[tuple[object, BaseException]] = []
    executor = InlineFramesExecutor(frames_group, num_threads=2, context=ros_context,
                                    on_error=lambda entity, error: reported.append((entity, error)))
    executor.add_node(node)
    ticks: list[float] = []

    def failing() -> None:
        ticks.append(time.monotonic())
        raise IndexError("a bug in a pooled callback")

    node.create_timer(0.05, failing)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    deadline = time.monotonic() + 20
    while (len(ticks) < 5 or len(reported) < 5) and time.monotonic() < deadline:
        time.sleep(0.05)
    executor.shutdown()
    spinner.join(timeout=10)
    node.destroy_node()
    assert len(ticks) >= 5, "the executor stopped calling the timer after its first failure"
    assert len(reported) >= 5 and all(isinstance(error, IndexError) for _, error in reported)
