"""A GPU pool's training run on a host whose TensorFlow sees no GPU (this machine): refused before any work, with
one line naming the host, what TensorFlow saw and the fix; trained on the CPU with the opt-in, and training.json
and the report say so. The pools set SEQCONV_POOL_DEVICE=gpu in their runs (prefect.yaml, prefect.docker.yaml);
here it is set as a worker would pass it on. In containers: tests/e2e/test_docker_pool.py."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from tasks.core.profiles import resolve_settings
from tasks.model.device import ALLOW_CPU, POOL_DEVICE, NoGpuError, describe_device
from tasks.model.train import train_model
from tests.support.published import publish_imdb

pytestmark = pytest.mark.skipif(describe_device().gpus > 0, reason="this machine has a GPU: nothing to refuse")


def test_a_gpu_pool_run_without_a_gpu_is_refused_and_trains_with_the_opt_in(tmp_path, monkeypatch):
    data = tmp_path / "data"
    publish_imdb(data, n_per_split=200)
    settings = resolve_settings("imdb_conv", "smoke", {"epochs": "1"})
    run_dir = tmp_path / "artifacts" / "runs" / "r1" / "imdb_conv"
    monkeypatch.setenv(POOL_DEVICE, "gpu")
    monkeypatch.delenv(ALLOW_CPU, raising=False)

    with pytest.raises(NoGpuError) as refused:
        train_model(settings, data, run_dir, "r1")
    message = str(refused.value)
    assert "\n" not in message, message
    where = socket.gethostname() + (" (in a container)" if os.path.exists("/.dockerenv") else "")
    assert message.startswith(f"{where}: this run is on a GPU pool"), message
    assert "sees no GPU, only CPU:0" in message or "CPU-only build" in message, message  # what TensorFlow saw
    assert "gpu extra" in message and f"{ALLOW_CPU}=1" in message, message  # the fix, and the way around it
    assert not run_dir.exists(), "a refused run must leave nothing behind"

    monkeypatch.setenv(ALLOW_CPU, "0")  # anything but 1 is no opt-in
    with pytest.raises(NoGpuError):
        train_model(settings, data, run_dir, "r1")

    monkeypatch.setenv(ALLOW_CPU, "1")
    training = train_model(settings, data, run_dir, "r1")
    assert training["device"] == f"CPU ({os.cpu_count()} cores)" and training["epochs_run"] == 1, training
    assert json.loads((run_dir / "training.json").read_text())["device"] == training["device"]


def test_doctor_says_what_tensorflow_sees_and_require_gpu_refuses_in_one_line():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_") and k != "CUDA_VISIBLE_DEVICES"}
    shown = subprocess.run([sys.executable, "-m", "flows.cli", "doctor", "--require-gpu"], env=env,
                           capture_output=True, text=True, timeout=300)
    assert shown.returncode == 1, shown.stdout + shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == f"host: {socket.gethostname()}" and lines[1].startswith("tensorflow: 2."), lines
    assert lines[2].startswith("built with CUDA: ") and lines[3] == "GPUs seen: 0", lines
    errors = [line for line in shown.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in shown.stderr, shown.stderr
    assert "sees no GPU" in errors[0] or "CPU-only build" in errors[0], errors
