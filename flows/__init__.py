"""Prefect flows: the order of the steps, one module per command (flows/cli/ is the command line that runs them)."""

import os

# TensorFlow's C++ start-up chatter (CUDA probes, CPU features) buries the flow's own log; a user who wants it
# back sets TF_CPP_MIN_LOG_LEVEL=0.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
