"""Inference backends behind one interface (base.Backend); each imported only when selected."""
from ssd_ros.core.backends.base import BACKENDS, Backend, available_backends, create_backend

__all__ = ["BACKENDS", "Backend", "available_backends", "create_backend"]
