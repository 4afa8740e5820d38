"""Evaluation reports: JSON (machine-readable), a Markdown summary and PNG plots, in one folder.

Contract: ``write_report(evaluation, folder, context)`` writes
- ``report.json``: ``report_dict(evaluation, context)``: mode, source, ``context`` (model, settings),
  frame accounting (read = evaluated + unmatched + unreadable), ground-truth matching outcomes,
  counted class problems, metrics (COCO mAP@[.5:.95], @.5, @.75, VOC07 11-point mAP, per-class AP,
  AP@.5, VOC07 AP, AR, precision at each recall point, the COCOeval engine and version that computed
  them), the mode's own section (offline timing,
  recorded matching, online latency percentiles and rates) and the warnings;
- ``report.md``: the same in tables, for people;
- ``pr_curves.png``: precision-recall at IoU .5, one curve per class (COCOeval's interpolated curve);
- ``latency_histogram.png``: online mode only, header stamp to receipt of each output.
Plots use matplotlib's Agg canvas (no display needed). Returns {kind: path} of the files written.

The report folder is owned by the report: ``prepare_report_folder(folder, overwrite)`` runs before
the evaluation and raises ``ReportFolderError`` when ``folder`` is a file, or a non-empty folder
holding files other than ``REPORT_FILES`` (a foreign folder) unless ``overwrite``; it removes the
report files of a previous run there, so a run that fails leaves no stale report.json behind.
``write_report`` writes every file into a hidden temporary folder inside ``folder`` and then moves
them in with ``os.replace`` (report.json last), so no reader ever sees a half-written report.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ssd_ros.eval.errors import EvaluationError
from ssd_ros.eval.evaluation import Evaluation
from ssd_ros.eval.metrics import RECALL_POINTS, EvaluationResult

REPORT_FILES = ("report.json", "report.md", "pr_curves.png", "latency_histogram.png", "node.log")
_PARTIAL_PREFIX = ".partial-report-"


class ReportFolderError(EvaluationError, ValueError):
    """The --report target cannot hold this report; the message says why and what to do."""


def prepare_report_folder(folder: Path, overwrite: bool = False) -> None:
    """Check ``folder`` can take a report and clear a previous run's report files (see the module docstring)."""
    if folder.exists() and not folder.is_dir():
        raise ReportFolderError(f"--report {folder} is a file, not a folder: give a folder for report.json, "
                                "report.md and the plots")
    if folder.is_dir():
        foreign = sorted(entry.name for entry in folder.iterdir()
                         if entry.name not in REPORT_FILES and not entry.name.startswith(_PARTIAL_PREFIX))
        if foreign and not overwrite:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise ReportFolderError(f"--report {folder} already holds files that are not an ssd-ros report ({shown}): "
                                    "give a new or empty folder, or add --overwrite to write the report among them")
        for name in REPORT_FILES:
            stale = folder / name
            if stale.is_file() or stale.is_symlink():
                stale.unlink()
        for partial in folder.glob(f"{_PARTIAL_PREFIX}*"):
            shutil.rmtree(partial, ignore_errors=True)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReportFolderError(f"cannot create the --report folder {folder}: {error.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise ReportFolderError(f"cannot write into the --report folder {folder}: permission denied")


def metrics_dict(metrics: EvaluationResult) -> dict[str, Any]:
    return {
        "map": metrics.map, "map_50": metrics.map_50, "map_75": metrics.map_75, "map_voc07": metrics.map_voc07,
        "images": metrics.images, "ground_truth_boxes": metrics.ground_truth_boxes, "detections": metrics.detections,
        "per_class": {name: {"ap": metrics.ap_per_class[name], "ap_50": metrics.ap_50_per_class[name],
                             "ap_voc07": metrics.ap_voc07_per_class[name], "ar": metrics.ar_per_class[name]}
                      for name in metrics.ap_per_class},
        "precision_at_recall": {"recall": list(RECALL_POINTS), **metrics.precision_at_recall},
        "f1_best": metrics.f1_best,
        "engine": metrics.engine,
    }


def report_dict(evaluation: Evaluation, context: dict[str, Any]) -> dict[str, Any]:
    with_output = evaluation.metrics_frames_with_output
    return {
        "mode": evaluation.mode,
        "source": evaluation.source,
        **context,
        "frames": evaluation.frames,
        "unreadable_examples": evaluation.unreadable_examples,
        "ground_truth": evaluation.ground_truth,
        "detections": evaluation.detections,
        "classes": list(evaluation.classes),
        "metrics": metrics_dict(evaluation.metrics),
        "metrics_frames_with_output": metrics_dict(with_output) if with_output is not None else None,
        evaluation.mode: evaluation.mode_report,
        "warnings": evaluation.warnings,
    }


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    def cell(value: Any) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(cell(v) for v in row) + " |" for row in rows), ""]


