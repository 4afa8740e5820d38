"""ROS 2 adapters around :mod:`ssd_ros.core`: the only place rclpy and message packages are imported."""
