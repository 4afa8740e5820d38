"""ament_python package ``ssd_ros`` (the repository root).

Python dependencies are not listed in ``install_requires``: on a ROS machine they come from
rosdep keys in package.xml (pkg_resources would otherwise reject apt-installed packages at
``ros2 run`` time); in the PyPI-wheel environment ``make setup`` installs them from
requirements/.
"""
from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = "ssd_ros"
ROOT = Path(__file__).resolve().parent


def tree(folder: str) -> list[tuple[str, list[str]]]:
    """data_files entries installing every file below ``folder`` to share/ssd_ros/<folder>."""
    entries: dict[str, list[str]] = {}
    for path in sorted((ROOT / folder).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            relative = path.relative_to(ROOT)
            entries.setdefault(f"share/{PACKAGE}/{relative.parent.as_posix()}", []).append(relative.as_posix())
    return list(entries.items())


setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=["ssd_ros", "ssd_ros.*"]),
    package_data={"ssd_ros": ["py.typed"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        *tree("launch"),
        *tree("config"),
        *tree("models"),
        *tree("compat/vision_msgs/msg"),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="ssd_ros maintainers",
    maintainer_email="ssd_ros@example.com",
    description="SSD object detection for ROS 2 with ONNX Runtime, TensorRT and OpenVINO backends",
    license="Apache-2.0",
    python_requires=">=3.10",
    entry_points={
        "console_scripts": [
            "detector = ssd_ros.ros.detector_node:main",
            "ssd-ros = ssd_ros.cli:main",
        ],
    },
)
