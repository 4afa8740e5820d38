"""The benchmark's plots: latency percentiles vs offered rate, throughput vs offered rate (matplotlib, Agg).

Contract: ``write_plots(report, folder)`` reads a report of :func:`.report.build_report` and writes
``latency.png`` (p50/p95/p99 of the fixed-rate summaries as lines, the peak-search trials' p50 as
points) and ``throughput.png`` (output vs offered rate per camera, fixed rates and peak trials, the
ideal y = x, the peak found and the Detector alone's frames per second per camera); small PNGs
(about 6 x 4 in at 80 dpi). Returns the paths. Uses the Agg backend: no display needed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any


def write_plots(report: dict[str, Any], folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    fixed = report["fixed_rates"]
    trials = (report["peak"] or {}).get("trials", [])
    cameras = report["graph"]["cameras"]
    title = f"{report['graph']['width']}x{report['graph']['height']}, {cameras} camera(s), " \
            f"{report['host'].get('cpu_model') or 'unknown CPU'}"
    rates = [entry["offered_hz"] for entry in fixed]
    paths = []

    figure, axes = plt.subplots(figsize=(6, 4), dpi=80)
    for key, label in (("latency_p50_ms", "p50"), ("latency_p95_ms", "p95"), ("latency_p99_ms", "p99")):
        values = [entry["summary"][key] for entry in fixed]
        axes.plot(rates, [float("nan") if v is None else v for v in values], marker="o", label=f"{label} (fixed rates)")
    if trials:
        axes.scatter([t["offered_hz"] for t in trials],
                     [float("nan") if t["latency_ms"]["p50"] is None else t["latency_ms"]["p50"] for t in trials],
                     marker="x", color="grey", label="p50 (peak search)")
    axes.set_xlabel("offered rate per camera (Hz)")
    axes.set_ylabel("latency, header stamp -> detections (ms)")
    axes.set_title(title, fontsize=9)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    paths.append(folder / "latency.png")
    figure.savefig(paths[-1])
    plt.close(figure)

    figure, axes = plt.subplots(figsize=(6, 4), dpi=80)
    points = [(entry["offered_hz"], entry["summary"]["output_hz"]) for entry in fixed]
    if points:
        axes.plot(*zip(*points, strict=True), marker="o", label="fixed rates")
    if trials:
        axes.scatter([t["offered_hz"] for t in trials], [t["output_hz"] for t in trials], marker="x", color="grey",
                     label="peak search")
    top = max([rate for rate, _ in points] + [t["offered_hz"] for t in trials] + [1.0])
    axes.plot([0, top], [0, top], linestyle=":", color="black", label="output = offered")
    if report["peak"] and report["peak"]["peak_hz"]:
        axes.axvline(report["peak"]["peak_hz"], color="green", linestyle="--",
                     label=f"peak {report['peak']['peak_hz']:.0f} Hz")
    if report["detector_alone"]:
        axes.axhline(report["detector_alone"]["fps"] / cameras, color="red", linestyle="--",
                     label=f"Detector alone {report['detector_alone']['fps'] / cameras:.0f} Hz")
    axes.set_xlabel("offered rate per camera (Hz)")
    axes.set_ylabel("detections per second per camera (Hz)")
    axes.set_title(title, fontsize=9)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    paths.append(folder / "throughput.png")
    figure.savefig(paths[-1])
    plt.close(figure)
    return paths
