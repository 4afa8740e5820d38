"""Stopping child processes the way a user would: Ctrl-C first, and only then force."""
from __future__ import annotations

import signal
import subprocess


def interrupt_and_wait(process: subprocess.Popen, timeout: float = 15.0) -> int:
    """SIGINT (ROS nodes shut down cleanly on it), wait, SIGKILL if it hangs; returns the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
