"""The evaluation's errors: one base, ``EvaluationError``; each message names what is wrong and what to do."""
from ssd_ros.errors import UserError


class EvaluationError(UserError):
    """The base of every error of ssd_ros.eval."""
