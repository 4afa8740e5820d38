"""Errors a user can act on: each message names what is wrong and what to do about it."""
from ssd_ros.errors import UserError


class ModelLoadError(UserError, RuntimeError):
    """A model that cannot be loaded: missing or broken file, missing library, unusable description."""
