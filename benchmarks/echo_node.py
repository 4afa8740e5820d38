"""The DDS transport floor for the node benchmark: republish each frame's header, nothing else.

Subscribes to ``image`` with the detector's QoS (sensor data) and publishes the received header
on ``echo`` with the same QoS, so frame -> echo latency measured by another process is what the
detector's own output pays for transport alone (image in, small message out).
"""
import sys

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Header


def main() -> int:
    rclpy.init(args=sys.argv)
    node = rclpy.create_node("echo_node")
    publisher = node.create_publisher(Header, "echo", qos_profile_sensor_data)
    node.create_subscription(Image, "image", lambda msg: publisher.publish(msg.header), qos_profile_sensor_data)
    node.get_logger().info("echo node ready")
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
