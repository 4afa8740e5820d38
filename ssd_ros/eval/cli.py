"""``ssd-ros eval``: measure a detector on a labelled dataset or on a bag (offline, recorded or online).

    ssd-ros eval --data DIR [--format auto|voc|coco|yolo|csv] [--split S]
    ssd-ros eval --bag BAG [--image-topic T] (--gt FILE_OR_DIR | --gt-topic T)
                 [--detections-topic T]                               # recorded: score what is in the bag
                 [--online [--rate HZ | --lockstep] [--running-node] [--record-bag PATH]]   # online: through the node
                 [--match stamp|index] [--stamp-tolerance-ms 1]
    both:        [--model M.onnx] [--score-threshold 0.01] [--nms-iou 0.45] [--max-detections 100]
                 [--workers N]                                        # --data, offline --bag: frames at once
                 [--report OUT/] [--write-thresholds FILE.yaml] [--min-map 0.5] [--json]

Modes on a bag: offline (default; the core Detector on the bag's frames), recorded (with
--detections-topic: a Detection2DArray topic in the bag), online (--online: frames published over
DDS to the ssd_detector node, started here or already running, and its output scored).
``--model`` defaults to the embedded default model (as the node does); ``--image-topic`` to the bag's
only camera topic when it has one. Datasets and bags give the same options and the same report
(``--json`` prints it, evaluation.py describes it). Prints mAP@[.5:.95], mAP@.5, mAP@.75 and AP@.5
per class; ``--write-thresholds FILE`` writes the per-class score thresholds of the highest F1 as
a params file the node takes (``class_score_thresholds``); ``--report DIR`` writes report.json,
report.md and plots into a folder the report owns (checked before the evaluation runs: a file or a
folder holding other files is refused unless ``--overwrite``; a failed run leaves no report.json).
Ground-truth boxes are checked first (NaN, infinite, degenerate, outside the image): every problem is
counted in the report and warned about, and no box left to score is an error. Exit codes: 0 done,
1 mAP@.5 below ``--min-map`` (a CI gate), 2 bad input (missing file or topic, no frames, ground truth
matching no frame or with no scorable box, a model that does not load or cannot run a frame), in
one line.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ssd_ros.cli_args import fraction, non_negative_int, positive_int
from ssd_ros.datasets import FORMAT_CHOICES
from ssd_ros.datasets.cli import add_voc_origin_argument
from ssd_ros.errors import UserError
from ssd_ros.eval.errors import EvaluationError
from ssd_ros.ros.params import BACKENDS, default, evaluation_values

# config/eval.yaml over the node's table: a low threshold, since the whole precision-recall curve is scored
SCORE_THRESHOLD = evaluation_values()["score_threshold"]
MAX_DETECTIONS = evaluation_values()["max_detections"]
NMS_IOU = evaluation_values()["nms_iou_threshold"]
MAX_AUTO_WORKERS = 4  # --workers 0: beyond a few frames at once, memory grows and the gain stops


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("eval", help="measure mAP on a labelled dataset or a bag",
                                   description="Measure a detector on a labelled dataset or on a bag (offline, "
                                               "recorded or online).",
                                   formatter_class=argparse.RawDescriptionHelpFormatter,
                                   epilog="\n".join(__doc__.splitlines()[2:]).replace("``", ""))
    model = parser.add_argument_group("model")
    model.add_argument("--model", type=Path, default=None, help="ONNX model (default: the embedded default model)")
    model.add_argument("--model-config", type=Path, help="YAML sidecar for third-party models")
    detector_only = [
        model.add_argument("--backend", default=default("backend"), choices=BACKENDS,
                           help="(default: %(default)s; not in recorded mode)"),
        model.add_argument("--score-threshold", type=fraction,
                           help=f"(default: {SCORE_THRESHOLD}, config/eval.yaml: the whole precision-recall curve "
                                "is scored; not in recorded mode)"),
        model.add_argument("--nms-iou", type=fraction,
                           help=f"IoU above which class-wise NMS suppresses the weaker box (default: {NMS_IOU}, as "
                                "the node; not in recorded mode)"),
        model.add_argument("--max-detections", type=positive_int,
                           help=f"(default: {MAX_DETECTIONS}, COCO's limit per image; not in recorded mode)")]

    data = parser.add_argument_group("labelled dataset")
    data.add_argument("--data", type=Path, help="dataset folder (or COCO .json)")
    data_only = [data.add_argument("--format", default="auto", choices=FORMAT_CHOICES,
                                   help="(default: %(default)s: told apart by the files)"),
                 data.add_argument("--split", default=None, help="dataset split, e.g. test (default: every image)")]
    add_voc_origin_argument(data)  # --data, and --gt files

    bag = parser.add_argument_group("bag")
    bag.add_argument("--bag", type=Path, help="rosbag2 folder (sqlite3 or mcap), .mcap/.db3 file or ROS 1 .bag")
    bag_only = [
        bag.add_argument("--image-topic", help="sensor_msgs/Image or CompressedImage topic in the bag (default: "
                                               "the bag's only camera topic)"),
        bag.add_argument("--gt", type=Path, help="ground truth files: COCO JSON, VOC folder or YOLO folder"),
        bag.add_argument("--gt-format", default="auto", choices=FORMAT_CHOICES, help="(default: %(default)s)"),
        bag.add_argument("--gt-split", default=None, help="split of the --gt dataset"),
        bag.add_argument("--gt-topic", help="ground truth as a vision_msgs/Detection2DArray topic in the bag"),
        bag.add_argument("--match", choices=["stamp", "index"], default=None,
                         help="pair ground truth with frames by header stamp or by position (default: stamp for "
                              "--gt-topic, index for --gt; stamp with --gt reads the timestamp in each image's name)"),
        bag.add_argument("--stamp-tolerance-ms", type=float, default=1.0, help="(default: %(default)s)"),
        bag.add_argument("--detections-topic",
                         help="recorded mode: score this Detection2DArray topic of the bag; with --online: the topic "
                              "the node publishes on (default /ssd_eval/detections)"),
        bag.add_argument("--online", action="store_true", help="publish the frames over DDS to the detector node")]

    offline = parser.add_argument_group("detection here (--data, or --bag without --online or --detections-topic)")
    offline_only = [offline.add_argument(
        "--workers", type=non_negative_int, default=0,
        help="frames detected at once; onnxruntime divides the cores among them (default: 0 = one per core, at most "
             f"{MAX_AUTO_WORKERS}; 1 = one frame at a time on every core)")]

    online = parser.add_argument_group("online mode")
    online_only = [
        online.add_argument("--rate", type=float, default=None, help="publish rate in Hz (default: as recorded)"),
        online.add_argument("--running-node", action="store_true",
                            help="use a node that is already running instead of starting one"),
        online.add_argument("--publish-topic", help="where to publish the frames (default: the bag's image topic)"),
        online.add_argument("--node-name", default="ssd_eval_detector", help="(default: %(default)s)"),
        online.add_argument("--warmup-frames", type=int, default=2, help="(default: %(default)s)"),
        online.add_argument("--drain-seconds", type=float, default=3.0,
                            help="wait for late outputs after the last frame (default: %(default)s)"),
        online.add_argument("--ready-timeout", type=float, default=120.0,
                            help="seconds to wait for the node (default: %(default)s)"),
        online.add_argument("--record-bag", type=Path,
                            help="record the run (frames, outputs, ground truth) into a bag"),
        online.add_argument("--record-storage", choices=["sqlite3", "mcap"], default="sqlite3",
                            help="(default: %(default)s)"),
        online.add_argument("--lockstep", action="store_true",
                            help="publish the next frame once the node answered the previous one (or after "
                                 "--lockstep-timeout): nothing is dropped for speed, so the score equals offline "
                                 "mode's on any machine; the rate is then the node's"),
        online.add_argument("--lockstep-timeout", type=float, default=10.0,
                            help="with --lockstep: seconds to wait for an answer before moving on (default: 10)")]

    output = parser.add_argument_group("output")
    output.add_argument("--report", type=Path, help="folder for report.json, report.md and plots")
    output.add_argument("--overwrite", action="store_true",
                        help="write the --report into a folder that holds other files")
    output.add_argument("--write-thresholds", type=Path, metavar="FILE.yaml",
                        help="write the per-class score thresholds of the highest F1 as a params file for the node "
                             "(class_score_thresholds)")
    output.add_argument("--min-map", type=float, default=None, help="exit 1 if mAP@0.5 is below this")
    output.add_argument("--json", action="store_true", help="print the whole report as JSON")
    # options that mean something only in some uses: given elsewhere they are an error, never ignored
    parser.set_defaults(func=run, only_with={
        "--data": _options(data_only), "--bag": _options(bag_only), "--online": _options(online_only),
        "--data or an offline --bag": _options(offline_only),
        "a detector run here (not recorded mode, not --running-node)": _options(detector_only)})


def _options(actions) -> tuple[tuple[str, str, object], ...]:
    return tuple((action.option_strings[0], action.dest, action.default) for action in actions)


def _check_options(args: argparse.Namespace) -> None:
    in_use = {"--data": args.data is not None, "--bag": args.bag is not None, "--online": args.online,
              "--data or an offline --bag":
                  args.data is not None or (args.bag is not None and not args.online and not args.detections_topic),
              "a detector run here (not recorded mode, not --running-node)":
                  args.data is not None or (args.online and not args.running_node) or
                  (not args.online and not args.detections_topic)}
    for needs, options in args.only_with.items():
        given = [option for option, dest, default in options if getattr(args, dest) != default]
        if given and not in_use[needs]:
            raise UsageError(f"{', '.join(given)} only apply with {needs}")


class UsageError(EvaluationError, ValueError):
    pass


def run(args: argparse.Namespace) -> int:
    from ssd_ros.eval.report import prepare_report_folder, report_dict, write_report

    try:
        if (args.data is None) == (args.bag is None):
            raise UsageError("give either --data DIR (a labelled dataset) or --bag BAG (a recording)")
        _check_options(args)
        if args.report is not None:
            prepare_report_folder(args.report, args.overwrite)  # before the evaluation, which may take long
        elif args.overwrite:
            raise UsageError("--overwrite applies to --report")
        evaluation, context, title = run_dataset(args) if args.data is not None else run_bag(args)
        files = write_report(evaluation, args.report, context) if args.report is not None else {}
        if args.write_thresholds is not None:
            from ssd_ros.eval.thresholds import write_thresholds

            write_thresholds(args.write_thresholds, evaluation.metrics, f"measured by {title}")
    except UserError as error:  # every package's errors (ssd_ros/errors.py)
        print(f"ssd-ros eval: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report_dict(evaluation, context), indent=2))
        for warning in evaluation.warnings:  # stdout holds the JSON only
            print(f"ssd-ros eval: warning: {warning}", file=sys.stderr)
    else:
        _print_summary(title, evaluation, files)
        for warning in evaluation.warnings:
            print(f"  warning: {warning}")
        if args.write_thresholds is not None:
            print(f"  per-class thresholds of the highest F1: {args.write_thresholds}")
    map_50 = evaluation.metrics.map_50
    if args.min_map is not None and map_50 < args.min_map:
        print(f"ssd-ros eval: mAP@.5 {map_50:.3f} is below --min-map {args.min_map}", file=sys.stderr)
        return 1
    return 0


def offline_workers(requested: int) -> int:
    """--workers: 0 is one per core (cpu_threads.default_threads), at most MAX_AUTO_WORKERS."""
    from ssd_ros.core.backends.cpu_threads import default_threads

    return requested if requested > 0 else min(default_threads(), MAX_AUTO_WORKERS)


def _load_detector(args: argparse.Namespace, parallel_runs: int = 1):
    """The Detector, after the node's trial run on a blank frame (a model that cannot run fails here, once)."""
    from ssd_ros.core import Detector, trial_run

    model = _model_path(args)
    detector = Detector.load(model, args.model_config, backend=args.backend, parallel_runs=parallel_runs)
    trial_run(detector, f"model {model}")
    return detector


