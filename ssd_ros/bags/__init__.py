"""Bags without a ROS install, through rosbags: rosbag2 (sqlite3, mcap) and ROS 1 .bag.

- types.py: the rosbags type store with vision_msgs registered from their .msg files (type hashes
  equal upstream), the message type names this project reads and writes;
- reader.py: ``Bag`` (topics, messages, CDR, camera frames decoded by the node's own code) and
  ``BagError`` (the base of every bag error, with the fix in its message);
- writer.py: ``BagWriter`` (sqlite3 or mcap, latched topics);
- messages.py: vision_msgs Detection2DArray / LabelInfo <-> boxes, scores and class names;
- from_dataset.py: a labelled dataset as a bag of frames and ground truth (``ssd-ros bag from-dataset``);
- cli.py: ``ssd-ros bag`` (``from-dataset``, ``info``).
Nothing here imports rclpy or the evaluation (ssd_ros.eval uses bags, never the other way round).
"""
