"""The container path beside the process path: the image's build time and size, and train-all (smoke) trained on
the Docker pool against the process pool, side by side on one service.

    python -m bench.containers [--rounds 1] [--base-image seqconv-base:bookworm] [--cold] [--gpu-image]

The service (scripts/service.sh, SEQCONV_DOCKER=1, SEQCONV_GPU=0: as tests/e2e/test_docker_pool.py starts it)
builds the image through prefect.docker.yaml's build step; before it, `--cold` times a build of the CPU image
without Docker's layer cache (the dependencies downloaded from the package index) and `--gpu-image` one of the GPU
variant (GPU=1, the NVIDIA wheels; its size). Every image's size is Docker's (uncompressed, layers of the base
included). Each round runs, in an alternating order, `train-all/train-all` (train_on=gpu-pool: process workers)
and `train-all/docker` (train-all in a container, each model in a container of docker-gpu), smoke profile, the
three default models, on fresh data and artifacts folders; the seconds are from the flow run's creation to its
end, and the ratio is docker / process. Writes artifacts/bench/containers.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench import machine, write_figures

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["imdb_conv", "jena_conv", "jena_conv_gru"]
IMAGE, TAG = "seqconv-bench", "latest"
USER = "1000:1000"


def image_size(image: str) -> float:
    out = subprocess.run(["docker", "image", "inspect", image, "--format", "{{.Size}}"], capture_output=True,
                         text=True, check=True).stdout
    return round(int(out) / 1e9, 2)


def timed_build(base: str, tag: str, gpu: bool, cold: bool) -> dict:
    started = time.perf_counter()
    subprocess.run(["docker", "build", "-q", *(["--no-cache"] if cold else []), "--build-arg", f"BASE_IMAGE={base}",
                    "--build-arg", f"GPU={int(gpu)}", "-t", tag, "."], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return {"image": tag, "gpu": gpu, "cold": cold, "seconds": round(time.perf_counter() - started, 1),
            "size_gb": image_size(tag)}


def timed_train_all(client, deployment: str, train_on: str, folder: Path, mirror: Path, jena_files: list[str]) -> float:
    run = client.create_flow_run_from_deployment(client.read_deployment_by_name(deployment).id, parameters=dict(
        profile="smoke", data_dir=str(folder / "data"), artifacts_dir=str(folder / "artifacts"), models=MODELS,
        train_on=train_on, mirror=str(mirror), jena_files=jena_files))
    started = time.perf_counter()
    while not (run := client.read_flow_run(run.id)).state.is_final():
        time.sleep(1)
    if not run.state.is_completed():
        raise SystemExit(f"{deployment} ended {run.state.name}: {run.state.message}")
    return round(time.perf_counter() - started, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--base-image", default="python:3.11-slim")
    parser.add_argument("--cold", action="store_true", help="also time a CPU image build without the layer cache")
    parser.add_argument("--gpu-image", action="store_true", help="also build the GPU variant (size, build time)")
    args = parser.parse_args()

    from prefect.client.orchestration import SyncPrefectClient

    from tests.support import fixtures
    from tests.support.service import JENA_FILES, running_service

    load = os.getloadavg()
    builds = []
    if args.cold:
        builds.append(timed_build(args.base_image, f"{IMAGE}-cold:{TAG}", gpu=False, cold=True))
    if args.gpu_image:
        builds.append(timed_build(args.base_image, f"{IMAGE}-gpu:{TAG}", gpu=True, cold=False))
    base = Path(tempfile.mkdtemp(prefix="seqconv-bench-containers-"))
    base.chmod(0o755)
    mirror = base / "fixture-mirror"
    fixtures.write_imdb(mirror)
    fixtures.write_jena_classic(mirror)
    fixtures.write_station_pair(mirror)
    fixtures.write_checksums(mirror)
    rounds = []
    try:
        user = USER if os.getuid() == 0 else f"{os.getuid()}:{os.getgid()}"
        started = time.perf_counter()
        with running_service(os.environ.get("DB", "sqlite"), mirror, base / "service-base", SEQCONV_DOCKER="1",
                             SEQCONV_GPU="0", SEQCONV_BASE_IMAGE=args.base_image, SEQCONV_IMAGE=IMAGE,
                             SEQCONV_IMAGE_TAG=TAG, SEQCONV_SHARED=str(base), SEQCONV_DOCKER_USER=user) as service:
            builds.append({"image": f"{IMAGE}:{TAG}", "gpu": False, "cold": False,
                           "seconds": None, "service_start_seconds": round(time.perf_counter() - started, 1),
                           "size_gb": image_size(f"{IMAGE}:{TAG}")})
            with SyncPrefectClient(service["api"]) as client:
                for r in range(args.rounds):
                    order = [("process", "train-all/train-all", "gpu-pool"), ("docker", "train-all/docker",
                                                                             "docker-pool")]
                    figures = {}
                    for side, deployment, train_on in (order if r % 2 == 0 else order[::-1]):
                        folder = base / f"{side}-{r}"
                        for sub in ("data", "artifacts"):
                            (folder / sub).mkdir(parents=True)
                            if side == "docker" and os.getuid() == 0:
                                os.chown(folder / sub, *map(int, user.split(":")))
                        figures[side] = timed_train_all(client, deployment, train_on, folder,
                                                        service["base"] / "mirror", JENA_FILES.split())
                    figures["ratio"] = round(figures["docker"] / figures["process"], 2)
                    rounds.append(figures)
                    print(f"round {r}: process pool {figures['process']} s, docker pool {figures['docker']} s, "
                          f"ratio {figures['ratio']}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    ratio = statistics.median(r["ratio"] for r in rounds) if rounds else None
    for b in builds:
        print(f"image {b['image']} ({'GPU' if b['gpu'] else 'CPU'}{', cold' if b['cold'] else ''}): "
              f"{b['size_gb']} GB" + (f", built in {b['seconds']} s" if b["seconds"] else ""))
    print(f"train-all smoke, docker pool / process pool: {ratio} (median of {len(rounds)} rounds)")
    path = write_figures("containers", {"machine": machine(load), "builds": builds, "rounds": rounds,
                                        "median_ratio": ratio})
    print(path)


if __name__ == "__main__":
    main()