def _model_path(args: argparse.Namespace) -> Path:
    from ssd_ros.resources import default_model_path

    return args.model if args.model is not None else default_model_path()


def _postprocess(args: argparse.Namespace):
    from ssd_ros.core import PostprocessConfig

    return PostprocessConfig(score_threshold=_score_threshold(args), nms_iou_threshold=_nms_iou(args),
                             max_detections=_max_detections(args))


def _score_threshold(args: argparse.Namespace) -> float:
    return SCORE_THRESHOLD if args.score_threshold is None else args.score_threshold


def _nms_iou(args: argparse.Namespace) -> float:
    return NMS_IOU if args.nms_iou is None else args.nms_iou


def _max_detections(args: argparse.Namespace) -> int:
    return MAX_DETECTIONS if args.max_detections is None else args.max_detections


def _print_summary(title: str, evaluation, files: dict) -> None:
    metrics = evaluation.metrics
    print(title)
    print(f"  mAP@[.5:.95] {metrics.map:.3f}   mAP@.5 {metrics.map_50:.3f}   mAP@.75 {metrics.map_75:.3f}   "
          f"VOC07 mAP {metrics.map_voc07:.3f}")
    for name, value in metrics.ap_50_per_class.items():
        best = metrics.f1_best.get(name)
        f1 = f"   best F1 {best['f1']:.3f} at score > {best['score_threshold']:g}" if best else ""
        print(f"  AP@.5 {name:<20} {value:.3f}   AR {metrics.ar_per_class[name]:.3f}{f1}")
    latency = evaluation.mode_report.get("latency_ms")
    if latency:
        print(f"  latency p50 {latency['p50']:.1f} ms, p99 {latency['p99']:.1f} ms; "
              f"{evaluation.mode_report['frames_without_output']} published frames without output")
    if files:
        print(f"  report: {files['markdown']}")


