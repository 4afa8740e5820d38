"""An executor that hands camera frames over at single-threaded cost and never lets slow callbacks stall them.

Contract: callbacks of the ``inline_group`` callback group run on the thread that spins, right
after the wait returns, exactly as in rclpy's SingleThreadedExecutor; they must return within about
a frame period, since nothing else is dispatched meanwhile (the detector's frame callbacks put the
message into a queue and, with one inference worker, wait at most until shortly before the next frame
is due, 0.1 s at most). Every other callback (parameter
changes that load a model for seconds or minutes, the ``detect`` service, lifecycle transitions,
timers) runs in a thread pool, as in rclpy's MultiThreadedExecutor, so a model hot-swap never
stops frame reception.

Why not MultiThreadedExecutor alone: it hands every callback to a pool thread while the spinning
thread immediately rebuilds its wait set in Python; for a 900 KB image both fight for the GIL, which
was measured to add about 1.5 ms from frame stamp to callback on a 2-core machine.

A callback that raises never stops the executor or its pool. rclpy runs every callback inside a
``Task``, which stores an exception instead of raising it (rclpy's MultiThreadedExecutor therefore
never re-raises errors of pooled callbacks: they surface only as "The following exception was never
retrieved" when the Task is collected). This executor retrieves the exception of every callback,
inline or pooled, as soon as it ends and hands it to ``on_error(entity, error)``; the default logs
it with its traceback through the rclpy logger ``ssd_ros.executor``, the 1st, 10th, 100th, ...
time for each callback and exception type, so a callback failing at camera rate cannot flood the
log. This is the last resort: callbacks are expected to catch and count their own errors.

Uses only public Executor API that exists in Humble and Jazzy (``wait_for_ready_callbacks``,
``spin_once``, ``Task.exception``); rclpy's own executors are built the same way.
"""
from __future__ import annotations

import functools
import threading
import traceback
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from rclpy.callback_groups import CallbackGroup
from rclpy.executors import Executor, ExternalShutdownException, ShutdownException, TimeoutException
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


class InlineFramesExecutor(Executor):
    def __init__(self, inline_group: CallbackGroup, num_threads: int = 2, *, context=None,
                 on_error: Callable[[Any, BaseException], None] | None = None) -> None:
        super().__init__(context=context)
        self._inline_group = inline_group
        self._pool = ThreadPoolExecutor(max_workers=num_threads, thread_name_prefix="ssd_ros_callbacks")
        self.on_error = on_error if on_error is not None else CallbackErrorLog()

    def spin_once(self, timeout_sec: float | TimeoutObject | None = None) -> None:
        entity: Any  # rclpy types it as an unbound TypeVar
        try:
            handler, entity, _node = self.wait_for_ready_callbacks(timeout_sec=timeout_sec)
        except (ShutdownException, ExternalShutdownException, TimeoutException):
            return
        if getattr(entity, "callback_group", None) is self._inline_group:
            handler()
            self._retrieve(handler, entity)
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
        done = super().shutdown(timeout_sec)
        self._pool.shutdown(wait=True)
        return done
