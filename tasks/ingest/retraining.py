"""Which models train-all retrains: with `retrain="on_drift"`, only those whose dataset's drift report (of the
version published now) flags a feature; with `retrain="on_decay"`, only those whose champion, judged on the rows of
a newer version it never saw (tasks.judge.new_data, kept in its registry entry), no longer beats its strongest
baseline there by the blessing margin; under either, those without a champion yet.

Why a policy of its own rather than part of on_drift: drift measures the inputs, decay the answers. The mirror's
later station data moves the inputs little (no feature flagged) while the champion loses to persistence on it, and
a shift can move the inputs without hurting the model; each policy retrains on the evidence it names.
"""

from __future__ import annotations

from pathlib import Path

from prefect import task

from tasks.core import runs
from tasks.core.atomic import published_version
from tasks.core.config import family
from tasks.core.log import log
from tasks.core.records.registry import current_records, read_champion
from tasks.ingest.drift import read_drift_report
from tasks.ingest.drift_markdown import describe_reference

SELECTIVE = ("on_drift", "on_decay")  # the policies that may keep a champion without training


def drift_reason(model: str, data_dir: Path) -> tuple[bool, str]:
    """(train?, why) under on_drift: the drift report of the version published now flags a feature."""
    dataset = family(model)
    report = read_drift_report(Path(data_dir) / "validation", dataset)
    published = published_version(Path(data_dir) / "processed", dataset)
    current = bool(report and published and report.new_version == published.name)
    if current and report.flagged:
        return True, f"drift flagged in {', '.join(report.flagged)} (reference {describe_reference(report.to_dict())})"
    if current:
        return False, f"not retrained: no drift flagged (reference {describe_reference(report.to_dict())})"
    return False, (f"not retrained: no drift flagged (no new {dataset} data since the last drift report; "
                   f"published version {published.name if published else 'none'})")


def decay_reason(champion: dict) -> tuple[bool, str]:
    """(train?, why) under on_decay: the champion's newest judgement on rows it never saw (its registry entry's
    new-data history) does not beat its strongest baseline by the blessing margin."""
    records = current_records(champion)
    if not records:
        return False, (f"not retrained: champion {champion['run_id']} has not been judged on new data yet (no "
                       "version with rows it never saw since it was promoted)")
    latest = records[-1]
    if latest.get("beats"):
        return False, f"not retrained: champion {champion['run_id']} still beats its baseline: {latest['reason']}"
    return True, f"champion {champion['run_id']} decayed: {latest['reason']}"


def retraining_plan(retrain: str, models: list[str], data_dir: Path, registry_dir: Path) -> dict[str, dict]:
    """Which models train-all trains, and why: model -> {"train": bool, "reason": a sentence for the report, or
    None where the policy trains every model}.

    Only the selective policies (on_drift, on_decay) skip any; a model without a champion is always trained."""
    plan: dict[str, dict] = {}
    for model in models:
        champion = read_champion(Path(registry_dir), model) if retrain in SELECTIVE else None
        if retrain not in SELECTIVE:
            plan[model] = {"train": True, "reason": None}
        elif champion is None:
            plan[model] = {"train": True, "reason": "no champion yet"}
        else:
            train, reason = drift_reason(model, data_dir) if retrain == "on_drift" else decay_reason(champion)
            plan[model] = {"train": train, "reason": reason}
    return plan


# ---------------------------------------------------------------------------------------------------------------
# Prefect tasks
# ---------------------------------------------------------------------------------------------------------------
@task(task_run_name="plan retraining ({retrain})")
def plan_retraining(retrain: str, models: list[str], data_dir: str, artifacts_dir: str) -> dict[str, dict]:
    """Which models to train and why (`retraining_plan`)."""
    plan = retraining_plan(retrain, models, Path(data_dir), runs.registry_dir(artifacts_dir))
    for model, decision in plan.items():
        if decision["reason"]:
            log(f"{model}: {'retrained: ' if decision['train'] else ''}{decision['reason']}")
    return plan
