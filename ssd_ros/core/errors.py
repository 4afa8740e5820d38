"""The detection core's errors: one base, ``DetectorError``; each message names what is wrong and what to do."""
from ssd_ros.errors import UserError


class DetectorError(UserError):
    """The base of every error of ssd_ros.core."""


class ModelLoadError(DetectorError, RuntimeError):
    """A model that cannot be loaded: missing or broken file, missing library, unusable description."""


class ImageError(DetectorError, ValueError):
    """An input image that cannot be used; the message says what is wrong."""
