"""The node with every parameter at its default (backend auto) configures and runs: auto measures the
backends at the first load, in a fresh cache folder, and the node reports the backend it picked."""
from __future__ import annotations

import json
import os

import pytest
from node_fixtures import detector_process

from ssd_ros.core.hashing import file_sha256
from ssd_ros.resources import default_model_path
from ssd_ros.ros.params import PARAMETERS_BY_NAME

pytestmark = pytest.mark.ros


def test_the_node_configures_with_the_default_backend_auto(tmp_path):
    assert PARAMETERS_BY_NAME["backend"].default == "auto"
    home = tmp_path / "home"
    home.mkdir()
    with detector_process(tmp_path, env=dict(os.environ, HOME=str(home))):
        log = (tmp_path / "ssd_detector.log").read_text()
    configured = next(line for line in log.splitlines() if "configured:" in line)
    cache = json.loads((home / ".cache" / "ssd_ros" / "backend_choice.json").read_text())
    (record,) = cache["records"]
    assert record["key"]["model_sha256"] == file_sha256(default_model_path())
    assert f" on {record['backend']} (" in configured