def run_dataset(args: argparse.Namespace):
    """(the Evaluation, the report's context, a title) of --data."""
    from ssd_ros.datasets import detect_format, load_dataset
    from ssd_ros.eval.dataset import evaluate_on_dataset

    model = _model_path(args)
    workers = offline_workers(args.workers)
    detector = _load_detector(args, parallel_runs=workers)
    data_format = detect_format(args.data) if args.format == "auto" else args.format
    dataset = load_dataset(args.data, data_format, args.split, voc_origin=args.voc_origin)
    post = _postprocess(args)
    result = evaluate_on_dataset(detector, dataset, post, workers)
    source = {"data": str(args.data), "format": data_format, "split": args.split, "voc_origin": args.voc_origin}
    evaluation = result.as_evaluation(source, tuple(dataset.class_names))
    context = {"model": str(model), "backend": args.backend, "score_threshold": post.score_threshold,
               "nms_iou_threshold": post.nms_iou_threshold}
    metrics = result.metrics
    title = (f"{model.name} on {args.data} ({args.split or 'all'}): {metrics.images} images, "
             f"{metrics.ground_truth_boxes} objects, {result.frames_per_second:.1f} images/s "
             f"({result.frames_at_once} at once, {result.mean_detect_ms:.1f} ms per detection)")
    return evaluation, context, title


