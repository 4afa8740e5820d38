"""The rosbags type store for reading and writing bags: a ROS 2 store plus vision_msgs and ssd_ros_msgs.

Bags written by rosbag2 from Iron on, by mcap and by rosbags carry their message definitions, and
rosbags reads those; this store serves bags without definitions (rosbag2 sqlite3 from Humble) and
every bag ssd_ros writes. The base is rosbags' store of the sourced distribution (``ROS_DISTRO``
humble -> Humble, anything else -> Jazzy; both have the same sensor_msgs/std_msgs layouts).

vision_msgs and ssd_ros_msgs are registered from their .msg files (rosbags.typesys.get_types_from_msg),
looked up in this order, first found wins:
1. the ament index of a ROS install (``share/vision_msgs/msg``, ``share/ssd_ros_msgs/msg``),
2. the copies ssd_ros installs itself: ``share/ssd_ros/compat/vision_msgs/msg`` (setup.py data_files;
   vision_msgs 4.x definitions whose RIHS01 hashes equal upstream's) and, in a source tree,
   ``ssd_ros_msgs/msg``.
vision_msgs is required (MessageTypesError says where it looked); ssd_ros_msgs is optional.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

from ssd_ros.bags.errors import BagError
from ssd_ros.resources import SOURCE_ROOT, share_path

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
DETECTION_2D_ARRAY = "vision_msgs/msg/Detection2DArray"
LABEL_INFO = "vision_msgs/msg/LabelInfo"
CAMERA_TYPES = (IMAGE, COMPRESSED_IMAGE)
# ROS 1 bags name types without the /msg/ part (rosbags keeps ROS 1 names as written)
ROS1_NAMES = {"sensor_msgs/Image": IMAGE, "sensor_msgs/CompressedImage": COMPRESSED_IMAGE,
              "vision_msgs/Detection2DArray": DETECTION_2D_ARRAY, "vision_msgs/LabelInfo": LABEL_INFO}


class MessageTypesError(BagError, RuntimeError):
    """Message definitions needed for bags are not installed; the message says where they were looked for."""


def canonical_type(msgtype: str) -> str:
    """The ROS 2 name of a message type, also for ROS 1 names (``sensor_msgs/Image``)."""
    return ROS1_NAMES.get(msgtype, msgtype)


def _ament_msg_dir(package: str) -> Path | None:
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    except ImportError:
        return None
    try:
        folder = Path(get_package_share_directory(package)) / "msg"
    except (PackageNotFoundError, LookupError, OSError):  # OSError: no AMENT_PREFIX_PATH (not a ROS install)
        return None
    return folder if folder.is_dir() else None


def definition_dirs() -> dict[str, Path]:
    """Package -> the folder of .msg files registered for it."""
    found: dict[str, Path] = {}
    vision = _ament_msg_dir("vision_msgs")
    if vision is None:
        try:
            vision = share_path("compat/vision_msgs/msg")
        except FileNotFoundError as error:
            raise MessageTypesError(f"vision_msgs message definitions not found: no vision_msgs in the ament index "
                                    f"and {error}") from None
    found["vision_msgs"] = vision
    ours = _ament_msg_dir("ssd_ros_msgs") or SOURCE_ROOT / "ssd_ros_msgs" / "msg"
    if ours.is_dir():
        found["ssd_ros_msgs"] = ours
    return found


@functools.lru_cache(maxsize=1)
def bag_typestore():
    """The shared Typestore (built once; rosbags type stores are read-only after registration)."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    store = get_typestore(Stores.ROS2_HUMBLE if os.environ.get("ROS_DISTRO") == "humble" else Stores.ROS2_JAZZY)
    types: dict = {}
    for package, folder in definition_dirs().items():
        for path in sorted(folder.glob("*.msg")):
            types.update(get_types_from_msg(path.read_text(), f"{package}/msg/{path.stem}"))
    store.register(types)
    return store
