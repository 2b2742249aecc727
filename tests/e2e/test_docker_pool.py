"""The container path on a real Docker daemon: the image built from the Dockerfile, Docker work pools, a Docker
worker a pool, and train-all trained in containers.

scripts/service.sh starts with SEQCONV_DOCKER=1: it creates the pools docker-cpu and docker-gpu, builds the image
through prefect.docker.yaml's build step (on a local Debian bookworm base made by scripts/base_image.sh, since
no image registry can be reached here; users build FROM python:3.11-slim), deploys `train-all/docker` and
`train-model/docker-gpu`, and starts the Docker workers. The containers reach the server on 127.0.0.1 through the
host's network (prefect-docker's choice for a local API), run as uid 1000, not root, and share one folder with
the host (data/, artifacts/ and the fixture mirror) at the same path. Docker's layer cache keeps the image's
dependency layer between runs on one machine: a rebuild after a code change takes seconds.

The test runs train-all/docker (smoke, a text and a series model): every model trains in a container of docker-gpu, the results
land in the mounted artifacts folder, owned by the containers' user; the test kills one jena training container
(`docker kill`) after its first finished epoch, and train-all runs it again, resuming from the last snapshot, as a
lost process worker's run (tests/e2e/test_lost_host.py). Then `seqconv predict` on the host predicts from the
champions the containers trained, and a docker-gpu run without the opt-in to train on a CPU is refused, naming
the container's host and what TensorFlow saw there.

Skips, saying why, where no Docker daemon answers; .ci/run installs and starts one (Debian's docker.io).
The service's database as in tests/e2e/test_service.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.service import ROOT, JENA_FILES, running_service, stray_processes, train_all_killing_a_jena_run, \
    wait_until
from tests.support.service import KILL_EPOCHS, KILL_OVERRIDES
from tests.support.service import backend as chosen_backend

# a whole train-all in containers: minutes on 2 cores, more when other jobs load them (pyproject's default 900 s)
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]
BACKEND = chosen_backend()
BASE_IMAGE = "seqconv-base:bookworm"  # scripts/base_image.sh's default tag, kept between runs
IMAGE, TAG = "seqconv-e2e", "test"
USER = "1000:1000"  # the image's own non-root user; the shared folders are handed to it
MODELS = ["imdb_conv", "jena_conv"]  # a text and a series model: two containers at once on 2 cores
EPOCHS, OVERRIDES = KILL_EPOCHS, KILL_OVERRIDES  # the killed jena run lives seconds an epoch
TIMEOUT = 1200  # seconds for the whole train-all run; containers start TensorFlow on 2 loaded cores


def docker_missing() -> str | None:
    """Why no Docker daemon can be used here, or None."""
    if not shutil.which("docker"):
        return "no docker client on PATH (.ci/run installs Debian's docker.io)"
    info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                          timeout=60)
    if info.returncode != 0:
        return f"no Docker daemon answers (docker info: {(info.stderr.strip().splitlines() or ['?'])[-1]})"
    return None


@pytest.fixture(scope="module")
def docker_service(fixture_mirror):
    if why := docker_missing():
        pytest.skip(why)
    made = subprocess.run(["bash", str(ROOT / "scripts" / "base_image.sh"), BASE_IMAGE], capture_output=True,
                          text=True, timeout=900)
    assert made.returncode == 0, made.stdout + made.stderr
    # Not under pytest's temporary folder: as root that is private to root, and the containers run as USER.
    shared = Path(tempfile.mkdtemp(prefix="seqconv-test-docker-"))
    shared.chmod(0o755)
    for folder in ("data", "artifacts"):
        (shared / folder).mkdir()
        if os.getuid() == 0:
            os.chown(shared / folder, *map(int, USER.split(":")))
    user = USER if os.getuid() == 0 else f"{os.getuid()}:{os.getgid()}"
    started = time.perf_counter()
    try:
        with running_service(BACKEND, fixture_mirror, shared, SEQCONV_DOCKER="1", SEQCONV_GPU="0",
                             SEQCONV_BASE_IMAGE=BASE_IMAGE, SEQCONV_IMAGE=IMAGE, SEQCONV_IMAGE_TAG=TAG,
                             SEQCONV_SHARED=str(shared), SEQCONV_DOCKER_USER=user) as service:
            print(f"service with the image {IMAGE}:{TAG} up in {time.perf_counter() - started:.0f} s")
            for folder in [shared / "mirror", *(p for p in (shared / "mirror").rglob("*") if p.is_dir())]:
                folder.chmod(0o755)  # copied from pytest's folders, private to their owner: the containers read it
            yield {**service, "shared": shared, "user": user}
        assert not (stray := stray_processes(service["port"])), f"processes left behind: {stray}"
        left = subprocess.run(["docker", "ps", "-q", "--filter", f"label=seqconv.service={shared / 'service'}"],
                              capture_output=True, text=True).stdout.split()
        assert not left, f"containers left behind: {left}"
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def worker_logs(shared: Path) -> str:
    """The ends of the Docker workers' logs (they hold the containers' output), for a failure's message."""
    return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}"
                     for log in sorted((shared / "service").glob("worker-docker-*.log")))


def kill_container(run) -> list[str]:
    """The container of a Docker worker's run, killed as a dying host would (infrastructure_pid: "<daemon>:<id>")."""
    container = run.infrastructure_pid.rsplit(":", 1)[-1]
    killed = subprocess.run(["docker", "kill", container], capture_output=True, text=True, timeout=60)
    assert killed.returncode == 0, killed.stderr
    print(f"killed the container {container[:12]} of {run.parameters['model']}")
    return [container]


