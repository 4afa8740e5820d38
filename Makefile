# Every target that starts a ROS process goes through tools/run, which applies the
# loopback-only DDS environment and a locked, unique ROS_DOMAIN_ID (ssd_ros/ros/env.py).
RUN := tools/run
PYTEST_ARGS ?=

.PHONY: setup test demo lint bench clean

setup:
	@python3 tools/setup_env.py

test: setup
	@$(RUN) python -m pytest $(PYTEST_ARGS)

demo: setup
	@$(RUN) python -m ssd_ros.demo

lint: setup
	@$(RUN) ruff check ssd_ros training test benchmarks tools launch
	@$(RUN) mypy ssd_ros/core

bench: setup
	@$(RUN) python benchmarks/run_all.py

clean:
	rm -rf .venv .colcon build
