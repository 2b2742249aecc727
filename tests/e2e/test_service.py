"""The real service on one machine: `prefect server start`, the cpu and gpu pools with a worker each, the
deployments of prefect.yaml, and `prefect deployment run train-all/train-all --watch`, all through
scripts/service.sh, then checked through the API and shut down with no process left behind.

The database (tests.support.service): `DB=sqlite` or `DB=postgres` in the environment chooses; without it,
PostgreSQL in CI (`CI` set: a missing PostgreSQL fails the test there) and wherever its programs are installed, else
SQLite, with a warning. The test's id names the one used: `...[postgres]` or `...[sqlite]`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tasks.core.architectures import ARCHITECTURES
from tests.support.service import ROOT, SERVICE, running_service
from tests.support.service import backend as chosen_backend

pytestmark = pytest.mark.e2e
BACKEND = chosen_backend()


@pytest.fixture(scope="module", params=[BACKEND])
def service(request, fixture_mirror, tmp_path_factory):
    with running_service(request.param, fixture_mirror, tmp_path_factory.mktemp("service")) as running:
        yield running


def test_deployment_run_trains_on_the_gpu_pool_and_names_a_champion(service):
    env, base, backend = service["env"], service["base"], service["backend"]
    expected = {"server", "worker-cpu", "worker-gpu"} | ({"postgres"} if backend == "postgres" else set())
    assert set(service["pids"]) == expected
    data, artifacts = base / "data", base / "artifacts"
    run = subprocess.run(
        ["bash", str(SERVICE), "run", "train-all/train-all", "--param", "profile=smoke",
         "--param", f"data_dir={data}", "--param", f"artifacts_dir={artifacts}"],
        env=env, capture_output=True, text=True, timeout=900,
    )
    wall = time.perf_counter() - service["started"]
    print(f"service start + train-all smoke run: {wall:.0f} s")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowFilter, FlowFilterName
    from prefect.client.schemas.objects import StateType

    with SyncPrefectClient(f"http://127.0.0.1:{service['port']}/api") as client:
        def runs_of(flow: str):
            return client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow])))

        scheduled = [r for r in runs_of("train-all") if r.state_type == StateType.SCHEDULED]
        assert scheduled and all(r.expected_start_time.weekday() == 0 for r in scheduled)  # the weekly cron
        train_all = [r for r in runs_of("train-all") if r.state_type != StateType.SCHEDULED]
        assert len(train_all) == 1 and train_all[0].state.is_completed(), train_all
        deployments = {d.id: d.name for d in client.read_deployments()}
        assert deployments[train_all[0].deployment_id] == "train-all"
        train_model = runs_of("train-model")
        assert len(train_model) == 3 and all(r.state.is_completed() for r in train_model), train_model
        assert {deployments[r.deployment_id] for r in train_model} == {"gpu"}
        pools = {r.work_pool_name for r in train_model}
        assert pools == {"gpu"} and train_all[0].work_pool_name == "cpu"
        assert {r.name for r in runs_of("ingest-imdb") + runs_of("ingest-jena")} and all(
            r.state.is_completed() for r in runs_of("ingest-imdb") + runs_of("ingest-jena"))
        keys = ["train-all-metrics", "train-all-report", "validation-imdb", "validation-jena", "plots-imdb-conv",
                "plots-jena-conv", "plots-jena-conv-gru"]
        found = {a.key for a in client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)))}
        assert set(keys) <= found, set(keys) - found

    # status ends with seqconv doctor (TensorFlow imported: seconds on a loaded machine)
    status = subprocess.run(["bash", str(SERVICE), "status"], env=env, capture_output=True, text=True, timeout=180)
    assert f"database: {backend}" in status.stdout, status.stdout
    assert "built with CUDA: " in status.stdout and "GPUs seen: 0" in status.stdout, status.stdout  # no GPU here
    if backend == "postgres":  # the runs are in PostgreSQL, and none of SQLite's lock errors under the heartbeats
        count = subprocess.run(["bash", str(SERVICE), "psql", "-tAc", "SELECT count(*) FROM flow_run"],
                               env=env, capture_output=True, text=True, timeout=60)
        assert count.returncode == 0 and int(count.stdout) >= 5, count.stdout + count.stderr
        for log in ("server", "worker-cpu", "worker-gpu"):
            text = (base / "service" / f"{log}.log").read_text(errors="replace")
            assert "database is locked" not in text, f"{log}.log: {text[-3000:]}"

    champion = json.loads((artifacts / "registry" / "imdb_conv.json").read_text())
    assert champion["model"] == "imdb_conv" and Path(champion["model_path"]).is_file()
    metrics = json.loads((Path(champion["model_path"]).parent / "metrics.json").read_text())
    assert metrics["profile"] == "smoke" and metrics["blessed"] is True


def test_a_deployment_run_with_a_dataset_parameter_trains_a_users_spec(service):
    """`service.sh run train-all/train-all --param dataset=<spec.toml>`: the deployment's flow ingests the user's
    dataset, its models train on the gpu pool's worker (another process, which finds the spec by its name in the
    data dir) and become champions; nothing of imdb or jena is trained."""
    env, base = service["env"], service["base"]
    data, artifacts, examples = base / "own-data", base / "own-artifacts", base / "examples"
    made = subprocess.run([sys.executable, str(ROOT / "scripts" / "example_data.py"), str(examples)],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    run = subprocess.run(
        ["bash", str(SERVICE), "run", "train-all/train-all", "--param", "profile=smoke",
         "--param", f"data_dir={data}", "--param", f"artifacts_dir={artifacts}",
         "--param", f"dataset={examples / 'tickets.toml'}"],
        env=env, capture_output=True, text=True, timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert (data / "specs" / "tickets.toml").read_bytes() == (examples / "tickets.toml").read_bytes()
    models = [f"{a.name}@tickets" for a in ARCHITECTURES.values() if a.default and a.kind == "text"]  # train-all's
    assert "imdb_conv@tickets" in models
    champions = sorted(p.stem for p in (artifacts / "registry").glob("*.json"))
    assert champions == sorted(models), champions
    report = next((artifacts / "runs").glob("*/report.md")).read_text(encoding="utf-8")
    assert "420 texts" in report and "reviews" not in report  # the spec's count unit, not IMDB's

    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with SyncPrefectClient(service["api"]) as client:
        trained = [r for r in client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["train-model"])))
                   if "@tickets" in str(r.parameters.get("model"))]
        assert sorted(r.parameters["model"] for r in trained) == sorted(models)
        assert all(r.state.is_completed() and r.work_pool_name == "gpu" for r in trained), trained
