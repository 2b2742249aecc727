"""The lost-run settings agree with each other and with prefect.yaml (flows/lost_runs.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from flows.lost_runs import GIVE_UP_SECONDS, HEARTBEAT, HEARTBEAT_SECONDS, LOST_AFTER_SECONDS, lost_run_automation
from tasks.core.errors import SettingsError

ROOT = Path(__file__).resolve().parents[2]


def test_every_deployment_beats_as_often_as_the_automation_expects():
    from prefect.flow_engine import MINIMUM_HEARTBEAT_INTERVAL

    deployments = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    frequencies = {f"{d['entrypoint']} {d['name']}": d["work_pool"].get("job_variables", {}).get("env", {}).get(
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY") for d in deployments}
    assert set(frequencies.values()) == {str(HEARTBEAT_SECONDS)}, frequencies
    assert HEARTBEAT_SECONDS >= MINIMUM_HEARTBEAT_INTERVAL  # Prefect raises a smaller one to its minimum
    assert 2 * HEARTBEAT_SECONDS <= LOST_AFTER_SECONDS < GIVE_UP_SECONDS


def test_the_automation_crashes_a_deployment_run_silent_for_the_window():
    from prefect.client.schemas.objects import StateType
    from prefect.events.schemas.automations import Posture

    automation = lost_run_automation()
    trigger, (action,) = automation.trigger, automation.actions
    assert trigger.posture == Posture.Proactive and trigger.within == timedelta(seconds=LOST_AFTER_SECONDS)
    assert trigger.after == {HEARTBEAT} and HEARTBEAT in trigger.expect and "prefect.flow-run.Completed" in trigger.expect
    assert trigger.for_each == {"prefect.resource.id"}
    assert action.type == "change-flow-run-state" and action.state == StateType.CRASHED
    assert lost_run_automation(120).trigger.within == timedelta(seconds=120)
    with pytest.raises(SettingsError, match="lost-run window 40 s"):
        lost_run_automation(40)
