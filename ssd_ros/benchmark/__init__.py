"""The graph benchmark (``ssd-ros benchmark``): the detector node measured the way Isaac ROS's ros2_benchmark measures.

Three processes, as on a robot: a player (:mod:`.player`: frames held in memory, serialised once,
published at a set rate with a fresh header stamp), the detector node (started with
:class:`ssd_ros.node_command.DetectorCommand`, its default parameters unless overridden) and a monitor
(:mod:`.monitor`, in the benchmarking process: receives the detections and measures header stamp ->
receipt). :mod:`.graph` starts and drives them; :mod:`.runner` runs the method: a peak-rate search
(:mod:`.rules`: a rate passes with at most 5% of frames unanswered and the output rate within 5 Hz of
the input), then fixed rates (10/30/60 Hz) for several runs with the best and worst dropped
(:mod:`.stats`); :mod:`.report` writes JSON and Markdown, :mod:`.plots` the plots, naming the host
(:mod:`.hardware`). Nothing here changes DDS settings beyond what the node itself applies
(:func:`ssd_ros.ros.transport.configure_transport`): ``tools/run`` keeps tests and ``make`` targets on
loopback, a user's robot keeps its own settings.
"""
