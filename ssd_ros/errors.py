"""The one base of every error a user can act on, so command lines catch one class.

Contract: ``UserError`` is raised for bad input (a file, an option, a model, a dataset, a bag, ground
truth) whose message names what is wrong and what to do. Each package keeps its own classes
(core: ModelLoadError and its subclasses, ImageError; camera frames: FrameError; datasets:
DatasetError; eval: BagError, GroundTruthError, MessageTypesError, NodeError, ReportFolderError,
UsageError; training: CheckpointError, TensorRtMissing), all subclasses of UserError beside the
builtin they always were (ValueError, RuntimeError). A command line prints ``ssd-ros COMMAND:
message`` on one line and exits 2 for any of them; anything else is a bug, which ``ssd-ros``
reports in one line too (the traceback only with SSD_ROS_TRACEBACK=1).
No imports: every package, ROS-free core included, may use it.
"""


class UserError(Exception):
    """Bad input a user can fix; the message says what is wrong and what to do."""