def test_train_all_trains_in_containers_a_killed_one_resumes_and_a_gpu_less_one_is_refused(docker_service):
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.client.schemas.objects import StateType

    from tasks.model.device import ALLOW_CPU, POOL_DEVICE

    shared = docker_service["shared"]
    data, artifacts = shared / "data", shared / "artifacts"
    image = subprocess.run(["docker", "image", "inspect", f"{IMAGE}:{TAG}", "--format", "{{.Size}} {{.Config.User}}"],
                           capture_output=True, text=True)
    assert image.returncode == 0, f"{IMAGE}:{TAG} was not built: {image.stderr}"
    size, image_user = image.stdout.split()
    assert image_user == "seqconv", image_user  # the image's default user is not root
    print(f"image {IMAGE}:{TAG}: {int(size) / 1e9:.2f} GB")

    with SyncPrefectClient(docker_service["api"]) as client:
        for pool in ("docker-cpu", "docker-gpu"):
            assert client.read_work_pool(pool).type == "docker"
            wait_until(lambda: any(w.status == "ONLINE" for w in client.read_workers_for_work_pool(pool)), 180,
                       f"a Docker worker of {pool} online")
        started = time.perf_counter()
        train_all, victim = train_all_killing_a_jena_run(
            client, data, artifacts, MODELS, OVERRIDES, EPOCHS, TIMEOUT, kill_container,
            deployment="train-all/docker", train_on="docker-pool", mirror=str(shared / "mirror"),
            jena_files=JENA_FILES.split())
        seconds = time.perf_counter() - started
        assert train_all.state.is_completed(), (train_all.state, worker_logs(shared))
        assert victim is not None, "no jena run was seen between its first and last epoch: nothing was killed"
        assert train_all.work_pool_name == "docker-cpu", train_all.work_pool_name
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["train-model"])))
        killed = client.read_flow_run(victim["run"].id)

    # 1. Every model trained in a container of docker-gpu; the killed one crashed and was run again, resuming.
    assert {r.work_pool_name for r in runs} == {"docker-gpu"}, [(r.name, r.work_pool_name) for r in runs]
    assert killed.state_type == StateType.CRASHED, killed.state
    completed = sorted(r.parameters["model"] for r in runs if r.state_type == StateType.COMPLETED)
    assert completed == sorted(MODELS) and len(runs) == len(MODELS) + 1, [(r.name, r.state_type) for r in runs]
    training = json.loads((victim["run_dir"] / "training.json").read_text())
    assert victim["epochs"] <= training["resumed_from_epoch"] < EPOCHS, training["resumed_from_epoch"]
    assert training["epochs_run"] == EPOCHS, training
    history = (victim["run_dir"] / "history.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in history[1:]] == [str(e) for e in range(EPOCHS)], history

    # 2. The results are in the mounted artifacts folder, written by the containers' user, and say where they ran.
    uid = int(docker_service["user"].split(":")[0])
    for model in MODELS:
        run_dir = victim["run_dir"].parent / model
        record = json.loads((run_dir / "training.json").read_text())
        assert record["ran_on"]["container"] is True and record["device"].startswith("CPU ("), record
        # written by the containers' user: every process of the service on this host runs as this test's user
        assert (run_dir / "model.keras").stat().st_uid == uid and (run_dir / "serving").is_dir(), run_dir
    report = (victim["run_dir"].parent / "report.md").read_text()
    assert report.count(" on CPU (") >= len(MODELS), report  # the report says which device trained each model
    assert (artifacts / "registry" / "imdb_conv.json").is_file()
    print(f"train-all/docker (smoke, {len(MODELS)} models, {EPOCHS} epochs, one container killed and resumed "
          f"from epoch {training['resumed_from_epoch']}): {seconds:.0f} s")

    # 3. A docker-gpu run without the opt-in to train on a CPU (this one run's job variables drop it) is refused
    #    on this GPU-less machine, naming the container's host and what its TensorFlow saw; it runs meanwhile:
    with SyncPrefectClient(docker_service["api"]) as client:
        deployment = client.read_deployment_by_name("train-model/docker-gpu")
        env = {**deployment.job_variables["env"], ALLOW_CPU: "0"}
        assert env[POOL_DEVICE] == "gpu", env
        refused = client.create_flow_run_from_deployment(deployment.id, parameters=dict(
            model="imdb_conv", profile="smoke", data_dir=str(data), artifacts_dir=str(artifacts), run_id="refused"),
            job_variables={"env": env})

    # 4. predict on the host, from the champions the containers trained
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    predicted = subprocess.run(
        [sys.executable, "-m", "flows.predict", "imdb", "--text", "not bad not bad not bad at all", "--data-dir",
         str(data), "--artifacts-dir", str(artifacts)], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=600)
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr
    assert "positive" in predicted.stdout.lower() or "negative" in predicted.stdout.lower(), predicted.stdout

    with SyncPrefectClient(docker_service["api"]) as client:
        refused = wait_until(lambda: (r := client.read_flow_run(refused.id)).state.is_final() and r, 600,
                             "the refused run's end")
    assert refused.state.is_failed(), refused.state
    message = refused.state.message or ""
    assert "(in a container): this run is on a GPU pool" in message and "sees no GPU" in message, message
    assert "--build-arg GPU=1" in message and "device_requests" in message and f"{ALLOW_CPU}=1" in message, message
    assert not (artifacts / "runs" / "refused").exists()
