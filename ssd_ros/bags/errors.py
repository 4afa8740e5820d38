"""The bag tools' errors: one base, ``BagError``; each message names the bag, what is wrong and what to do."""
from ssd_ros.errors import UserError


class BagError(UserError, ValueError):
    """Bad bag input (missing file or topic, wrong type, no frames); the message says what to do."""
