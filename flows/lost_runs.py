"""Runs whose host was lost: heartbeats, the automation that marks them Crashed, and a wait that never lasts forever.

A flow run started by a worker sends a `prefect.flow-run.heartbeat` event every `HEARTBEAT_SECONDS` (prefect.yaml
gives every deployment `PREFECT_FLOWS_HEARTBEAT_FREQUENCY`). When a whole host dies, worker included, nothing else
reports its runs: the automation `LOST_RUN_AUTOMATION`, created by `scripts/service.sh start` through
`python -m flows.lost_runs`, marks a deployment's run *Crashed* once its heartbeats have stopped for
`LOST_AFTER_SECONDS`, so train-all's retry starts it again elsewhere (flows.dispatch). `wait_for_flow_run` is the
backstop where no automation acts (deleted, paused, or a run that died before its first heartbeat): it gives a run
`GIVE_UP_SECONDS` without a heartbeat, then marks it Crashed itself and fails with the reason.

    python -m flows.lost_runs [--within SECONDS]   # create or update the automation on $PREFECT_API_URL
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING
from uuid import UUID

from tasks.core.errors import SeqconvError, SettingsError

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import FlowRun
    from prefect.events.schemas.automations import AutomationCore

HEARTBEAT_SECONDS = 30  # Prefect's minimum; prefect.yaml's PREFECT_FLOWS_HEARTBEAT_FREQUENCY (a unit test checks)
LOST_AFTER_SECONDS = 90  # three heartbeats missed: a loaded host may send one late, never three
GIVE_UP_SECONDS = 2 * LOST_AFTER_SECONDS  # the backstop waits for the automation first
LOST_RUN_AUTOMATION = "seqconv: crash runs whose heartbeats stopped"
HEARTBEAT = "prefect.flow-run.heartbeat"
ENDINGS = ["prefect.flow-run.Completed", "prefect.flow-run.Failed", "prefect.flow-run.Cancelled",
           "prefect.flow-run.Crashed"]  # a run that ended sends no more heartbeats, and is not lost


class LostRunError(SeqconvError):
    """A flow run sent no heartbeat for longer than allowed while Pending or Running: its host is taken as lost."""


def lost_run_automation(within: int = LOST_AFTER_SECONDS) -> AutomationCore:
    """The automation that marks a deployment's run Crashed `within` seconds after its last heartbeat.

    Proactive: it fires when, after a heartbeat, neither another heartbeat nor the run's end follows in time, once
    per flow run (`for_each`). Only runs of a deployment (a related `deployment` resource) are watched: those are
    the ones a worker starts with the service's heartbeat frequency; a flow run from elsewhere may beat slower.
    """
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    if within < 2 * HEARTBEAT_SECONDS:
        raise SettingsError(f"lost-run window {within} s: expected at least {2 * HEARTBEAT_SECONDS} s (two heartbeats "
                           f"of {HEARTBEAT_SECONDS} s), or a run merely slow to beat would be crashed")
    return AutomationCore(
        name=LOST_RUN_AUTOMATION,
        description=f"Marks a deployment's flow run Crashed when it has sent no heartbeat for {within} s (its host "
                    "was lost), so the flow that started it can retry it elsewhere. Created by scripts/service.sh.",
        trigger=EventTrigger(
            match=ResourceSpecification({"prefect.resource.id": "prefect.flow-run.*"}),
            match_related=ResourceSpecification({"prefect.resource.role": "deployment"}),
            after={HEARTBEAT},
            expect={HEARTBEAT, *ENDINGS},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=within),
        ),
        actions=[ChangeFlowRunState(
            state=StateType.CRASHED,
            message=f"No heartbeat for {within} s: its host was lost (seqconv's lost-run automation)",
        )],
    )


def ensure_lost_run_automation(client: SyncPrefectClient, within: int = LOST_AFTER_SECONDS) -> str:
    """Create the lost-run automation, or update the one of that name; returns "created", "updated" or
    "unchanged". Duplicates left by an older start are deleted, so there is one."""
    wanted = lost_run_automation(within)
    found = client.read_automations_by_name(LOST_RUN_AUTOMATION)
    for extra in found[1:]:
        client.delete_automation(extra.id)
    if not found:
        client.create_automation(wanted)
        return "created"
    current = found[0]
    if current.trigger == wanted.trigger and current.actions == wanted.actions and current.enabled:
        return "unchanged"
    client.update_automation(current.id, wanted)
    return "updated"


def last_sign_of_life(client: SyncPrefectClient, run: FlowRun) -> datetime:
    """When the run last showed it was alive: its newest heartbeat, or the start of its current state if later."""
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventOrder, \
        EventResourceFilter

    since = run.state.timestamp
    page = client.read_events(EventFilter(
        event=EventNameFilter(name=[HEARTBEAT]),
        resource=EventResourceFilter(id=[f"prefect.flow-run.{run.id}"]),
        occurred=EventOccurredFilter(since=since),
        order=EventOrder.DESC,
    ), limit=1)
    return max([since, *(event.occurred for event in page.events)])


def wait_for_flow_run(client: SyncPrefectClient, flow_run_id: UUID, give_up_after: float = GIVE_UP_SECONDS,
                      poll_seconds: float = 5) -> FlowRun:
    """Wait until the flow run reaches a final state and return it. A run waiting in its queue (Scheduled) may
    wait as long as it takes; a Pending or Running one that shows no sign of life (last_sign_of_life) for
    `give_up_after` seconds is marked Crashed and raises LostRunError naming the run, its worker and the wait."""
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    while True:
        run = client.read_flow_run(flow_run_id)
        if run.state is not None and run.state.is_final():
            return run
        if run.state is not None and run.state_type in (StateType.PENDING, StateType.RUNNING):
            silent = (datetime.now(timezone.utc) - last_sign_of_life(client, run)).total_seconds()
            if silent > give_up_after:
                worker = run.labels.get("prefect.worker.name") if run.labels else None
                reason = (f"flow run {run.name} ({run.id}) has sent no heartbeat for {silent:.0f} s while "
                          f"{run.state.name} on worker {worker or 'unknown'} (limit {give_up_after:.0f} s): its host "
                          f"is taken as lost")
                client.set_flow_run_state(run.id, Crashed(message=reason), force=True)
                raise LostRunError(reason)
        time.sleep(poll_seconds)


def main(argv: list[str] | None = None) -> int:
    """Create or update the lost-run automation on the server of PREFECT_API_URL (scripts/service.sh start)."""
    parser = argparse.ArgumentParser(prog="python -m flows.lost_runs", description=main.__doc__)
    parser.add_argument("--within", type=int, default=LOST_AFTER_SECONDS,
                        help="seconds without a heartbeat before a run is marked Crashed (default %(default)s)")
    args = parser.parse_args(argv)
    import httpx
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            outcome = ensure_lost_run_automation(client, args.within)
    except (SeqconvError, httpx.HTTPError) as error:  # a refused login or connection: one line, as the CLI does
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"automation '{LOST_RUN_AUTOMATION}' {outcome}: a run without a heartbeat for {args.within} s is Crashed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
