"""The real service for end-to-end tests: scripts/service.sh started on a free port in a temporary folder, on
SQLite or PostgreSQL, and stopped with no process left behind; a gpu worker started as a second host would; and
what the tests need to kill a process tree, as a dying host would, and to find processes left behind.

The database: `DB=sqlite` or `DB=postgres` in the environment chooses; without it, PostgreSQL in CI (`CI` set: a
missing PostgreSQL fails the test there) and wherever its programs are installed, else SQLite, with a warning."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "scripts" / "service.sh"
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")
JENA_FILES = "mpi_roof_2024a.csv mpi_roof_2024b.csv"  # the fixture mirror's station pair
# train_all_killing_a_jena_run's settings: 4 epochs, so the killed run has epochs left after its first snapshot; and
# 400 batches an epoch instead of smoke's 3. At 40 a smoke jena epoch took 0.2-0.4 s, and on a quiet CI machine the
# three epochs after the first snapshot ended between two 0.5 s polls (nothing was killed): 400 gives seconds an epoch.
KILL_EPOCHS = 4
KILL_OVERRIDES = {"epochs": str(KILL_EPOCHS), "steps_per_epoch": "400"}
T = TypeVar("T")


def postgres_programs() -> subprocess.CompletedProcess:
    """The service script's own answer to where initdb and pg_ctl are (stdout), or how to install them (stderr)."""
    return subprocess.run(["bash", str(SERVICE), "pg-bindir"], capture_output=True, text=True)


