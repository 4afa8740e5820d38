"""Errors a user can act on: each message names what is wrong and what to do about it."""


class ModelLoadError(RuntimeError):
    """A model that cannot be loaded: missing or broken file, missing library, unusable description."""
