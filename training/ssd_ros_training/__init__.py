"""ssd_ros_training: custom datasets to deployable, self-describing SSD models."""