def backend() -> str:
    """The database this run uses (see the module's docstring)."""
    if os.environ.get("DB"):
        return os.environ["DB"]
    return "postgres" if IN_CI or postgres_programs().returncode == 0 else "sqlite"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_env() -> dict[str, str]:
    """This process's environment without any PREFECT_ setting (the test harness's own server and home)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}


def wait_gone(pgids: dict[str, int], seconds: float = 10) -> list[str]:
    """The names whose process groups are still alive after up to `seconds` (an orphan is reaped a moment after
    it exits)."""
    deadline = time.monotonic() + seconds
    while (left := [name for name, pid in pgids.items() if group_alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


@contextlib.contextmanager
def running_service(db: str, fixture_mirror: Path, base: Path, auth: bool = False, **settings: str) -> Iterator[dict]:
    """`scripts/service.sh start` in `base` (a copy of the fixture mirror, its own service folder and PREFECT_HOME,
    a free port), then `stop`, failing if a process group it started is still alive. `auth`: `service.sh auth`
    first, so the API asks for the string it writes. `settings` go into the script's environment (e.g.
    SEQCONV_GPUS="0", SEQCONV_API_HOST). Yields env, base, port, api (the API's URL), auth (the string or None),
    started (perf_counter), pids, backend."""
    mirror = base / "mirror"
    shutil.copytree(fixture_mirror, mirror)
    port = free_port()
    env = clean_env()
    env.update({
        "DB": db,
        "SEQCONV_PORT": str(port),
        "SEQCONV_SERVICE_DIR": str(base / "service"),
        "PREFECT_HOME": str(base / "prefect-home"),
        "SEQCONV_MIRROR": str(mirror),
        "SEQCONV_JENA_FILES": JENA_FILES,
        # this machine has no GPU: the gpu pool's runs would refuse to train (tasks.model.device) without it
        "SEQCONV_ALLOW_CPU_ON_GPU_POOL": "1",
        **settings,  # last: a test's own settings win
    })
    pg_dir = None
    if db == "postgres":
        found = postgres_programs()
        if found.returncode != 0:
            why = "CI=" + os.environ["CI"] if IN_CI and not os.environ.get("DB") else "DB=postgres"
            pytest.fail(f"{why} asks for PostgreSQL, and it is missing: {found.stderr.strip()}")
        # Not under pytest's temporary folder: as root, that is private to root, and the cluster runs as `postgres`.
        pg_dir = Path(tempfile.mkdtemp(prefix="seqconv-test-postgres-"))
        env["SEQCONV_PG_DIR"] = str(pg_dir)
    elif not os.environ.get("DB"):
        warnings.warn("the service test runs on SQLite: PostgreSQL is not installed (apt-get install postgresql)")
    started = time.perf_counter()
    auth_string = None
    if auth:
        made = subprocess.run(["bash", str(SERVICE), "auth"], env=env, capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stdout + made.stderr
        auth_string = (base / "service" / "auth").read_text().strip()
    result = subprocess.run(["bash", str(SERVICE), "start"], env=env, capture_output=True, text=True, timeout=600)
    pids = {p.stem: int(p.read_text()) for p in (base / "service").glob("*.pid")}
    host = settings.get("SEQCONV_API_HOST", "127.0.0.1")
    api = f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}/api"
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        yield {"env": env, "base": base, "port": port, "api": api, "auth": auth_string, "started": started,
               "pids": pids, "backend": db}
    finally:
        stop = subprocess.run(["bash", str(SERVICE), "stop"], env=env, capture_output=True, text=True, timeout=120)
        print(stop.stdout, stop.stderr)
        left = wait_gone(pids)
        if pg_dir is not None:
            shutil.rmtree(pg_dir, ignore_errors=True)
        assert not left, f"processes left behind: {left}"


@contextlib.contextmanager
def second_host_worker(api: str, base: Path, name: str, cuda: str, storage: Path,
                       auth: str | None = None) -> Iterator[subprocess.Popen]:
    """A gpu worker started as on a second host (docs/service.md, "More GPU machines"): from its own folder
    `base/<name>`, with its own PREFECT_HOME and only PREFECT_API_URL, PREFECT_API_AUTH_STRING (when `auth`),
    PREFECT_LOCAL_STORAGE_PATH (`storage`, the shared result store), CUDA_VISIBLE_DEVICES and the opt-in to train
    on this machine's CPU set; `--limit 1`.
    Ended with its whole process group; fails if anything of it is left."""
    host = base / name
    host.mkdir()
    env = clean_env()
    env.update(PREFECT_API_URL=api, PREFECT_HOME=str(host / "prefect-home"), PREFECT_LOCAL_STORAGE_PATH=str(storage),
               CUDA_VISIBLE_DEVICES=cuda, SEQCONV_ALLOW_CPU_ON_GPU_POOL="1")  # no GPU here (tasks.model.device)
    if auth:
        env["PREFECT_API_AUTH_STRING"] = auth
    with open(host / "worker.log", "wb") as log:
        worker = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "prefect"), "worker", "start", "--pool", "gpu", "--name", name, "--limit", "1"],
            cwd=host, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, like service.sh's workers, to end it whole
        )
    try:
        yield worker
    finally:
        try:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(worker.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        worker.wait()
        assert not wait_gone({f"{name} worker": worker.pid}), f"the worker {name} left processes behind"


def wait_until(condition: Callable[[], T], seconds: float, what: str, every: float = 1.0) -> T:
    """Poll `condition` until it returns something truthy; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(every)
    pytest.fail(f"{what}: not within {seconds:.0f} s")


def finished_epochs(run_dir: Path) -> int:
    """The epochs of the newest finished snapshot in a run folder's backup/ (tasks.model.checkpoint), 0 if none."""
    done = 0
    for snapshot in (run_dir / "backup").glob("epoch-*/snapshot.json"):
        try:
            done = max(done, json.loads(snapshot.read_text())["epochs_done"])
        except (OSError, ValueError, KeyError):  # removed or replaced while we read it
            continue
    return done


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (Linux /proc), children first."""
    out = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            for child in children.read_text().split():
                out += process_tree(int(child))
        except OSError:
            continue
    return out + [pid]


def kill_trees(*pids: int) -> list[int]:
    """SIGKILL each pid and all its descendants, found first and killed in one pass: the machine "dies"."""
    doomed = list(dict.fromkeys(p for pid in pids for p in process_tree(pid)))
    for p in doomed:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return doomed


def infrastructure_pid(run) -> int:
    """The pid of the process a worker started for a flow run ("pid", or "host:pid" in some Prefect versions)."""
    return int(run.infrastructure_pid.rsplit(":", 1)[-1])


def train_all_killing_a_jena_run(client, data: Path, artifacts: Path, models: list[str], overrides: dict[str, str],
                                 epochs: int, timeout: float, kill: Callable[[object], list], *,
                                 deployment: str = "train-all/train-all", train_on: str = "gpu-pool",
                                 **parameters) -> tuple:
    """Run train-all from `deployment` (smoke, `train_on`; `parameters` besides, e.g. a mirror) and, once, kill the
    first jena train-model run
    seen Running between its first and its last finished epoch: `kill(run)` kills what a failure takes down and
    returns the pids. Returns (train-all's flow run, final; the victim: run, model, run_dir, epochs, pids,
    killed_at, killed_perf), the victim None where no jena run was seen in time to kill."""
    from datetime import datetime, timezone

    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.client.schemas.objects import StateType

    deployment = client.read_deployment_by_name(deployment)
    train_all = client.create_flow_run_from_deployment(deployment.id, parameters=dict(
        profile="smoke", data_dir=str(data), artifacts_dir=str(artifacts), models=models, train_on=train_on,
        overrides=overrides, **parameters))
    victim = None
    deadline = time.monotonic() + timeout
    while not (train_all := client.read_flow_run(train_all.id)).state.is_final():
        assert time.monotonic() < deadline, f"train-all still {train_all.state.name} after {timeout} s"
        runs = [] if victim else client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["train-model"])))
        for run in runs:
            model = run.parameters["model"]
            run_dir = artifacts / "runs" / run.parameters["run_id"] / model
            if model == "imdb_conv" or run.state_type != StateType.RUNNING or not run.infrastructure_pid:
                continue
            done = finished_epochs(run_dir)
            if 1 <= done < epochs and not (run_dir / "training.json").exists():
                victim = {"run": run, "model": model, "run_dir": run_dir, "epochs": done, "pids": kill(run),
                          "killed_at": datetime.now(timezone.utc), "killed_perf": time.perf_counter()}
                break
        time.sleep(0.5)
    return train_all, victim


def stray_processes(port: int) -> list[str]:
    """Processes (other than this one) whose environment points at the server on `port`: none may outlive it."""
    needle = f":{port}/api".encode()
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if needle in (proc / "environ").read_bytes():
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                out.append(f"{proc.name}: {command[:200]}")
        except OSError:
            continue
    return out