def markdown(report: dict[str, Any], files: dict[str, Path]) -> str:
    metrics = report["metrics"]
    source = report["source"]
    lines = [f"# Detection evaluation ({report['mode']})", ""]
    if report["mode"] == "dataset":
        lines += [f"Dataset `{source['data']}` ({source['format']}, split {source['split'] or 'all images'}).", ""]
    else:
        lines += [f"Bag `{source['bag']}`, frames `{source['image_topic']}` ({source['image_type']}), ground truth "
                  f"{report['ground_truth']['source']} matched by {source['match']}"
                  + (f" (tolerance {source['stamp_tolerance_ms']:g} ms)" if source["match"] == "stamp" else "") + ".",
                  ""]
    if "model" in report:
        lines += [f"Model `{report['model']}`.", ""]
    lines += ["## Frames", "", *_table(list(report["frames"]), [list(report["frames"].values())])]
    lines += ["## Metrics", "", *_table(["mAP@[.5:.95]", "mAP@.5", "mAP@.75", "VOC07 mAP", "images", "objects",
                                         "detections"],
                                        [[metrics["map"], metrics["map_50"], metrics["map_75"], metrics["map_voc07"],
                                          metrics["images"], metrics["ground_truth_boxes"], metrics["detections"]]])]
    lines += _table(["class", "AP", "AP@.5", "VOC07 AP", "AR"],
                    [[name, v["ap"], v["ap_50"], v["ap_voc07"], v["ar"]] for name, v in metrics["per_class"].items()])
    if metrics["f1_best"]:
        lines += ["Per-class score threshold of the highest F1 at IoU .5 (`--write-thresholds` writes them as "
                  "the node's `class_score_thresholds`):", ""]
        lines += _table(["class", "threshold", "F1", "precision", "recall"],
                        [[name, v["score_threshold"], v["f1"], v["precision"], v["recall"]]
                         for name, v in metrics["f1_best"].items()])
    with_output = report["metrics_frames_with_output"]
    if with_output is not None:
        lines += [f"On the {with_output['images']} frames that had an output: mAP@[.5:.95] {with_output['map']:.3f}, "
                  f"mAP@.5 {with_output['map_50']:.3f}.", ""]
    mode = report[report["mode"]]
    if report["mode"] == "online":
        latency = mode["latency_ms"] or {}
        header = ["published", "with output", "no output", "publish Hz", "processed Hz",
                  *(f"latency {key}" + (" ms" if key != "count" else "") for key in latency)]
        lines += ["## Online", "", *_table(header, [[
            mode["frames_published"], mode["frames_with_output"], mode["frames_without_output"],
            mode["publish_rate_hz"], mode["processed_rate_hz"], *latency.values()]])]
    elif report["mode"] == "dataset":
        lines += [f"Dataset: {mode['frames_per_second']:.1f} images/s (reading and detection), "
                  f"{mode['frames_at_once']} at once; {mode['mean_detect_ms']:.1f} ms per detection.", ""]
    elif report["mode"] == "offline":
        lines += [f"Offline: {mode['frames_per_second']:.1f} frames/s end to end (reading, decoding, detection), "
                  f"{mode['frames_at_once']} at once; {mode['mean_detect_ms']:.1f} ms per detection.", ""]
    else:
        lines += [f"Recorded detections `{mode['detections_topic']}`: {mode['messages']} messages, "
                  f"{mode['message_outcomes']}.", ""]
    lines += ["## Warnings", "", *(f"- {warning}" for warning in report["warnings"] or ["none"]), ""]
    lines += [f"![{kind}]({path.name})" for kind, path in files.items() if path.suffix == ".png"]
    return "\n".join(lines) + "\n"


def plot_precision_recall(metrics: EvaluationResult, path: Path) -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4.5), dpi=100)
    axes = figure.subplots()
    for name, curve in metrics.precision_at_recall.items():
        if curve:
            axes.plot(RECALL_POINTS, curve, label=f"{name} (AP@.5 {metrics.ap_50_per_class[name]:.3f})")
    axes.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02),
             title=f"Precision-recall at IoU 0.5 (mAP@.5 {metrics.map_50:.3f})")
    axes.grid(alpha=0.3)
    if axes.lines:
        axes.legend(loc="lower left", fontsize="small")
    else:
        axes.text(0.5, 0.5, "no class has ground truth", ha="center")
    figure.savefig(path)


def plot_latency(latencies_ms: list[float], summary: dict[str, float], path: Path) -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4), dpi=100)
    axes = figure.subplots()
    axes.hist(latencies_ms, bins=min(50, max(5, len(latencies_ms) // 4)), color="tab:blue")
    for key, style in (("p50", "-"), ("p99", "--")):
        axes.axvline(summary[key], color="tab:red", linestyle=style, label=f"{key} {summary[key]:.1f} ms")
    axes.set(xlabel="latency, header stamp to receipt (ms)", ylabel="outputs", title="Online latency")
    axes.legend()
    figure.savefig(path)


def write_report(evaluation: Evaluation, folder: Path, context: dict[str, Any]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=_PARTIAL_PREFIX, dir=folder))
    try:
        files = {"json": partial / "report.json", "markdown": partial / "report.md",
                 "precision_recall": partial / "pr_curves.png"}
        plot_precision_recall(evaluation.metrics, files["precision_recall"])
        latency = evaluation.mode_report.get("latency_ms")
        if evaluation.latencies_ms and latency:
            files["latency"] = partial / "latency_histogram.png"
            plot_latency(evaluation.latencies_ms, latency, files["latency"])
        report = report_dict(evaluation, context)
        report["files"] = {kind: path.name for kind, path in files.items()}
        files["json"].write_text(json.dumps(report, indent=2) + "\n")
        files["markdown"].write_text(markdown(report, files))
        final = {kind: folder / path.name for kind, path in files.items()}
        for kind in sorted(files, key=lambda kind: kind == "json"):  # report.json last: its presence means done
            os.replace(files[kind], final[kind])
        return final
    finally:
        shutil.rmtree(partial, ignore_errors=True)
