# Every target that starts a ROS process goes through tools/run, which keeps DDS on the loopback
# interface; --own-domain gives the run a locked ROS_DOMAIN_ID of its own (ssd_ros/sandbox.py).
RUN := tools/run --own-domain
PYTEST_ARGS ?=

.PHONY: setup test demo lint bench clean gpu-check

setup:
	@python3 tools/setup_env.py

test: setup
	@$(RUN) python -m pytest $(PYTEST_ARGS)

# The demo needs only the runtime (no PyTorch, no CUDA wheels, no dev tools): a venv made by
# `make setup` serves it as it is.
demo:
	@python3 tools/setup_env.py --runtime
	@$(RUN) python -m ssd_ros.demo

# mypy for the oldest and newest Python the package runs on (Humble 3.10, Jazzy 3.12): typeshed knows
# which standard-library names exist in which version.
lint: setup
	@$(RUN) ruff check ssd_ros training test benchmarks tools launch
	@$(RUN) mypy --python-version 3.10 ssd_ros training/ssd_ros_training
	@$(RUN) mypy --python-version 3.12 ssd_ros training/ssd_ros_training

# The GPU paths end to end (TensorRT 10 and 11, ORT CUDA/TensorRT providers, the node on two cameras):
# needs an NVIDIA GPU and PyPI; builds its own venvs under .gpu-check/. Prints one JSON line.
gpu-check: setup
	@python3 tools/gpu_check.py $(GPU_CHECK_ARGS)

bench: setup
	@$(RUN) python benchmarks/run_all.py

# Issue 16's targets, each a ratio measured side by side, in under 5 minutes (benchmarks/bench_quick.py);
# the last line is one JSON object with every key.
.PHONY: bench-quick
bench-quick: setup
	@$(RUN) python benchmarks/bench_quick.py

# The fuzz suite at ten times the size `make test` runs it (test/fuzz: 100,000 malformed frames and
# Detect requests through the node's code, 50 damaged bags per storage); a few minutes.
.PHONY: fuzz
fuzz: setup
	@SSD_ROS_FUZZ_CASES=100000 SSD_ROS_FUZZ_BAG_CASES=50 $(RUN) python -m pytest test/fuzz $(PYTEST_ARGS)

clean:
	rm -rf .venv .colcon build
