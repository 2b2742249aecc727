"""A lost host: a gpu worker and its training process SIGKILLed together, as when the machine dies.

Nothing is left to report the run, so only its heartbeats can: every deployment's run beats every
`HEARTBEAT_SECONDS` (prefect.yaml's job variables, on any host), and the automation that scripts/service.sh creates
(flows/lost_runs.py) marks a run Crashed `LOST_AFTER_SECONDS` after its last heartbeat. train-all's task then runs
it again on the other worker, which resumes from the snapshot of its last finished epoch. The test measures the
time from the kill to the Crashed state and to the resumed run, and prints them (docs/service.md quotes them).

The backstop, where no automation acts, is tested on Prefect's test server: a Running run that sends no
heartbeat is given up (Crashed, with the reason) by train-all's wait; one that beats, or waits in its queue, is not.
The service's database as in tests/e2e/test_service.py."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import datetime, timezone

import pytest

from flows.lost_runs import HEARTBEAT, HEARTBEAT_SECONDS, LOST_AFTER_SECONDS, LostRunError, wait_for_flow_run
from tests.support.service import infrastructure_pid, kill_trees, running_service, second_host_worker, \
    stray_processes, train_all_killing_a_jena_run, wait_until
from tests.support.service import KILL_EPOCHS, KILL_OVERRIDES
from tests.support.service import backend as chosen_backend

pytestmark = pytest.mark.e2e
BACKEND = chosen_backend()
MODELS = ["imdb_conv", "jena_conv", "jena_conv_gru"]
EPOCHS, OVERRIDES = KILL_EPOCHS, KILL_OVERRIDES  # the killed jena run lives seconds an epoch
WORKER_0 = f"gpu-{socket.gethostname()}-0"  # started by scripts/service.sh with SEQCONV_GPUS=0
WORKER_1 = "host2-gpu1"  # started by the test, as on a second host, without any heartbeat setting of its own
TIMEOUT = 900  # seconds for the whole train-all run


@pytest.fixture(scope="module")
def two_hosts(fixture_mirror, tmp_path_factory):
    base = tmp_path_factory.mktemp("lost-host")
    with running_service(BACKEND, fixture_mirror, base, SEQCONV_GPUS="0") as service:
        with second_host_worker(service["api"], base, WORKER_1, "1", base / "prefect-home" / "storage") as worker:
            yield {**service, "worker_pids": {WORKER_0: service["pids"]["worker-gpu0"], WORKER_1: worker.pid}}
    assert not (stray := stray_processes(service["port"])), f"processes left behind: {stray}"


def heartbeats(client, run_ids) -> dict:
    """Each flow run's heartbeat times, oldest first, as the server recorded them (up to 50 a run: minutes)."""
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventResourceFilter

    return {run_id: sorted(event.occurred for event in client.read_events(EventFilter(
        event=EventNameFilter(name=[HEARTBEAT]),
        resource=EventResourceFilter(id=[f"prefect.flow-run.{run_id}"]),
        occurred=EventOccurredFilter(since=datetime(2000, 1, 1, tzinfo=timezone.utc)),
    ), limit=50).events) for run_id in run_ids}


