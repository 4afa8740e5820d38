"""An executor that receives camera frames on a thread of their own and never lets slow callbacks stall them.

Contract: callbacks of the ``inline_group`` callback group (the camera subscriptions and their QoS
events) run on a dedicated thread, ``ssd_ros_frames``, that waits on that group's entities only and
runs each callback inline, as rclpy's SingleThreadedExecutor would; they must return quickly, since
that thread takes nothing else meanwhile (the detector's frame callbacks only queue the message).
Every other callback (parameter changes that load a model for seconds or minutes, the ``detect``
service, lifecycle transitions, timers) is waited for by the thread that spins and runs in a thread
pool, as in rclpy's MultiThreadedExecutor, so a model hot-swap never stops frame reception. Entities
created or destroyed while both wait (a lifecycle activation creates the camera subscriptions) wake
both, through ``wake``, which rclpy's nodes call.

Why two waits: rclpy rebuilds its wait set in Python on every wake, over every entity of the node
(the detector's lifecycle node has about 30: 13 services, 14 QoS event handlers, 2 timers, the camera
subscription). Waking for each frame cost the spinning thread 1.7-1.8 ms of CPU per frame on a 2-core
x86 host; the frames thread waits on the subscription and its two event handlers only and costs
1.1-1.2 ms, the taking of the 900 KB message included, and the main thread no longer wakes for frames.
Why not MultiThreadedExecutor alone: it hands every callback to a pool thread while the spinning
thread immediately rebuilds its wait set; for a 900 KB image both fight for the GIL, which was
measured to add about 1.5 ms from frame stamp to callback.

A callback that raises never stops the executor, its frames thread or its pool. rclpy runs every
callback inside a ``Task``, which stores an exception instead of raising it (rclpy's
MultiThreadedExecutor therefore never re-raises errors of pooled callbacks: they surface only as "The
following exception was never retrieved" when the Task is collected). This executor retrieves the
exception of every callback, inline or pooled, as soon as it ends and hands it to
``on_error(entity, error)``; the default logs it with its traceback through the rclpy logger
``ssd_ros.executor``, the 1st, 10th, 100th, ... time for each callback and exception type, so a
callback failing at camera rate cannot flood the log. This is the last resort: callbacks are expected
to catch and count their own errors.

Uses only public Executor API that exists in Humble and Jazzy (``wait_for_ready_callbacks``,
``can_execute``, ``get_nodes``, ``wake``, ``spin_once``, ``Task.exception``); rclpy's own executors
are built the same way.
"""
from __future__ import annotations

import functools
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from rclpy.callback_groups import CallbackGroup
from rclpy.executors import (
    ConditionReachedException,
    Executor,
    ExternalShutdownException,
    ShutdownException,
    TimeoutException,
)
from rclpy.logging import get_logger

if TYPE_CHECKING:  # Jazzy's rclpy has it, Humble's not: annotations only
    from rclpy.executors import TimeoutObject


class CallbackErrorLog:
    """The default ``on_error``: a traceback in the log the 1st, 10th, 100th, ... time per callback and error type."""

    def __init__(self, logger_name: str = "ssd_ros.executor") -> None:
        self._logger = get_logger(logger_name)
        self._lock = threading.Lock()
        self.counts: Counter = Counter()

    def __call__(self, entity: Any, error: BaseException) -> None:
        callback = getattr(entity, "callback", None)
        where = f"{type(entity).__name__} {getattr(callback, '__qualname__', callback)!s}"
        key = (where, type(error).__name__)
        with self._lock:
            self.counts[key] += 1
            count = self.counts[key]
        if str(count).rstrip("0") == "1":  # the 1st, 10th, 100th, ... time
            text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            self._logger.error(f"a {where} callback raised ({count} time{'s' if count > 1 else ''} so far; "
                               f"logged again at {count * 10}):\n{text}")


