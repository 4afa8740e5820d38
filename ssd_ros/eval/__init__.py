"""Evaluation: detection metrics on labelled datasets and on bags (bags themselves: ssd_ros.bags).

- metrics.py: COCO mAP, per-class AP/AR, VOC07 AP, precision-recall curves and F1-best points (one
  COCOeval run; pure: numbers in, numbers out, importable by training);
- ground_truth.py: ground truth from a bag topic or dataset files, and its matching to frames;
  truth_boxes.py: every ground-truth box checked against its frame;
- mode_types.py: the one small protocol of evaluation modes; offline.py / recorded.py / online.py:
  the three modes behind it; bag_eval.py: a bag evaluated through one mode, scored, every frame
  accounted; dataset.py: a Detector on a labelled dataset;
- evaluation.py: the result both produce; report.py: its JSON, Markdown and plots; thresholds.py:
  the F1-best per-class thresholds as a params file for the node;
- cli.py: ``ssd-ros eval``.
"""