def test_a_lost_host_is_crashed_by_the_automation_and_its_run_resumes_elsewhere(two_hosts):
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, TaskRunFilter, TaskRunFilterFlowRunId
    from prefect.client.schemas.objects import StateType

    base = two_hosts["base"]
    data, artifacts = base / "data", base / "artifacts"
    with SyncPrefectClient(two_hosts["api"]) as client:
        def online_gpu_workers():
            names = {w.name for w in client.read_workers_for_work_pool("gpu") if w.status == "ONLINE"}
            return names if names == {WORKER_0, WORKER_1} else None

        wait_until(online_gpu_workers, 180, "both gpu workers online")

        def host_dies(run) -> list[int]:  # its worker and the training process at once, nothing left to report
            killed = kill_trees(two_hosts["worker_pids"][run.labels["prefect.worker.name"]], infrastructure_pid(run))
            print(f"killed {run.labels['prefect.worker.name']} (pids {killed}) while {run.parameters['model']} ran")
            return killed

        train_all, victim = train_all_killing_a_jena_run(client, data, artifacts, MODELS, OVERRIDES, EPOCHS, TIMEOUT,
                                                         host_dies)
        assert victim is not None, "no jena run was seen between its first and last epoch: nothing was killed"
        assert train_all.state.is_completed(), train_all.state
        victim["host"] = victim["run"].labels["prefect.worker.name"]

        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["train-model"])))
        crashed = client.read_flow_run(victim["run"].id)
        task_runs = client.read_task_runs(
            task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[train_all.id])))
        beats = heartbeats(client, [r.id for r in runs] + [train_all.id])

    # 1. The automation, not a worker (none was left), marked the run Crashed, in the stated time.
    assert crashed.state_type == StateType.CRASHED and "No heartbeat" in (crashed.state.message or ""), crashed.state
    to_crashed = (crashed.state.timestamp - victim["killed_at"]).total_seconds()
    assert to_crashed <= LOST_AFTER_SECONDS + 30, f"Crashed {to_crashed:.0f} s after the kill"

    # 2. train-all's task ran again; the new run went to the other host and resumed from the snapshot.
    (retry,) = [r for r in runs if r.parameters["model"] == victim["model"] and r.id != victim["run"].id]
    survivor = ({WORKER_0, WORKER_1} - {victim["host"]}).pop()
    assert retry.state_type == StateType.COMPLETED and retry.labels["prefect.worker.name"] == survivor, retry
    to_resumed = (retry.start_time - victim["killed_at"]).total_seconds()
    task = {t.name: t for t in task_runs}[f"train {victim['model']} on the gpu pool"]
    assert task.state.is_completed() and task.run_count == 2, (task.state, task.run_count)
    training = json.loads((victim["run_dir"] / "training.json").read_text())
    assert victim["epochs"] <= training["resumed_from_epoch"] < EPOCHS, training["resumed_from_epoch"]
    assert training["epochs_run"] == EPOCHS and training["ran_on"]["worker"] == survivor, training
    history = (victim["run_dir"] / "history.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in history[1:]] == [str(e) for e in range(EPOCHS)], history
    completed = sorted(r.parameters["model"] for r in runs if r.state_type == StateType.COMPLETED)
    assert completed == sorted(MODELS) and len(runs) == len(MODELS) + 1, [(r.name, r.state_type) for r in runs]
    assert (victim["run_dir"].parent / "report.md").is_file()

    # 3. Every run beat every HEARTBEAT_SECONDS, though no worker sets it: prefect.yaml's job variables carry it to
    #    a run on any host (train-all's, on the cpu worker, lives long enough to show it whatever the gpu runs do).
    ended = {r.id: victim["killed_at"] if r.id == victim["run"].id else r.end_time for r in runs}
    ended[train_all.id] = train_all.end_time
    for run in [*runs, train_all]:
        times, lived = beats[run.id], (ended[run.id] - run.start_time).total_seconds()
        gaps = [round((b - a).total_seconds()) for a, b in zip(times, times[1:])]
        print(f"{run.name} on {run.labels.get('prefect.worker.name')}: lived {lived:.0f} s, heartbeat gaps {gaps} s")
        assert times and all(g < HEARTBEAT_SECONDS + 15 for g in gaps), (run.name, gaps)
        assert lived < HEARTBEAT_SECONDS + 15 or len(times) >= 2, (run.name, lived, gaps)
    assert len(beats[train_all.id]) >= 3, beats[train_all.id]

    print(f"lost host: {victim['model']} killed with {victim['host']} after epoch {victim['epochs']}; "
          f"Crashed by the automation {to_crashed:.0f} s after the kill (window {LOST_AFTER_SECONDS} s after the "
          f"last heartbeat); the retry started on {survivor} {to_resumed:.0f} s after the kill and resumed from "
          f"epoch {training['resumed_from_epoch']}")


def _post_heartbeat(client, run_id) -> None:
    from prefect.events import Event

    event = Event(event=HEARTBEAT, resource={"prefect.resource.id": f"prefect.flow-run.{run_id}"})
    client.request("POST", "/events", json=[event.model_dump(mode="json")])


def test_the_wait_gives_up_on_a_silent_run_only(prefect_harness):
    """train-all's wait (flows.lost_runs.wait_for_flow_run) against a real server: a Scheduled run waits as long
    as it takes, a Running one that beats is waited for, and one that falls silent is Crashed with the reason."""
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.states import Completed, Running, Scheduled

    @flow(name="lost-run-probe")
    def probe() -> None:
        pass

    give_up = 6  # seconds; the service uses GIVE_UP_SECONDS
    with get_client(sync_client=True) as client:
        queued = client.create_flow_run(probe, name="queued", state=Scheduled())
        beating = client.create_flow_run(probe, name="beating")
        silent = client.create_flow_run(probe, name="silent")
        client.set_flow_run_state(beating.id, Running(), force=True)
        client.set_flow_run_state(silent.id, Running(), force=True)

        outcome = {}

        def wait(run) -> None:
            with get_client(sync_client=True) as own:
                try:
                    outcome[run.name] = wait_for_flow_run(own, run.id, give_up_after=give_up, poll_seconds=0.5)
                except LostRunError as error:
                    outcome[run.name] = error

        waiters = [threading.Thread(target=wait, args=(run,), daemon=True) for run in (queued, beating, silent)]
        for waiter in waiters:
            waiter.start()
        for _ in range(3 * give_up):  # the beating run sends one a second for three times the limit
            _post_heartbeat(client, beating.id)
            time.sleep(1)
        assert isinstance(outcome.get("silent"), LostRunError), outcome
        assert "queued" not in outcome and "beating" not in outcome, outcome
        message = str(outcome["silent"])
        assert "silent" in message and "no heartbeat" in message and f"limit {give_up} s" in message, message
        assert client.read_flow_run(silent.id).state.is_crashed()

        for run in (queued, beating):
            client.set_flow_run_state(run.id, Completed(), force=True)
        for waiter in waiters:
            waiter.join(timeout=30)
        assert outcome["queued"].state.is_completed() and outcome["beating"].state.is_completed(), outcome
