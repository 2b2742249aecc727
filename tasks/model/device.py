"""Which device trains, what this host's TensorFlow can see, and the refusal to train a GPU pool's run on a CPU.

A run started by a worker of a GPU pool carries `SEQCONV_POOL_DEVICE=gpu` (prefect.yaml's job variables, for the
process pool `gpu` and the container pool `docker-gpu`). Without a GPU visible to TensorFlow such a run would train
on the host's CPU, ten to a hundred times slower, and look like any other; it is refused instead, naming the host,
what TensorFlow saw, and the fix. `SEQCONV_ALLOW_CPU_ON_GPU_POOL=1` in the worker's environment (a container's: its
job variables) lets it train anyway: a CPU-only pool kept on purpose, or the test suite on a machine without a GPU.

TensorFlow is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import importlib.util
import os
import socket
from dataclasses import dataclass
from typing import Any, Mapping

from tasks.core.errors import SeqconvError

POOL_DEVICE = "SEQCONV_POOL_DEVICE"  # "gpu": this run's pool trains on GPUs (prefect.yaml's job variables)
ALLOW_CPU = "SEQCONV_ALLOW_CPU_ON_GPU_POOL"  # "1": a GPU pool's run may train on the CPU (opt-in)


class NoGpuError(SeqconvError):
    """A GPU pool's run found no GPU, and training on the CPU was not allowed."""


@dataclass
class Device:
    name: str  # e.g. "CPU (2 cores)", "GPU: NVIDIA H200", "2 x NVIDIA H200 (MirroredStrategy)"
    gpus: int
    strategy: Any  # tf.distribute strategy: default on one device, MirroredStrategy across several GPUs


def describe_device() -> Device:
    """Which device trains, and how (MirroredStrategy when there are several GPUs)."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return Device(f"CPU ({os.cpu_count()} cores)", 0, tf.distribute.get_strategy())
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    if len(gpus) > 1:
        return Device(f"{len(gpus)} x {name} (MirroredStrategy)", len(gpus), tf.distribute.MirroredStrategy())
    return Device(f"GPU: {name}", 1, tf.distribute.get_strategy())


def tensorflow_build() -> dict[str, Any]:
    """This host's TensorFlow: version, whether it was built with CUDA (and which CUDA and cuDNN), and the devices
    it sees (names of the physical devices, GPUs by their model where TensorFlow knows it)."""
    import tensorflow as tf

    info = tf.sysconfig.get_build_info()
    gpus = tf.config.list_physical_devices("GPU")
    return {
        "host": socket.gethostname(),
        "tensorflow": tf.__version__,
        "built_with_cuda": bool(tf.test.is_built_with_cuda()),
        "cuda": info.get("cuda_version"),
        "cudnn": info.get("cudnn_version"),
        "devices": [d.name.removeprefix("/physical_device:") for d in tf.config.list_physical_devices()],
        "gpus": [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus],
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        # TensorFlow's Linux wheel is built with CUDA but ships without its libraries: the gpu extra
        # (tensorflow[and-cuda]) brings them as the nvidia-* wheels, or the host has them installed system-wide
        "cuda_wheels": importlib.util.find_spec("nvidia") is not None
        and importlib.util.find_spec("nvidia.cudnn") is not None,
        "container": os.path.exists("/.dockerenv"),  # Docker's mark in every container it runs
    }


def build_lines(build: Mapping[str, Any]) -> list[str]:
    """`seqconv doctor`'s answer: one line each, what a person checks on a worker host."""
    cuda = (f"yes (CUDA {build['cuda']}, cuDNN {build['cudnn']}); the NVIDIA library wheels (gpu extra): "
            + ("installed" if build["cuda_wheels"] else "not installed")
            if build["built_with_cuda"] else "no (a CPU-only build: install the gpu extra on a GPU host)")
    visible = build.get("cuda_visible_devices")
    return [
        f"host: {build['host']}",
        f"tensorflow: {build['tensorflow']}",
        f"built with CUDA: {cuda}",
        f"GPUs seen: {len(build['gpus'])}" + (f" ({', '.join(build['gpus'])})" if build["gpus"] else "")
        + (f"; CUDA_VISIBLE_DEVICES={visible}" if visible is not None else ""),
    ]


def needs_gpu(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this run must train on a GPU: its pool says so, and no opt-in allows the CPU."""
    return environ.get(POOL_DEVICE, "").lower() == "gpu" and environ.get(ALLOW_CPU, "") != "1"


def refusal(build: Mapping[str, Any]) -> str:
    """The one line a GPU pool's run answers when TensorFlow sees no GPU: the host, what it saw, and the fix."""
    container = build.get("container", False)
    extra = ("the image built with --build-arg GPU=1 (the gpu extra)" if container else
             "install the gpu extra on this host (pip install -c constraints.txt '.[gpu]')")
    if not build["built_with_cuda"]:
        saw, fixes = f"TensorFlow {build['tensorflow']} is a CPU-only build", [extra]
    else:
        saw = (f"TensorFlow {build['tensorflow']} (CUDA {build['cuda']}) sees no GPU, only "
               f"{', '.join(build['devices']) or 'no device'}")
        fixes = []
        if not build.get("cuda_wheels"):
            saw += ", and the NVIDIA library wheels are not installed"
            fixes.append(extra)
        fixes.append("check that `nvidia-smi` lists the GPU on the host" + (
            f" and CUDA_VISIBLE_DEVICES={build['cuda_visible_devices']!r} names it"
            if build.get("cuda_visible_devices") is not None else ""))
    if container:
        fixes.append("give the container the GPU: the pool's device request (device_requests in "
                     "prefect.docker.yaml; the NVIDIA container toolkit on the host)")
    return (f"{build['host']}{' (in a container)' if container else ''}: this run is on a GPU pool "
            f"({POOL_DEVICE}=gpu) and {saw}: {'; '.join(fixes)}; or set {ALLOW_CPU}=1 in the worker's environment "
            f"(a container's: the pool's job variables) to train on the CPU anyway")


def check_gpu_pool(device: Device, environ: Mapping[str, str] = os.environ) -> None:
    """Refuse (NoGpuError) to train a GPU pool's run on the CPU, unless the opt-in allows it."""
    if device.gpus == 0 and needs_gpu(environ):
        raise NoGpuError(refusal(tensorflow_build()))
