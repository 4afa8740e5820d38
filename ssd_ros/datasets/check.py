"""``ssd-ros dataset check``: everything wrong with a dataset, by file, and a summary of what is in it.

Contract: ``check_dataset(root, format, split, class_names)`` reads the dataset leniently and
returns a CheckReport listing every issue with its file: problems of the files themselves
(unreadable annotations, malformed lines, labels without images), missing or unreadable images,
images whose real size differs from the declared one, empty boxes (zero width or height),
degenerate boxes (negative size or not finite), boxes reaching outside the image, and unknown
classes (not in ``class_names``, or in the dataset's own class list). The summary counts images,
images without objects, boxes per class, the per-class median box size and a histogram of box
sizes (square root of the area, pixels). Image sizes are read from file headers only.
"""
from __future__ import annotations

import itertools
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ssd_ros.datasets import parse_dataset
from ssd_ros.datasets.images import image_size
from ssd_ros.datasets.types import LabelRecord

SIZE_BINS = (0, 8, 16, 32, 64, 128, 256, 512)


@dataclass(frozen=True)
class CheckIssue:
    kind: str
    file: str
    detail: str


@dataclass
class CheckReport:
    root: str
    format: str
    split: str | None
    class_names: list[str]
    layout: str = ""  # where the reader found the files, e.g. "XML in annotations/, split test from test.csv"
    images: int = 0
    images_without_objects: int = 0
    boxes_per_class: dict[str, int] = field(default_factory=dict)
    median_box_size: dict[str, list[float]] = field(default_factory=dict)  # class -> [width, height] pixels
    size_histogram: dict[str, int] = field(default_factory=dict)  # "16-32" -> boxes whose sqrt(area) is in it
    issues: list[CheckIssue] = field(default_factory=list)

    @property
    def issue_counts(self) -> dict[str, int]:
        return dict(Counter(issue.kind for issue in self.issues))

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "issue_counts": self.issue_counts}, indent=2)


def _size_label(low: int, high: int | None) -> str:
    return f"{low}-{high}" if high is not None else f">={low}"


def _box_issues(record: LabelRecord, known: set[str] | None) -> list[CheckIssue]:
    issues = []
    file = str(record.label_file)
    for number, (box, name) in enumerate(zip(record.boxes.tolist(), record.names, strict=True)):
        x1, y1, x2, y2 = box
        where = f"{record.image_id} object {number} ({name}) box [{x1:g}, {y1:g}, {x2:g}, {y2:g}]"
        if known is not None and name not in known:
            issues.append(CheckIssue("unknown class", file, f"{record.image_id} object {number}: class {name!r}"))
        if record.width is None or record.height is None:
            continue  # no image size (missing image): geometry cannot be judged
        if not np.all(np.isfinite(box)) or x2 < x1 or y2 < y1:
            issues.append(CheckIssue("degenerate box", file, f"{where}: negative size or not a number"))
            continue
        if x2 == x1 or y2 == y1:
            issues.append(CheckIssue("empty box", file, f"{where}: zero width or height"))
            continue
        overshoot = max(-x1, -y1, x2 - record.width, y2 - record.height)
        if overshoot > 0:
            issues.append(CheckIssue("box outside image", file, f"{where} reaches {overshoot:g} px outside the "
                                                                f"{record.width}x{record.height} image"))
    return issues


def check_dataset(root: str | Path, format: str = "auto", split: str | None = None,
                  class_names: list[str] | None = None, voc_origin: int = 1) -> CheckReport:
    parsed = parse_dataset(root, format, split, voc_origin)
    declared = list(class_names) if class_names else (list(parsed.declared_names) if parsed.declared_names else None)
    found = sorted({name for record in parsed.records for name in record.names})
    report = CheckReport(str(root), parsed.format, split, declared or found, ", ".join(parsed.layout))
    report.issues += [CheckIssue(p.kind, str(p.file), p.message) for p in parsed.problems]
    reported = {Path(p.file) for p in parsed.problems if p.kind in ("missing image", "unreadable image")}
    known = set(declared) if declared is not None else None
    sizes_by_class: dict[str, list[tuple[float, float]]] = {}
    box_counts: Counter[str] = Counter()
    for record in parsed.records:
        report.images += 1
        report.images_without_objects += len(record.names) == 0
        if record.image_path not in reported:
            actual = image_size(record.image_path)
            if actual is None:
                kind = "missing image" if not record.image_path.exists() else "unreadable image"
                report.issues.append(CheckIssue(kind, str(record.label_file), f"{record.image_id}: image "
                                                f"{record.image_path} " + ("does not exist" if kind == "missing image"
                                                                           else "is not a readable image")))
            elif record.width is not None and actual != (record.width, record.height):
                report.issues.append(CheckIssue("size mismatch", str(record.label_file),
                                                f"{record.image_id}: declared {record.width}x{record.height}, "
                                                f"image {record.image_path.name} is {actual[0]}x{actual[1]}"))
        report.issues += _box_issues(record, known)
        box_counts.update(record.names)
        for box, name in zip(record.boxes.tolist(), record.names, strict=True):
            width, height = box[2] - box[0], box[3] - box[1]
            if width > 0 and height > 0:  # empty, degenerate and unknown-size boxes are issues, not sizes
                sizes_by_class.setdefault(name, []).append((width, height))
    report.boxes_per_class = {name: box_counts[name] for name in report.class_names}
    report.boxes_per_class |= {name: count for name, count in box_counts.items() if name not in report.class_names}
    report.median_box_size = {name: [round(float(v), 1) for v in np.median(np.asarray(sizes), axis=0)]
                              for name, sizes in sorted(sizes_by_class.items())}
    sides = np.sqrt(np.asarray([w * h for sizes in sizes_by_class.values() for w, h in sizes], float))
    edges = [*SIZE_BINS, np.inf]
    for low, high in itertools.pairwise(edges):
        label = _size_label(int(low), int(high) if np.isfinite(high) else None)
        report.size_histogram[label] = int(((sides >= low) & (sides < high)).sum())
    return report


def format_report(report: CheckReport, max_listed: int = 20) -> str:
    lines = [f"{report.format} dataset {report.root}" + (f", split {report.split}" if report.split else "")
             + (f" ({report.layout})" if report.layout else ""),
             f"  images: {report.images} ({report.images_without_objects} without objects)",
             f"  classes ({len(report.class_names)}): {', '.join(report.class_names)}",
             "  boxes per class (median width x height, px):"]
    for name, count in report.boxes_per_class.items():
        median = report.median_box_size.get(name)
        size = f"{median[0]:.0f} x {median[1]:.0f}" if median else "-"
        lines.append(f"    {name:<24} {count:>7}   {size}")
    total = max(1, sum(report.size_histogram.values()))
    lines.append("  box size histogram (sqrt(area), px):")
    for label, count in report.size_histogram.items():
        lines.append(f"    {label:>8} {count:>7}  {'#' * round(40 * count / total)}")
    if not report.issues:
        lines.append("  no issues found")
        return "\n".join(lines)
    lines.append(f"  {len(report.issues)} issues:")
    for kind, count in sorted(report.issue_counts.items()):
        listed = [issue for issue in report.issues if issue.kind == kind]
        lines.append(f"  {kind}: {count}")
        lines += [f"    {issue.file}: {issue.detail}" for issue in listed[:max_listed]]
        if count > max_listed:
            lines.append(f"    ... {count - max_listed} more (--max-listed to see them, --json for all)")
    return "\n".join(lines)
