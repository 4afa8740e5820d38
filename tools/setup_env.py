"""``make setup``: build the project's environment in ``.venv`` from nothing, idempotently.

Two modes, chosen by whether a ROS 2 installation is sourced (``ROS_DISTRO`` set):

* PyPI-wheel mode (no ROS): ROS 2 Jazzy from the ``ros-jazzy-*`` wheels, every version pinned by
  requirements/constraints.txt; the wheels' CMake exports are patched to this interpreter; the
  interface packages (``ssd_ros_msgs``, and ``compat/vision_msgs`` only when ``vision_msgs`` is
  not importable) are built with CMake and installed into the venv, where they import with no
  extra environment.
* Where ../shared/ros2-cli exists (developers and CI; ``SSD_ROS_SHARED`` points elsewhere), the
  upstream Jazzy launch / launch_pytest / ``ros2`` command-line wheels are installed too, and
  composition_interfaces (which launch_ros imports) is built like the other interfaces.
* In PyPI-wheel mode the checkout is registered in the venv prefix as an installed ament package
  (``share/ament_index``, ``share/ssd_ros/{launch,config,models}`` as links into the checkout and
  ``lib/ssd_ros/{detector,ssd-ros}``), which is what ``ros2 launch`` / ``ros2 run`` look up; the
  links make it behave like ``colcon build --symlink-install``.
* ROS mode (a sourced Humble/Jazzy): the venv sees the system site-packages, the system
  ``vision_msgs`` is used (never a local one) and colcon builds the workspace into
  ``.colcon/install``, which ``tools/run`` sources.

Two profiles: ``full`` (the default: what ``make test`` needs: runtime, the training package with
PyTorch, test and lint tools, the ros2 command line) and ``runtime`` (``--runtime``, what ``make
demo`` needs: ROS 2, the node's and the evaluation's packages; no PyTorch, no CUDA wheels, no dev
tools). A venv set up as ``full`` serves ``runtime`` as it is.

Every step is skipped when its inputs (requirement files, message definitions, ...) have the
same fingerprint as at its last success, so a second run takes seconds. Runs with the system
``python3``; uses only the standard library.
"""
from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
STAMPS = VENV / ".ssd_ros-stamps"
REQUIREMENTS = ROOT / "requirements"
COLCON_BASE = ROOT / ".colcon"
SHARED = Path(os.environ.get("SSD_ROS_SHARED", ROOT.parent / "shared"))
ROS2_CLI = SHARED / "ros2-cli"
PACKAGE = "ssd_ros"
# What a colcon install of the package puts under share/ssd_ros (setup.py's data_files).
SHARED_TREES = ("launch", "config", "models", "compat", "package.xml")
EXECUTABLES = ("detector", "ssd-ros")
# Paths of the machine that built the ROS wheels, baked into their CMake export files.
WHEEL_BUILD_PYTHON_INCLUDE = "/opt/python/cp311-cp311/include/python3.11"
WHEEL_BUILD_NUMPY_INCLUDE = "/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include"


def log(message: str) -> None:
    print(f"[setup] {message}", flush=True)


def run(command: list[str], **kwargs) -> None:
    log("$ " + " ".join(str(part) for part in command))
    subprocess.run([str(part) for part in command], check=True, **kwargs)


def fingerprint(*parts: Path | str) -> str:
    digest = hashlib.sha256(f"{sys.version_info[:2]} {platform.machine()}".encode())
    for part in parts:
        if isinstance(part, Path):
            files = sorted(p for p in part.rglob("*") if p.is_file()) if part.is_dir() else [part]
            for file in files:
                name = file.relative_to(part if part.is_dir() else part.parent)
                digest.update(name.as_posix().encode())
                digest.update(file.read_bytes())
        else:
            digest.update(part.encode())
    return digest.hexdigest()


def up_to_date(step: str, print_: str) -> bool:
    stamp = STAMPS / step
    return stamp.exists() and stamp.read_text() == print_


def mark_done(step: str, print_: str) -> None:
    STAMPS.mkdir(parents=True, exist_ok=True)
    (STAMPS / step).write_text(print_)


def ros_is_sourced() -> bool:
    return bool(os.environ.get("ROS_DISTRO")) and bool(os.environ.get("AMENT_PREFIX_PATH"))


def create_venv(system_site_packages: bool) -> None:
    if VENV_PYTHON.exists():
        return
    command = [sys.executable, "-m", "venv", VENV]
    if system_site_packages:
        command.append("--system-site-packages")
    run(command)


