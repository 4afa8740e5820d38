"""Topic names the node and its tools derive from one another, one definition each.

Contract (plain strings, relative or absolute, no ROS import):
- ``compressed_topic(image)``: where image_transport's compressed frames of ``image`` are, ``<image>/compressed``;
  ``raw_topic(topic)`` the inverse (unchanged when it does not end in ``/compressed``);
- ``sibling_topic(topic, name)``: ``name`` beside ``topic`` in its namespace (``/a/detections`` ->
  ``/a/label_info``); ``name`` alone for a topic without a namespace;
- ``detection_topic_names(image_topics, detection_topics)``: the node's output per camera: as given, or
  ``detections`` for one camera, ``<camera namespace>/detections`` for several;
- ``debug_topic(detection_topic)``: its annotated-image topic, ``debug_image`` beside it (relative, so in
  the node's namespace, for a top-level output).
"""
from __future__ import annotations

COMPRESSED_SUFFIX = "/compressed"
LABEL_INFO = "label_info"
DEBUG_IMAGE = "debug_image"
DETECTIONS = "detections"


def compressed_topic(image_topic: str) -> str:
    return image_topic if image_topic.endswith(COMPRESSED_SUFFIX) else image_topic + COMPRESSED_SUFFIX


def raw_topic(topic: str) -> str:
    return topic.removesuffix(COMPRESSED_SUFFIX)


def sibling_topic(topic: str, name: str) -> str:
    namespace = topic.rstrip("/").rpartition("/")[0]
    return f"{namespace}/{name}" if namespace or topic.startswith("/") else name


def detection_topic_names(image_topics: list[str], detection_topics: list[str]) -> list[str]:
    if detection_topics:
        return list(detection_topics)
    if len(image_topics) == 1:
        return [DETECTIONS]
    names = []
    for topic in image_topics:
        namespace = topic.rstrip("/").rpartition("/")[0]
        names.append(f"{namespace or topic}/{DETECTIONS}")
    return names


def debug_topic(detection_topic: str) -> str:
    """Beside a namespaced output; relative (the node's namespace) beside a top-level one."""
    namespace = detection_topic.rstrip("/").rpartition("/")[0]
    return f"{namespace}/{DEBUG_IMAGE}" if namespace else DEBUG_IMAGE
