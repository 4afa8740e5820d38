"""No standard-library name newer than Python 3.10 is used anywhere in the project.

ssd_ros runs on ROS 2 Humble (Ubuntu 22.04 / JetPack 6: Python 3.10); this machine runs 3.11, so a
3.11-only call (``hashlib.file_digest`` was one) passes every other test here and fails on the
robot. The rule is derived from typeshed, the stubs mypy ships: a module-level name defined only
under ``if sys.version_info >= (3, 11)`` (or newer), or a module listed in typeshed's VERSIONS as
added in 3.11+, is forbidden, whether used as ``module.name``, ``from module import name`` or
``import module``. Methods and parameters are beyond this AST rule: ``make lint`` runs mypy with
``--python-version 3.10`` and ``3.12`` over the whole package for those.
"""
from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FLOOR = (3, 10)
SOURCES = ("ssd_ros", "training/ssd_ros_training", "tools", "launch", "benchmarks", "test")
mypy = pytest.importorskip("mypy", reason="mypy (requirements/dev.txt) ships the typeshed stubs this rule reads")
TYPESHED = Path(mypy.__file__).parent / "typeshed" / "stdlib"


def _version(node: ast.expr) -> tuple[int, int] | None:
    if isinstance(node, ast.Tuple) and all(isinstance(e, ast.Constant) for e in node.elts):
        values = tuple(e.value for e in node.elts)  # type: ignore[attr-defined]
        return (int(values[0]), int(values[1])) if len(values) >= 2 else None
    return None


def _gate(test: ast.expr) -> tuple[str, tuple[int, int]] | None:
    """("ge" | "lt", version) for ``sys.version_info >= / < (X, Y)``."""
    if (isinstance(test, ast.Compare) and len(test.ops) == 1 and ast.unparse(test.left) == "sys.version_info"
            and (version := _version(test.comparators[0])) is not None):
        if isinstance(test.ops[0], ast.GtE):
            return "ge", version
        if isinstance(test.ops[0], ast.Lt):
            return "lt", version
    return None


def _defined(statement: ast.stmt) -> set[str]:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    if isinstance(statement, ast.Assign):
        return {t.id for t in statement.targets if isinstance(t, ast.Name)}
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return {statement.target.id}
    if isinstance(statement, ast.ImportFrom):
        return {alias.asname or alias.name for alias in statement.names}
    return set()


def _collect(body: list[ast.stmt], newer: bool, gated: set[str], always: set[str]) -> None:
    for statement in body:
        if isinstance(statement, ast.If):
            gate = _gate(statement.test)
            if gate is None:
                _collect(statement.body, newer, gated, always)
                _collect(statement.orelse, newer, gated, always)
            else:
                kind, version = gate
                body_newer = newer or (kind == "ge" and version > FLOOR)
                else_newer = newer or (kind == "lt" and version > FLOOR)
                _collect(statement.body, body_newer, gated, always)
                _collect(statement.orelse, else_newer, gated, always)
        else:
            (gated if newer else always).update(_defined(statement))


def newer_stdlib() -> tuple[dict[str, set[str]], set[str]]:
    """(module -> names that exist only after 3.10, modules added after 3.10), from typeshed."""
    new_modules = set()
    for line in (TYPESHED / "VERSIONS").read_text().splitlines():
        module, _, span = line.partition("#")[0].partition(":")
        if span.strip():
            major, minor = span.strip().split("-")[0].split(".")
            if (int(major), int(minor)) > FLOOR:
                new_modules.add(module.strip())
    names: dict[str, set[str]] = {}
    for stub in TYPESHED.rglob("*.pyi"):
        parts = stub.relative_to(TYPESHED).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        gated: set[str] = set()
        always: set[str] = set()
        _collect(ast.parse(stub.read_text()).body, False, gated, always)
        if gated - always:
            names[module] = gated - always
    return names, new_modules


def offences(source: str, filename: str, names: dict[str, set[str]], new_modules: set[str]) -> list[str]:
    tree = ast.parse(source, filename)
    aliases: dict[str, str] = {}
    found = []

    def newer_module(module: str) -> bool:
        return any(module == m or module.startswith(m + ".") for m in new_modules)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                aliases[alias.asname or top] = alias.name if alias.asname else top
                if newer_module(alias.name):
                    found.append(f"{filename}:{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if newer_module(node.module):
                found.append(f"{filename}:{node.lineno}: from {node.module} import ...")
            for alias in node.names:
                if alias.name in names.get(node.module, ()):
                    found.append(f"{filename}:{node.lineno}: from {node.module} import {alias.name}")
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                and node.attr in names.get(aliases[node.value.id], ())):
            found.append(f"{filename}:{node.lineno}: {aliases[node.value.id]}.{node.attr}")
    return found


def test_no_standard_library_name_newer_than_python_3_10():
    names, new_modules = newer_stdlib()
    files = [path for folder in SOURCES for path in sorted((ROOT / folder).rglob("*.py"))]
    assert len(files) > 50
    found = [hit for path in files for hit in offences(path.read_text(), str(path.relative_to(ROOT)), names,
                                                         new_modules)]
    assert found == [], "Python >= 3.11-only standard library use (ROS 2 Humble runs 3.10): " + "; ".join(found)


def test_the_rule_knows_the_names_that_broke_humble():
    names, new_modules = newer_stdlib()
    sample = ("import hashlib, datetime as dt\nfrom enum import StrEnum\nimport tomllib\n"
              "from itertools import batched\nhashlib.file_digest(f, 'sha256')\ndt.UTC\nhashlib.sha256(b'')\n"
              "from typing import Self\n")
    found = offences(sample, "sample.py", names, new_modules)
    assert sorted(hit.split(": ", 1)[1] for hit in found) == sorted([
        "from enum import StrEnum", "import tomllib", "from itertools import batched", "from typing import Self",
        "hashlib.file_digest", "datetime.UTC"])
    original = subprocess.run(["git", "show", "d82ebaf:ssd_ros/core/backends/engine_cache.py"], cwd=ROOT,
                              capture_output=True, text=True)
    if original.returncode == 0:  # the code this rule was written after
        assert [hit.split(": ", 1)[1] for hit in offences(original.stdout, "engine_cache.py", names, new_modules)] \
            == ["hashlib.file_digest"]