def requirement_files(wheel_mode: bool, runtime_only: bool = False) -> list[Path]:
    names = ["runtime.txt"] if runtime_only else ["runtime.txt", "training.txt", "dev.txt"]
    if wheel_mode:
        names.insert(0, "ros-jazzy.txt")
    return [REQUIREMENTS / name for name in names]


def install_python_packages(wheel_mode: bool, runtime_only: bool = False) -> None:
    constraints = REQUIREMENTS / "constraints.txt"
    full_key = fingerprint(*requirement_files(wheel_mode), constraints, ROOT / "setup.py",
                           ROOT / "training" / "pyproject.toml")
    if up_to_date("python-packages", full_key):
        log("Python packages up to date")
        return
    files = requirement_files(wheel_mode, runtime_only)
    key = fingerprint(*files, constraints, ROOT / "setup.py") if runtime_only else full_key
    step = "python-packages-runtime" if runtime_only else "python-packages"
    if up_to_date(step, key):
        log("Python packages (runtime) up to date")
        return
    pip = [VENV_PYTHON, "-m", "pip", "install", "--disable-pip-version-check", "-c", constraints]
    requirements = [arg for file in files for arg in ("-r", file)]
    run([*pip, *requirements])
    # The project itself, editable; its dependencies came from the requirement files above.
    run([*pip, "--no-deps", "-e", ROOT, *([] if runtime_only else ["-e", ROOT / "training"])])
    mark_done(step, key)


def venv_python_value(expression: str) -> str:
    return subprocess.run(
        [VENV_PYTHON, "-c", f"print({expression})"], check=True, capture_output=True, text=True
    ).stdout.strip()


def patch_wheel_cmake_exports() -> None:
    """Point the wheels' CMake exports at this interpreter's include dirs instead of the builder's."""
    python_include = venv_python_value("__import__('sysconfig').get_paths()['include']")
    numpy_include = venv_python_value("__import__('numpy').get_include()")
    for cmake_file in (VENV / "share").rglob("*.cmake"):
        text = cmake_file.read_text()
        if WHEEL_BUILD_PYTHON_INCLUDE in text or WHEEL_BUILD_NUMPY_INCLUDE in text:
            text = text.replace(WHEEL_BUILD_NUMPY_INCLUDE, numpy_include)
            cmake_file.write_text(text.replace(WHEEL_BUILD_PYTHON_INCLUDE, python_include))


def vision_msgs_importable() -> bool:
    probe = subprocess.run([VENV_PYTHON, "-c", "import vision_msgs.msg"], capture_output=True)
    return probe.returncode == 0


