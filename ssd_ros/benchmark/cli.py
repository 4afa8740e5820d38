"""``ssd-ros benchmark``: the detector node's throughput, latency and CPU use, measured on this machine's graph.

    ssd-ros benchmark [--model M.onnx] [--param NAME=VALUE]... [--cameras 4 [--separate-nodes]]
                      [--rates 10,30,60] [--runs 5] [--seconds 5] [--no-peak] [--output DIR]

Contract: parses the options into a :class:`~.graph.GraphSettings` and a :class:`~.runner.BenchmarkPlan`
(``parse_settings``; bad values raise ``UsageError``, a UserError), runs them
(:func:`~.runner.run_benchmark`), writes ``benchmark.json``, ``benchmark.md`` and the plots into
``--output`` and prints the Markdown. ``--param`` values are read as ROS parameter YAML (``true``,
``4``, ``0.3``, ``[a, b]``); image_topics and detection_topics belong to the benchmark's graph and
cannot be set. DDS: the node and the player take the node's transport settings
(:func:`ssd_ros.ros.transport.configure_transport`); discovery reaches as far as this shell says
(run it under ``tools/run`` to keep it on this machine). Heavy imports happen in ``run``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ssd_ros.errors import UserError

GRAPH_OWNED = ("image_topics", "detection_topics")


class UsageError(UserError, ValueError):
    pass


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "benchmark", help="measure the detector node's peak rate, latency and CPU use (ros2_benchmark's method)",
        description=__doc__.splitlines()[0])
    graph = parser.add_argument_group("the graph")
    graph.add_argument("--model", default="", help="model file (default: the node's default model)")
    graph.add_argument("--backend", default="", help="inference backend (default: the node's default)")
    graph.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="a node parameter, as YAML (repeatable), e.g. --param num_threads=2")
    graph.add_argument("--width", type=int, default=640)
    graph.add_argument("--height", type=int, default=480)
    graph.add_argument("--encoding", default="rgb8", choices=("rgb8", "bgr8"))
    graph.add_argument("--cameras", type=int, default=1, help="camera topics played (default: %(default)s)")
    graph.add_argument("--separate-nodes", action="store_true",
                       help="one node per camera instead of one node batching every camera")
    graph.add_argument("--phase", default="sync", choices=("sync", "spread"),
                       help="cameras tick together (hardware sync) or spread over the period (default: %(default)s)")
    method = parser.add_argument_group("the method")
    method.add_argument("--rates", default="10,30,60", help="fixed rates per camera, Hz (default: %(default)s)")
    method.add_argument("--runs", type=int, default=5, help="runs per fixed rate (default: %(default)s)")
    method.add_argument("--drop", type=int, default=1,
                        help="best and worst runs dropped per metric (default: %(default)s)")
    method.add_argument("--seconds", type=float, default=5.0, help="seconds per fixed-rate run (default: %(default)s)")
    method.add_argument("--no-peak", action="store_true", help="skip the peak-rate search")
    method.add_argument("--peak-min", type=float, default=1.0, help="lowest rate searched, Hz (default: %(default)s)")
    method.add_argument("--peak-max", type=float, default=500.0,
                        help="highest rate searched, Hz (default: %(default)s)")
    method.add_argument("--peak-seconds", type=float, default=3.0,
                        help="seconds per search trial (default: %(default)s)")
    method.add_argument("--peak-trials", type=int, default=8, help="most search trials (default: %(default)s)")
    method.add_argument("--detector-seconds", type=float, default=3.0,
                        help="seconds of the Detector alone on the same frames; 0 skips it (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=Path("ssd_ros_benchmark"),
                        help="folder for benchmark.json, benchmark.md and the plots (default: %(default)s)")
    parser.add_argument("--no-plots", action="store_true")
    parser.set_defaults(func=run)


def _positive(name: str, value: float) -> float:
    if not value > 0:
        raise UsageError(f"--{name} must be positive, got {value}")
    return value


def parse_parameters(entries: list[str]) -> dict[str, Any]:
    import yaml

    parameters: dict[str, Any] = {}
    for entry in entries:
        name, separator, text = entry.partition("=")
        if not separator or not name.strip():
            raise UsageError(f"--param {entry!r} is not NAME=VALUE")
        if name.strip() in GRAPH_OWNED:
            raise UsageError(f"--param {name.strip()}: the benchmark sets the topics itself (use --cameras)")
        try:
            parameters[name.strip()] = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError as error:
            raise UsageError(f"--param {entry!r}: the value is not YAML ({error})") from None
    return parameters


def parse_settings(args: argparse.Namespace) -> tuple[Any, Any]:
    """(GraphSettings, BenchmarkPlan) from parsed options; UsageError names the bad one."""
    from ssd_ros.benchmark.graph import GraphSettings
    from ssd_ros.benchmark.runner import BenchmarkPlan

    parameters = parse_parameters(args.param)
    if args.model:
        parameters["model_path"] = str(Path(args.model).resolve())
    if args.backend:
        parameters["backend"] = args.backend
    try:
        rates = tuple(float(text) for text in args.rates.split(",") if text.strip())
    except ValueError:
        raise UsageError(f"--rates {args.rates!r} is not a comma-separated list of rates in Hz") from None
    for rate in rates:
        _positive("rates", rate)
    if args.cameras < 1 or args.width < 1 or args.height < 1:
        raise UsageError("--cameras, --width and --height must be at least 1")
    if args.runs < 1 or args.drop < 0:
        raise UsageError("--runs must be at least 1 and --drop at least 0")
    if args.peak_min > args.peak_max:
        raise UsageError(f"--peak-min {args.peak_min} is above --peak-max {args.peak_max}")
    for name in ("seconds", "peak_min", "peak_seconds"):
        _positive(name.replace("_", "-"), getattr(args, name))
    from ssd_ros.benchmark.baseline import node_parameters

    try:
        node_parameters(parameters)
    except ValueError as error:
        raise UsageError(f"--param: {error}") from None
    graph = GraphSettings(width=args.width, height=args.height, encoding=args.encoding, cameras=args.cameras,
                          separate_nodes=args.separate_nodes, phase=args.phase, parameters=parameters)
    plan = BenchmarkPlan(rates_hz=rates, runs=args.runs, drop=args.drop, seconds=args.seconds,
                         peak=not args.no_peak, peak_low_hz=args.peak_min, peak_high_hz=args.peak_max,
                         peak_seconds=args.peak_seconds, peak_max_trials=args.peak_trials,
                         detector_s=max(0.0, args.detector_seconds))
    return graph, plan


def run(args: argparse.Namespace) -> int:
    graph, plan = parse_settings(args)
    from ssd_ros.ros.transport import configure_transport

    configure_transport()  # before any DDS participant: the node's settings, inherited by the player
    from ssd_ros.benchmark.hardware import describe_host
    from ssd_ros.benchmark.report import build_report, markdown, write_report
    from ssd_ros.benchmark.runner import run_benchmark

    output = Path(args.output)
    result = run_benchmark(graph, plan, output / "logs", progress=lambda line: print(line, file=sys.stderr, flush=True))
    report = build_report(result, describe_host())
    written = write_report(report, output)
    if not args.no_plots:
        from ssd_ros.benchmark.plots import write_plots

        written += write_plots(report, output)
    print(markdown(report))
    print("wrote " + ", ".join(str(path) for path in written))
    return 0
