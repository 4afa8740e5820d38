"""Inference thread count left to us (num_threads 0): one per physical core this process may use, set
explicitly on the onnxruntime session (left at 0, onnxruntime pins its threads and ignores the mask)."""
from __future__ import annotations

import pytest

from ssd_ros.core.backends import cpu_threads


def fake_topology(root, cores_of_cpus):
    for cpu, (package, core) in enumerate(cores_of_cpus):
        folder = root / f"cpu{cpu}" / "topology"
        folder.mkdir(parents=True)
        (folder / "physical_package_id").write_text(f"{package}\n")
        (folder / "core_id").write_text(f"{core}\n")


@pytest.mark.parametrize(("layout", "usable", "expected"), [
    ([(0, 0), (0, 0), (0, 1), (0, 1)], (0, 1, 2, 3), 2),  # two cores with two hardware threads each
    ([(0, 0), (0, 0), (0, 1), (0, 1)], (0, 1), 1),  # a mask holding the two threads of one core
    ([(0, 0), (1, 0)], (0, 1), 2),  # the same core id on two packages is two cores
    ([(0, 0), (0, 1), (0, 2)], (2,), 1),
])
def test_one_thread_per_physical_core_in_the_affinity_mask(tmp_path, monkeypatch, layout, usable, expected):
    fake_topology(tmp_path, layout)
    monkeypatch.setattr(cpu_threads, "_TOPOLOGY", tmp_path)
    monkeypatch.setattr(cpu_threads, "usable_cpus", lambda: usable)
    assert cpu_threads.default_threads() == expected


def test_without_topology_every_usable_cpu_counts(tmp_path, monkeypatch):
    monkeypatch.setattr(cpu_threads, "_TOPOLOGY", tmp_path / "missing")
    monkeypatch.setattr(cpu_threads, "usable_cpus", lambda: (0, 3, 5))
    assert cpu_threads.default_threads() == 3


def test_the_onnxruntime_session_gets_an_explicit_count():
    from ssd_ros.core.backends.onnxruntime_backend import OnnxRuntimeBackend
    from ssd_ros.resources import default_model_path

    automatic = OnnxRuntimeBackend(default_model_path(), "cpu", 0, None)
    assert automatic.session.get_session_options().intra_op_num_threads == cpu_threads.default_threads() >= 1
    chosen = OnnxRuntimeBackend(default_model_path(), "cpu", 3, None)
    assert chosen.session.get_session_options().intra_op_num_threads == 3


@pytest.mark.parametrize(("cores", "parallel_runs", "expected"),
                         [(4, 1, 4), (4, 2, 2), (4, 3, 1), (2, 8, 1), (1, 2, 1)])
def test_the_cores_are_divided_among_runs_in_flight(monkeypatch, cores, parallel_runs, expected):
    monkeypatch.setattr(cpu_threads, "default_threads", lambda: cores)
    assert cpu_threads.threads_per_run(parallel_runs) == expected


def test_the_onnxruntime_session_divides_the_cores_among_parallel_runs(monkeypatch):
    from ssd_ros.core.backends.onnxruntime_backend import OnnxRuntimeBackend
    from ssd_ros.core.detector import Detector
    from ssd_ros.resources import default_model_path

    monkeypatch.setattr(cpu_threads, "default_threads", lambda: 4)
    detector = Detector.load(default_model_path(), backend="onnxruntime", parallel_runs=2)
    assert detector.backend.session.get_session_options().intra_op_num_threads == 2
    chosen = OnnxRuntimeBackend(default_model_path(), "cpu", 3, None, parallel_runs=2)  # a count given wins
    assert chosen.session.get_session_options().intra_op_num_threads == 3


def test_the_node_divides_the_cores_among_its_inference_workers(monkeypatch):
    pytest.importorskip("rclpy", reason="the node's parameter table lives with the ROS adapter")
    from ssd_ros.benchmark.baseline import node_parameters
    from ssd_ros.ros.detector_node import load_detector

    monkeypatch.setattr(cpu_threads, "default_threads", lambda: 2)
    for workers, threads in ((1, 2), (2, 1)):
        detector = load_detector(node_parameters({"backend": "onnxruntime", "inference_workers": workers}))
        assert detector.backend.session.get_session_options().intra_op_num_threads == threads
