"""The interface packages: exact upstream type hashes, and real cross-process traffic over DDS."""
from __future__ import annotations

import pytest
from ros_helpers import ros_process
from vision_msgs import msg as vision_msgs

from ssd_ros_msgs.msg import ModelInfo

pytestmark = pytest.mark.ros

# RIHS01 hashes of upstream vision_msgs 4.1.1, computed from its .msg files. A local build that
# differs would not interoperate with robots running the real package.
UPSTREAM_VISION_MSGS_HASHES = {
    "BoundingBox2D": "RIHS01_008eacbb0cf8f26e83795547bed013eec3675485ef386ec056d80eaaf1c1ce2f",
    "BoundingBox2DArray": "RIHS01_2464e82838009386d371b523211c21c91d74d313fcdd6788223c531d621cf691",
    "BoundingBox3D": "RIHS01_bbb73a65c163d7f9bb29009c7bde9f7faa576bd2d23299c4511d19230dab4698",
    "BoundingBox3DArray": "RIHS01_a81938db9576b10c2eecd7c5a5da3eac496efd00221b25ed051dfbc81fb56da6",
    "Classification": "RIHS01_f74db28d0eaef3afb78f48bf2161cd709a1383a0309d3454383b25be11345143",
    "Detection2D": "RIHS01_0d12b69df5c593b3455b7346fac8205437a7d4bcb09b9e0e0b2dde787ded38ea",
    "Detection2DArray": "RIHS01_214274120007f4a683866481336b70310268cfa107aebe9d594a6acf75bda968",
    "Detection3D": "RIHS01_ddd703be132ab0b69d33121f1bb034132bfbb3b0ac5f9fb1516005ba1c8a265b",
    "Detection3DArray": "RIHS01_793f5eab9595ac1c0da07873cc859db42eae51f0ee76056db8562515d830e018",
    "LabelInfo": "RIHS01_3d37df4015cdf660cc851c51897f2acd957e1ca6205ba0a99aebffb9406b0783",
    "ObjectHypothesis": "RIHS01_51da43cec11c01957a64d1e05a24acd18aae7745ec30b74348ad5f6d634f7f90",
    "ObjectHypothesisWithPose": "RIHS01_41c12344c0396c48b81df12467c192d99b2a0eb1463c5c37194e4223251c80bc",
    "Point2D": "RIHS01_eab0e83f44ab4de92ceaf76dd7d0e7638f2bdd1d16ffbe16c7a136c48e407247",
    "Pose2D": "RIHS01_b0b5d1d7b4c20dd4fcde3ed1d4b289a919290572007d67a97043814db25d3648",
    "VisionClass": "RIHS01_1e4a11f0fed50b5623cb8ff26ca0e37952a48a9c074d16f804b44e9164c2037a",
    "VisionInfo": "RIHS01_95d3116a17484ad91c9a2686e1d54890bbfc3ff6c6a2de137738c4950d45d284",
}


def test_vision_msgs_type_hashes_equal_upstream(graph):
    node = graph.node("hash_probe")
    for name in UPSTREAM_VISION_MSGS_HASHES:
        node.create_publisher(getattr(vision_msgs, name), f"hash_probe/{name}", 1)
    got = {}
    for name in UPSTREAM_VISION_MSGS_HASHES:
        (endpoint,) = node.get_publishers_info_by_topic(f"hash_probe/{name}")
        if not hasattr(endpoint, "topic_type_hash"):
            pytest.skip("this ROS distribution has no type hashes (Humble); they exist from Iron on")
        got[name] = str(endpoint.topic_type_hash)
    assert got == UPSTREAM_VISION_MSGS_HASHES


def test_messages_cross_process_over_dds(graph, tmp_path):
    listener = graph.node("listener")
    received: dict[str, object] = {}
    listener.create_subscription(vision_msgs.Detection2DArray, "peer/detections",
                                 lambda msg: received.setdefault("detections", msg), 10)
    listener.create_subscription(ModelInfo, "peer/model_info", lambda msg: received.setdefault("info", msg), 10)

    with ros_process(["test/ros/peer_publisher.py"], tmp_path / "peer.log", ready_text="peer ready"):
        graph.spin_until(lambda: len(received) == 2, timeout=30, what="messages from the peer process")

    detections = received["detections"]
    assert detections.header.frame_id == "camera_optical"
    assert detections.header.stamp.sec == 1234
    (detection,) = detections.detections
    assert (detection.bbox.center.position.x, detection.bbox.center.position.y) == (320.5, 240.25)
    assert (detection.bbox.size_x, detection.bbox.size_y) == (64.0, 32.0)
    assert detection.results[0].hypothesis.class_id == "person"
    assert detection.results[0].hypothesis.score == 0.875
    info = received["info"]
    assert (info.model_path, info.architecture, info.input_width) == ("/models/x.onnx", "ssdlite320", 320)
    assert list(info.labels) == ["background", "person"]
