"""Evaluation: detection metrics (pycocotools) on datasets and recordings."""
