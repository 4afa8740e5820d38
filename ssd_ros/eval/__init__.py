"""Evaluation: detection metrics (pycocotools) on labelled datasets and on bags.

- metrics.py: COCO mAP, per-class AP/AR, VOC07 AP, precision-recall curves (one COCOeval run);
- dataset.py: a Detector on a labelled dataset (``ssd-ros eval --data``);
- bags: bag_types.py (rosbags type store with vision_msgs), bag_reader.py, bag_writer.py,
  detection_messages.py (Detection2DArray/LabelInfo <-> boxes), from_dataset.py (``ssd-ros bag from-dataset``);
- bag evaluation: ground_truth.py (sources and matching), offline.py / recorded.py / online.py (the three
  modes, mode_types.py their common output), bag_eval.py (scoring and frame accounting), report.py;
- command lines: cli.py (``ssd-ros eval``), bag_cli.py (``ssd-ros bag``).
"""
