"""Two GPU workers, as on two machines: training scales out, and a run that loses its worker resumes.

scripts/service.sh starts the server, the pools, the deployments, the cpu worker and one gpu worker
(`SEQCONV_GPUS=0`: named gpu-<host>-0, `CUDA_VISIBLE_DEVICES=0`, one run at a time). The test then starts a second
gpu worker as a second host would (docs/service.md, "More GPU machines"): from another folder, with its own PREFECT_HOME,
only PREFECT_API_URL, PREFECT_LOCAL_STORAGE_PATH and `CUDA_VISIBLE_DEVICES=1` set, named host2-gpu1, `--limit 1`;
the checkout, data and artifacts folders are at the same paths for both. A `train-all` run of the deployment
(`train_on=gpu-pool`, three models) must then use both workers at once; the test SIGKILLs one jena run's process
after its first finished epoch, and the run must be retried by train-all and resume from its last snapshot.

Everything is checked through the API (flow-run labels, states, times, task-run counts) and the run folders
(training.json: `ran_on`, `resumed_from_epoch`), not the logs. The database as in tests/e2e/test_service.py."""

from __future__ import annotations

import json
import socket
import time

import pytest

from tests.support.service import infrastructure_pid, kill_trees, running_service, second_host_worker, \
    stray_processes, train_all_killing_a_jena_run, wait_until
from tests.support.service import KILL_EPOCHS, KILL_OVERRIDES
from tests.support.service import backend as chosen_backend

pytestmark = pytest.mark.e2e
BACKEND = chosen_backend()
MODELS = ["imdb_conv", "jena_conv", "jena_conv_gru"]
EPOCHS, OVERRIDES = KILL_EPOCHS, KILL_OVERRIDES  # the killed jena run lives seconds an epoch
WORKER_0 = f"gpu-{socket.gethostname()}-0"  # started by scripts/service.sh with SEQCONV_GPUS=0
WORKER_1 = "host2-gpu1"  # started by the test, as on a second host
CUDA = {WORKER_0: "0", WORKER_1: "1"}  # each worker's CUDA_VISIBLE_DEVICES
TIMEOUT = 900  # seconds for the whole train-all run; a few minutes on 2 loaded cores


@pytest.fixture(scope="module")
def two_workers(fixture_mirror, tmp_path_factory):
    base = tmp_path_factory.mktemp("gpu-workers")
    with running_service(BACKEND, fixture_mirror, base, SEQCONV_GPUS="0") as service:
        # the result store on the shared mount, so both hosts see the training cache
        with second_host_worker(service["api"], base, WORKER_1, CUDA[WORKER_1], base / "prefect-home" / "storage"):
            yield {**service, "host2": base / WORKER_1}
    assert not (stray := stray_processes(service["port"])), f"processes left behind: {stray}"


def test_two_gpu_workers_train_at_once_and_a_killed_run_resumes(two_workers):
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        TaskRunFilter,
        TaskRunFilterFlowRunId,
    )
    from prefect.client.schemas.objects import StateType

    base, t0 = two_workers["base"], two_workers["started"]
    data, artifacts = base / "data", base / "artifacts"
    assert {"worker-cpu", "worker-gpu0"} <= set(two_workers["pids"]) and "worker-gpu" not in two_workers["pids"]
    marks = {}  # event -> seconds since the service started, printed at the end

    with SyncPrefectClient(two_workers["api"]) as client:
        def online_gpu_workers():
            names = {w.name for w in client.read_workers_for_work_pool("gpu") if w.status == "ONLINE"}
            return names if names == set(CUDA) else None

        wait_until(online_gpu_workers, 180, f"gpu workers {sorted(CUDA)} online (see {two_workers['host2']})")
        limit = client.read_work_pool("gpu").concurrency_limit  # service.sh sets none; the workers' --limit 1 rule
        assert limit is None or limit >= len(CUDA), f"the gpu pool runs at most {limit} at once"
        marks["both gpu workers online"] = time.perf_counter() - t0
        # Kill the process of the first jena run found between its first and its last epoch (its worker lives).
        train_all, victim = train_all_killing_a_jena_run(client, data, artifacts, MODELS, OVERRIDES, EPOCHS, TIMEOUT,
                                                         lambda run: kill_trees(infrastructure_pid(run)))
        if victim:
            marks[f"killed {victim['model']} after epoch {victim['epochs']} (pids {victim['pids']})"] = \
                victim["killed_perf"] - t0
        marks["train-all final"] = time.perf_counter() - t0
        for event, seconds in marks.items():
            print(f"{seconds:6.1f} s  {event}")
        assert train_all.state.is_completed(), train_all.state
        assert victim is not None, "no jena run was seen between its first and last epoch: nothing was killed"

        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["train-model"])))
        task_runs = client.read_task_runs(
            task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[train_all.id])))
    for run in runs:
        run.end_time = run.end_time or run.state.timestamp  # a crashed run's end: when it was found crashed
    for run in sorted(runs, key=lambda r: r.start_time):
        print(f"{run.name}: {run.labels.get('prefect.worker.name')} {run.state_type.value} "
              f"{run.start_time:%H:%M:%S}-{run.end_time:%H:%M:%S}")

    # 1. The runs went to both workers, each run seeing its worker's CUDA_VISIBLE_DEVICES.
    worker = {run.id: run.labels.get("prefect.worker.name") for run in runs}
    assert set(worker.values()) == set(CUDA), worker
    (run_id,) = {r.parameters["run_id"] for r in runs}  # the retry kept the run id, so it found the snapshot
    completed = {r.parameters["model"]: r for r in runs if r.state_type == StateType.COMPLETED}
    assert sorted(completed) == sorted(MODELS) and len(runs) == len(MODELS) + 1, [(r.name, r.state_type) for r in runs]
    for model, run in completed.items():
        ran_on = json.loads((artifacts / "runs" / run_id / model / "training.json").read_text())["ran_on"]
        assert ran_on["worker"] == worker[run.id] and ran_on["cuda_visible_devices"] == CUDA[worker[run.id]], ran_on

    # 2. They overlapped in time: two runs on different workers were running at the same moment.
    assert any(a.start_time < b.end_time and b.start_time < a.end_time
               for a in runs for b in runs if worker[a.id] != worker[b.id]), "no two workers trained at once"

    # 3. The killed run crashed, train-all's task ran again, and the new run resumed after the killed run's epoch.
    crashed = [r for r in runs if r.state_type != StateType.COMPLETED]
    assert [r.id for r in crashed] == [victim["run"].id] and crashed[0].state_type == StateType.CRASHED, crashed
    task = {t.name: t for t in task_runs}[f"train {victim['model']} on the gpu pool"]
    assert task.state.is_completed() and task.run_count == 2, (task.state, task.run_count)
    training = json.loads((victim["run_dir"] / "training.json").read_text())
    print(f"{victim['model']}: killed after epoch {victim['epochs']}, resumed from epoch "
          f"{training['resumed_from_epoch']} on {training['ran_on']['worker']}")
    assert victim["epochs"] <= training["resumed_from_epoch"] < EPOCHS, training["resumed_from_epoch"]
    assert training["epochs_run"] == EPOCHS and not (victim["run_dir"] / "backup").exists()
    history = (victim["run_dir"] / "history.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in history[1:]] == [str(e) for e in range(EPOCHS)], history
    for model in set(MODELS) - {victim["model"]}:
        assert json.loads((artifacts / "runs" / run_id / model / "training.json").read_text())[
            "resumed_from_epoch"] == 0
    assert (artifacts / "runs" / run_id / "report.md").is_file()