def cmake_build_install(source: Path) -> None:
    """Configure, build and install one ament_cmake interface package into the venv prefix."""
    build_dir = VENV / "build" / source.name
    shutil.rmtree(build_dir, ignore_errors=True)
    build_dir.mkdir(parents=True)
    env = dict(os.environ)
    env.update(
        PATH=f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        AMENT_PREFIX_PATH=str(VENV),
        CMAKE_PREFIX_PATH=str(VENV),
        VIRTUAL_ENV=str(VENV),
    )
    jobs = str(os.cpu_count() or 2)
    run(
        [
            "cmake", "-S", source, "-B", build_dir,
            f"-DCMAKE_INSTALL_PREFIX={VENV}",
            f"-DPython3_EXECUTABLE={VENV_PYTHON}",
            "-DBUILD_TESTING=OFF",
            "-DCMAKE_BUILD_TYPE=Release",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    run(["cmake", "--build", build_dir, "-j", jobs], env=env, stdout=subprocess.DEVNULL)
    run(["cmake", "--install", build_dir], env=env, stdout=subprocess.DEVNULL)


def build_interfaces_from_wheels() -> None:
    ros_key = fingerprint(REQUIREMENTS / "ros-jazzy.txt", REQUIREMENTS / "constraints.txt")
    vision_key = fingerprint(ROOT / "compat" / "vision_msgs", ros_key)
    own_key = fingerprint(ROOT / "ssd_ros_msgs", vision_key)
    if up_to_date("interfaces", own_key):
        log("interface packages up to date")
        return
    patch_wheel_cmake_exports()
    if up_to_date("vision_msgs", vision_key):
        log("vision_msgs (local compatible build) up to date")
    elif vision_msgs_importable() and not (STAMPS / "vision_msgs").exists():
        log("vision_msgs is importable: using it, no local build")
    else:
        log("no vision_msgs installed: building the vision_msgs 4.x-compatible package")
        cmake_build_install(ROOT / "compat" / "vision_msgs")
        mark_done("vision_msgs", vision_key)
    cmake_build_install(ROOT / "ssd_ros_msgs")
    mark_done("interfaces", own_key)


def install_ros2_cli() -> None:
    """launch, launch_ros, launch_pytest and the ``ros2`` command line from ../shared/ros2-cli."""
    wheels = sorted((ROS2_CLI / "wheels").glob("*.whl"))
    if not wheels:
        log(f"no {ROS2_CLI}: the ros2 command line, launch and launch_pytest are not installed "
            "(their tests skip); on a ROS 2 machine they come with the installation")
        return
    requirements = REQUIREMENTS / "ros2-cli.txt"
    key = fingerprint(ROS2_CLI, requirements, REQUIREMENTS / "constraints.txt")
    if up_to_date("ros2-cli", key):
        log("ros2 command line and launch packages up to date")
        return
    pip = [VENV_PYTHON, "-m", "pip", "install", "--disable-pip-version-check"]
    run([*pip, "-c", REQUIREMENTS / "constraints.txt", "-r", requirements])
    # The wheels name their ROS dependencies by ROS package name (ament-index-python, rclpy, ...),
    # which the ros-* wheels already provide under other distribution names: no dependency resolution.
    run([*pip, "--no-deps", *wheels])
    cmake_build_install(ROS2_CLI / "composition_interfaces")
    mark_done("ros2-cli", key)


def _link(link: Path, target: Path) -> None:
    if link.is_symlink() and link.readlink() == target:
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


def register_ament_package() -> None:
    """Make the checkout an installed ament package of the venv prefix (see the module docstring).

    Files are linked one by one under real folders, as ``colcon build --symlink-install`` does:
    ``ros2 launch`` finds launch files with ``os.walk``, which does not descend into linked folders.
    Runs at every ``make setup`` (it takes milliseconds), so added files appear and removed ones go.
    """
    index = VENV / "share" / "ament_index" / "resource_index" / "packages"
    index.mkdir(parents=True, exist_ok=True)
    (index / PACKAGE).touch()
    share = VENV / "share" / PACKAGE
    wanted = {}
    for name in SHARED_TREES:
        source = ROOT / name
        files = [source] if source.is_file() else sorted(
            path for path in source.rglob("*") if path.is_file() and "__pycache__" not in path.parts)
        wanted.update({share / path.relative_to(ROOT): path for path in files})
    for name in EXECUTABLES:
        wanted[VENV / "lib" / PACKAGE / name] = VENV / "bin" / name
    for folder in (share, VENV / "lib" / PACKAGE):
        if folder.is_dir():
            for path in folder.rglob("*"):
                if path.is_symlink() and path not in wanted:
                    path.unlink()
    for link, target in wanted.items():
        _link(link, target)


def build_workspace_with_colcon() -> None:
    """ROS mode: the sourced installation provides vision_msgs; colcon builds both packages."""
    key = fingerprint(ROOT / "ssd_ros_msgs", ROOT / "package.xml", os.environ.get("ROS_DISTRO", ""))
    if up_to_date("colcon", key):
        log("colcon workspace up to date")
        return
    run(
        [
            "colcon", "build", "--symlink-install",
            "--base-paths", ROOT, ROOT / "ssd_ros_msgs",
            "--build-base", COLCON_BASE / "build", "--install-base", COLCON_BASE / "install",
        ],
        cwd=ROOT,
    )
    mark_done("colcon", key)


def main(argv: list[str]) -> int:
    started = time.monotonic()
    runtime_only = "--runtime" in argv
    wheel_mode = not ros_is_sourced()
    log(f"mode: {'ROS 2 Jazzy from PyPI wheels' if wheel_mode else 'sourced ROS 2 ' + os.environ['ROS_DISTRO']}"
        f", profile {'runtime (no PyTorch, no dev tools)' if runtime_only else 'full'}")
    if shutil.which("cmake") is None and wheel_mode:
        log("cmake not found: install it (Debian/Ubuntu: apt-get install cmake g++ make) and rerun")
        return 1
    create_venv(system_site_packages=not wheel_mode)
    install_python_packages(wheel_mode, runtime_only)
    if wheel_mode:
        build_interfaces_from_wheels()
        if not runtime_only:
            install_ros2_cli()
        register_ament_package()
    else:
        build_workspace_with_colcon()
    log(f"environment ready in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