def run_bag(args: argparse.Namespace):
    """(the Evaluation, the report's context, a title) of --bag."""
    from ssd_ros.eval.bag_eval import BagEvalRequest, evaluate_bag

    if (args.gt is None) == (args.gt_topic is None):
        raise UsageError("give the ground truth as --gt FILE_OR_DIR (COCO JSON, VOC or YOLO) or as --gt-topic TOPIC "
                         "(a Detection2DArray topic in the bag)")
    if not args.image_topic:
        args.image_topic = _only_camera_topic(args.bag)
    request = BagEvalRequest(args.bag, args.image_topic, args.gt_topic, args.gt, args.gt_format, args.gt_split,
                             args.match, args.stamp_tolerance_ms, truth_voc_origin=args.voc_origin)
    mode = _mode(args, request)
    evaluation = evaluate_bag(request, mode)
    frames = evaluation.frames
    title = (f"{mode.name} evaluation of {args.bag} {args.image_topic}: {frames['read']} frames read, "
             f"{frames['evaluated']} evaluated, {frames['unmatched']} unmatched, {frames['unreadable']} unreadable")
    return evaluation, mode.context, title


def _only_camera_topic(bag_path: Path) -> str:
    """The bag's camera topic when it has exactly one; UsageError listing them otherwise."""
    from ssd_ros.bags.reader import Bag
    from ssd_ros.bags.types import CAMERA_TYPES

    with Bag(bag_path) as bag:
        cameras = [name for name, topic in bag.topics.items() if topic.msgtype in CAMERA_TYPES]
    if len(cameras) != 1:
        raise UsageError(f"--bag {bag_path} has {len(cameras)} camera topics ({', '.join(cameras) or 'none'}): "
                         "choose one with --image-topic")
    return cameras[0]