class _FramesWaiter(Executor):
    """Waits on the ``group`` entities of its owner's nodes only and runs their callbacks on its own thread."""

    def __init__(self, owner: InlineFramesExecutor, group: CallbackGroup, context) -> None:
        super().__init__(context=context)
        self._owner = owner
        self._group = group
        self._stop = threading.Event()

    def can_execute(self, entity: Any) -> bool:
        return entity.callback_group is self._group and super().can_execute(entity)

    def get_nodes(self) -> list:
        """The owner's nodes, read again on every wake (rclpy's wait loop asks for them each time)."""
        return self._owner.get_nodes()

    def run(self) -> None:
        entity: Any  # rclpy types it as an unbound TypeVar
        while self._context.ok() and not self._stop.is_set():
            try:
                handler, entity, _node = self.wait_for_ready_callbacks(condition=self._stop.is_set)
            except (ShutdownException, ExternalShutdownException, ConditionReachedException):
                return
            except Exception as error:  # e.g. an entity destroyed under the wait: frames must keep coming
                self._owner.on_error(self, error)
                time.sleep(0.01)
                continue
            handler()
            self._owner._retrieve(handler, entity)

    def stop(self) -> None:
        """End ``run``'s wait (its own wake alone would only make rclpy rebuild the wait set)."""
        self._stop.set()
        self.wake()


class InlineFramesExecutor(Executor):
    def __init__(self, inline_group: CallbackGroup, num_threads: int = 2, *, context=None,
                 on_error: Callable[[Any, BaseException], None] | None = None) -> None:
        super().__init__(context=context)
        self._inline_group = inline_group
        self._pool = ThreadPoolExecutor(max_workers=num_threads, thread_name_prefix="ssd_ros_callbacks")
        self.on_error = on_error if on_error is not None else CallbackErrorLog()
        self._frames = _FramesWaiter(self, inline_group, context)
        self._frames_thread = threading.Thread(target=self._frames.run, name="ssd_ros_frames", daemon=True)
        self._frames_thread.start()

    def can_execute(self, entity: Any) -> bool:
        return entity.callback_group is not self._inline_group and super().can_execute(entity)

    def add_node(self, node) -> bool:
        added = super().add_node(node)
        self._frames.wake()
        return added

    def remove_node(self, node) -> None:
        super().remove_node(node)
        self._frames.wake()

    def wake(self) -> None:
        """Entities were created or destroyed (rclpy's nodes call this): both waits must see it."""
        super().wake()
        frames = getattr(self, "_frames", None)  # rclpy's __init__ registers wake before ours has run
        if frames is not None:
            frames.wake()

    def spin_once(self, timeout_sec: float | TimeoutObject | None = None) -> None:
        entity: Any  # rclpy types it as an unbound TypeVar
        try:
            handler, entity, _node = self.wait_for_ready_callbacks(timeout_sec=timeout_sec)
        except (ShutdownException, ExternalShutdownException, TimeoutException):
            return
        self._pool.submit(handler).add_done_callback(functools.partial(self._retrieve_when_done, handler, entity))

    def _retrieve_when_done(self, handler, entity, _future) -> None:
        self._retrieve(handler, entity)

    def _retrieve(self, handler, entity) -> None:
        """Hand what the callback raised to ``on_error`` (retrieving it also silences Task's warning)."""
        error = handler.exception() if handler.done() else None
        if error is not None:
            self.on_error(entity, error)

    def spin_once_until_future_complete(self, future, timeout_sec: float | TimeoutObject | None = None) -> None:
        future.add_done_callback(lambda _: self.wake())
        self.spin_once(timeout_sec)

    def shutdown(self, timeout_sec: float | None = None) -> bool:
        """Also ends and joins the frames thread. Call it before the process exits: a thread still inside
        rclpy's wait when Python finalises is killed by an unwind that aborts the process ("terminate called
        without an active exception", seen once under ros2 launch)."""
        self._frames.stop()
        self._frames_thread.join(timeout_sec)
        self._frames.shutdown(timeout_sec)
        done = super().shutdown(timeout_sec)
        self._pool.shutdown(wait=True)
        return done
