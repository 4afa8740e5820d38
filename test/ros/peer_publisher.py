"""A separate process that publishes known vision_msgs and ssd_ros_msgs messages at 10 Hz.

Started by test_interfaces.py to prove the interface packages work across processes over DDS.
"""
import rclpy
from rclpy.executors import ExternalShutdownException
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

from ssd_ros_msgs.msg import ModelInfo


def main() -> None:
    rclpy.init()
    node = rclpy.create_node("peer_publisher")
    detections_pub = node.create_publisher(Detection2DArray, "peer/detections", 10)
    info_pub = node.create_publisher(ModelInfo, "peer/model_info", 10)

    def publish() -> None:
        detections = Detection2DArray()
        detections.header.frame_id = "camera_optical"
        detections.header.stamp.sec = 1234
        detection = Detection2D()
        detection.bbox.center.position.x = 320.5
        detection.bbox.center.position.y = 240.25
        detection.bbox.size_x = 64.0
        detection.bbox.size_y = 32.0
        hypothesis = ObjectHypothesisWithPose()
        hypothesis.hypothesis.class_id = "person"
        hypothesis.hypothesis.score = 0.875
        detection.results.append(hypothesis)
        detections.detections.append(detection)
        detections_pub.publish(detections)
        info = ModelInfo(model_path="/models/x.onnx", architecture="ssdlite320", input_width=320,
                         input_height=320, labels=["background", "person"])
        info_pub.publish(info)

    node.create_timer(0.1, publish)
    print("peer ready", flush=True)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