def _mode(args: argparse.Namespace, request):
    """The evaluation mode of the options (mode_types.EvaluationMode)."""
    from ssd_ros.core import load_model_spec

    if not args.online and not args.detections_topic:
        from ssd_ros.eval.offline import OfflineMode

        workers = offline_workers(args.workers)
        detector = _load_detector(args, parallel_runs=workers)
        post = _postprocess(args)
        return OfflineMode(args.image_topic, detector, post, workers=workers, context={
            "model": str(_model_path(args)), "backend": args.backend, "score_threshold": post.score_threshold,
            "nms_iou_threshold": post.nms_iou_threshold})

    known_model = args.model is not None or (args.online and not args.running_node)
    spec = load_model_spec(_model_path(args), args.model_config) if known_model else None
    model_classes = spec.class_names if spec is not None else None
    labels = {str(index): label for index, label in enumerate(spec.labels)} if spec is not None else {}
    if not args.online:
        from ssd_ros.eval.recorded import RecordedMode

        return RecordedMode(args.image_topic, args.detections_topic, labels, request.tolerance_ns, model_classes,
                            context={"model": str(args.model) if args.model else None})

    from ssd_ros.eval.online import OnlineMode, OnlineSettings

    if args.lockstep and args.rate is not None:
        raise UserError("--rate and --lockstep exclude each other: lockstep publishes each frame once the node "
                        "answered the previous one")
    settings = OnlineSettings(
        detections_topic=args.detections_topic or OnlineSettings.detections_topic,
        publish_topic=args.publish_topic, rate_hz=args.rate, start_node=not args.running_node,
        model=args.model, model_config=args.model_config, backend=args.backend,
        score_threshold=_score_threshold(args), nms_iou_threshold=_nms_iou(args), max_detections=_max_detections(args),
        node_name=args.node_name,
        node_log=(args.report / "node.log") if args.report is not None else None,
        warmup_frames=args.warmup_frames, drain_s=args.drain_seconds, ready_timeout_s=args.ready_timeout,
        record_bag=args.record_bag, record_storage=args.record_storage, lockstep=args.lockstep,
        lockstep_timeout_s=args.lockstep_timeout)
    return OnlineMode(args.image_topic, settings, labels, model_classes, context={
        "model": str(_model_path(args)) if known_model else "(the running node's)",
        "score_threshold": settings.score_threshold if settings.start_node else "(the running node's)"})
