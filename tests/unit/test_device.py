"""The GPU pool's refusal as text: who must have a GPU, and the one line that says what TensorFlow saw and the
fix, for each way a host can lack one (tests/model/test_gpu_refusal.py runs it against the real TensorFlow)."""

from __future__ import annotations

import pytest

from tasks.model.device import ALLOW_CPU, POOL_DEVICE, Device, NoGpuError, build_lines, check_gpu_pool, needs_gpu, \
    refusal

BUILD = {"host": "gpu-box-3", "tensorflow": "2.21.0", "built_with_cuda": True, "cuda": "12.5.1", "cudnn": "9",
         "devices": ["CPU:0"], "gpus": [], "cuda_visible_devices": None, "cuda_wheels": True}


@pytest.mark.parametrize("environ, needed", [
    ({}, False),
    ({POOL_DEVICE: "cpu"}, False),
    ({POOL_DEVICE: "gpu"}, True),
    ({POOL_DEVICE: "GPU"}, True),
    ({POOL_DEVICE: "gpu", ALLOW_CPU: "0"}, True),
    ({POOL_DEVICE: "gpu", ALLOW_CPU: "{{ $SEQCONV_ALLOW_CPU_ON_GPU_POOL }}"}, True),  # a template left unset
    ({POOL_DEVICE: "gpu", ALLOW_CPU: "1"}, False),
])
def test_only_a_gpu_pools_run_without_the_opt_in_needs_a_gpu(environ, needed):
    assert needs_gpu(environ) is needed


@pytest.mark.parametrize("build, saw, fixes", [
    ({"built_with_cuda": False, "cuda": None, "cudnn": None}, "TensorFlow 2.21.0 is a CPU-only build",
     ["install the gpu extra on this host"]),
    ({"cuda_wheels": False}, "sees no GPU, only CPU:0, and the NVIDIA library wheels are not installed",
     ["install the gpu extra on this host", "nvidia-smi"]),
    ({}, "TensorFlow 2.21.0 (CUDA 12.5.1) sees no GPU, only CPU:0", ["nvidia-smi"]),
    ({"cuda_visible_devices": "3"}, "sees no GPU", ["nvidia-smi", "CUDA_VISIBLE_DEVICES='3'"]),
    ({"container": True, "cuda_wheels": False}, "the NVIDIA library wheels are not installed",
     ["the image built with --build-arg GPU=1", "device_requests"]),
    ({"container": True}, "sees no GPU", ["nvidia-smi", "device_requests"]),
])
def test_the_refusal_names_the_host_what_tensorflow_saw_and_the_fix(build, saw, fixes):
    line = refusal({**BUILD, **build})
    where = "gpu-box-3 (in a container)" if build.get("container") else "gpu-box-3"
    assert line.startswith(f"{where}: this run is on a GPU pool (SEQCONV_POOL_DEVICE=gpu) and "), line
    assert saw in line and all(fix in line for fix in fixes) and "\n" not in line, line
    assert ("device_requests" in line) == bool(build.get("container")), line
    assert line.endswith(f"or set {ALLOW_CPU}=1 in the worker's environment (a container's: the pool's job "
                         "variables) to train on the CPU anyway"), line


def test_a_gpu_device_or_the_opt_in_passes_the_check():
    check_gpu_pool(Device("GPU: NVIDIA H100", 1, None), {POOL_DEVICE: "gpu"})
    check_gpu_pool(Device("CPU (2 cores)", 0, None), {POOL_DEVICE: "gpu", ALLOW_CPU: "1"})
    check_gpu_pool(Device("CPU (2 cores)", 0, None), {})


def test_doctor_lines():
    assert build_lines({**BUILD, "gpus": ["NVIDIA H100 80GB HBM3"], "cuda_visible_devices": "0"}) == [
        "host: gpu-box-3",
        "tensorflow: 2.21.0",
        "built with CUDA: yes (CUDA 12.5.1, cuDNN 9); the NVIDIA library wheels (gpu extra): installed",
        "GPUs seen: 1 (NVIDIA H100 80GB HBM3); CUDA_VISIBLE_DEVICES=0",
    ]
    assert build_lines({**BUILD, "built_with_cuda": False})[2] == \
        "built with CUDA: no (a CPU-only build: install the gpu extra on a GPU host)"

