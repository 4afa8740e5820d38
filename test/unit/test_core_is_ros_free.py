"""ssd_ros/core must run without ROS: no module in it imports rclpy or a *_msgs package."""
from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "ssd_ros" / "core"
FORBIDDEN_PREFIXES = ("rclpy", "rosidl", "rcl_", "ament_", "launch")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant)):
            names.add(str(node.args[0].value))
    return names


def is_ros(module: str) -> bool:
    top = module.split(".")[0]
    return top.startswith(FORBIDDEN_PREFIXES) or top.endswith("_msgs") or top.endswith("_srvs")


def test_no_core_module_imports_ros():
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 8
    offenders = {str(path.relative_to(CORE)): sorted(filter(is_ros, imported_modules(path))) for path in files}
    assert {name: mods for name, mods in offenders.items() if mods} == {}


def test_the_checker_itself_catches_ros_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import rclpy\nfrom vision_msgs.msg import Detection2D\nimport numpy\n")
    assert sorted(filter(is_ros, imported_modules(sample))) == ["rclpy", "vision_msgs.msg"]
