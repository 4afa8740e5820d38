"""`ssd-ros bag from-dataset` and `ssd-ros bag info`, on the synthetic dataset and on real BCCD photos."""
from __future__ import annotations

import json

import numpy as np
import pytest
from eval_helpers import TRUTH_TOPIC, run_cli

from ssd_ros.bags.reader import Bag, read_frame_keys
from ssd_ros.datasets import load_dataset
from ssd_ros.eval.ground_truth import truth_from_topic


def test_bag_info_lists_topics_counts_and_rates(dataset_bag, capsys):
    compressed, raw = dataset_bag("mcap", True), dataset_bag()
    capsys.readouterr()
    assert run_cli(["bag", "info", compressed, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    topics = {t["topic"]: t for t in summary["topics"]}
    assert topics["/camera/image_raw/compressed"] == {
        "topic": "/camera/image_raw/compressed", "type": "sensor_msgs/msg/CompressedImage", "count": 20,
        "rate_hz": 10.0, "first_s": 1_700_000_000.0, "last_s": 1_700_000_001.9}
    assert topics[TRUTH_TOPIC]["count"] == 20 and topics["/ground_truth/label_info"]["count"] == 1
    assert summary["messages"] == 41 and summary["duration_s"] == pytest.approx(1.9)
    assert run_cli(["bag", "info", raw]) == 0
    table = capsys.readouterr().out
    assert "/camera/image_raw         sensor_msgs/msg/Image                  20     10.00" in table


def test_bag_info_of_something_that_is_not_a_bag(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    assert run_cli(["bag", "info", tmp_path / "notes.txt"]) == 2
    assert "cannot open bag" in capsys.readouterr().err


def test_bag_ground_truth_equals_the_dataset(dataset_bag, synthetic_dataset):
    dataset = load_dataset(synthetic_dataset, "voc")
    with Bag(dataset_bag()) as bag:
        truth = truth_from_topic(bag, TRUTH_TOPIC)
        frames = read_frame_keys(bag, "/camera/image_raw")
    assert truth.class_names == dataset.class_names
    assert [(f.width, f.height, f.frame_id) for f in frames] == [(a.width, a.height, "camera") for a in dataset]
    for record, annotation in zip(truth.records, dataset, strict=True):
        assert np.array_equal(record.boxes, annotation.boxes.astype(np.float64))  # exact, through centre + size
        assert record.names == tuple(dataset.class_names[i] for i in annotation.class_indices)


@pytest.mark.shared
def test_real_bccd_photos_as_a_compressed_bag(shared_dir, tmp_path, capsys):
    """Real JPEGs (BCCD blood cells, 640x480) keep their bytes; a face model on them: a clear class error."""
    data = shared_dir / "data" / "bccd" / "BCCD"
    dataset = load_dataset(data, "voc", "test")
    bag = tmp_path / "bccd"
    assert run_cli(["bag", "from-dataset", "--data", data, "--split", "test", "--out", bag, "--compressed",
                    "--storage", "mcap"]) == 0
    with Bag(bag) as reader:
        stored = [reader.decode(m) for m in reader.messages("/camera/image_raw/compressed")]
        truth = truth_from_topic(reader, TRUTH_TOPIC)
    assert len(stored) == len(dataset) > 10
    assert all(bytes(msg.data) == item.image_path.read_bytes() and msg.format == "jpeg"
               for msg, item in zip(stored, dataset, strict=True))
    assert sum(len(r.boxes) for r in truth.records) == sum(len(a.boxes) for a in dataset)
    assert set(truth.class_names) == {"Platelets", "RBC", "WBC"}
    capsys.readouterr()
    assert run_cli(["eval", "--bag", bag, "--image-topic", "/camera/image_raw/compressed", "--gt-topic", TRUTH_TOPIC,
                    "--model", shared_dir / "models" / "ultraface" / "version-RFB-320.onnx", "--model-config",
                    "models/examples/ultraface-rfb-320.yaml"]) == 2
    assert "the model does not know any ground-truth class" in capsys.readouterr().err
