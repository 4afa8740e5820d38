"""The repository as a ROS 2 workspace package: colcon finds both packages with the documented arguments.

Runs colcon's own package discovery (colcon from PyPI) on a temporary workspace whose src/ssd_ros
is this repository, exactly as a user clones it.
"""
from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# The workspace build command the README documents (run from the workspace root).
DOCUMENTED_BASE_PATHS = ["src", "src/ssd_ros/ssd_ros_msgs"]


def colcon_list(workspace: Path, base_paths: list[str]) -> dict[str, str]:
    colcon = shutil.which("colcon")
    if colcon is None:
        pytest.skip("colcon is not installed (make setup installs colcon-common-extensions)")
    listing = subprocess.run([colcon, "list", "--base-paths", *base_paths], cwd=workspace,
                             capture_output=True, text=True, check=True).stdout
    packages = {}
    for line in listing.splitlines():
        name, _, build_type = line.split("\t")
        packages[name] = build_type
    return packages


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "ssd_ros").symlink_to(REPO_ROOT, target_is_directory=True)
    return tmp_path


def test_documented_base_paths_find_both_packages(workspace):
    packages = colcon_list(workspace, DOCUMENTED_BASE_PATHS)
    assert packages == {"ssd_ros": "(ros.ament_python)", "ssd_ros_msgs": "(ros.ament_cmake)"}


def test_plain_discovery_misses_the_nested_interface_package(workspace):
    # Why the README insists on the extra base path: colcon stops descending at a package root.
    assert colcon_list(workspace, ["src"]) == {"ssd_ros": "(ros.ament_python)"}


def test_local_vision_msgs_is_never_discovered_in_a_workspace(workspace):
    # compat/vision_msgs must not shadow a real vision_msgs, even with the repository as a base path.
    assert "vision_msgs" not in colcon_list(workspace, ["src/ssd_ros/compat"])


def test_package_manifests_are_format_3_and_name_their_build_type():
    for manifest, build_type in [("package.xml", "ament_python"), ("ssd_ros_msgs/package.xml", "ament_cmake")]:
        root = ET.parse(REPO_ROOT / manifest).getroot()
        assert root.get("format") == "3", manifest
        assert root.findtext("export/build_type") == build_type, manifest
