"""``ssd-ros dataset check DIR``: report what is wrong in a labelled dataset and summarise it (no torch).

    ssd-ros dataset check DIR [--format auto|voc|coco|yolo|csv] [--split S] [--classes a,b | --classes FILE]
                              [--voc-origin 1|0] [--json] [--max-listed N]

Exit code 0 when no issue is found, 1 when there are issues (a CI gate), 2 when the dataset
cannot be read at all.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ssd_ros.datasets import FORMAT_CHOICES


def add_voc_origin_argument(parser) -> None:
    """--voc-origin, the one definition every command that reads datasets shares."""
    parser.add_argument("--voc-origin", type=int, default=1, choices=[1, 0],
                        help="VOC XML box numbers: 1 = the VOC devkit's 1-based pixel indices, read as x1 = xmin - 1 "
                             "(default); 0 = used as written, as most converters and outside scorers do")


def add_parser(subparsers) -> None:
    dataset = subparsers.add_parser("dataset", help="inspect labelled datasets (VOC, COCO, YOLO, TensorFlow CSV)",
                                    description="Inspect labelled datasets.")
    commands = dataset.add_subparsers(dest="dataset_command", required=True, metavar="SUBCOMMAND")
    check = commands.add_parser("check", help="list missing images, bad boxes and unknown classes; summarise",
                                description=__doc__.splitlines()[0])
    check.add_argument("root", type=Path, help="dataset folder (or a COCO .json / TensorFlow .csv file)")
    check.add_argument("--format", default="auto", choices=FORMAT_CHOICES,
                       help="dataset format (default: auto, from the folder's layout)")
    check.add_argument("--split", default=None, help="check only this split: a list file (ImageSets/Main/S.txt, "
                                                     "S.txt, S_labels.csv) or folder S/ (default: every image)")
    add_voc_origin_argument(check)
    check.add_argument("--classes", default=None,
                       help="expected class names, comma-separated or a file with one per line "
                            "(default: the dataset's own list)")
    check.add_argument("--json", action="store_true", help="print the full report as JSON")
    check.add_argument("--max-listed", type=int, default=20, help="issues listed per kind (default 20)")
    check.set_defaults(func=run_check)


def _class_names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    path = Path(value)
    if path.is_file():
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return [name.strip() for name in value.split(",") if name.strip()]


def run_check(args: argparse.Namespace) -> int:
    from ssd_ros.datasets import DatasetError
    from ssd_ros.datasets.check import check_dataset, format_report

    try:
        report = check_dataset(args.root, args.format, args.split, _class_names(args.classes), args.voc_origin)
    except DatasetError as error:
        print(f"ssd-ros dataset check: {error}", file=sys.stderr)
        return 2
    print(report.to_json() if args.json else format_report(report, args.max_listed))
    return 1 if report.issues else 0
