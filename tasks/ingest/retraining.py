"""Which models train-all retrains: with `retrain="on_drift"`, only those whose dataset's drift report (of the
version published now) flags a feature, and those without a champion yet.
"""

from __future__ import annotations

from pathlib import Path

from prefect import task

from tasks.core import runs
from tasks.core.atomic import published_version
from tasks.core.config import family
from tasks.core.log import log
from tasks.core.records.registry import read_champion
from tasks.ingest.drift import read_drift_report
from tasks.ingest.drift_markdown import describe_reference


def retraining_plan(retrain: str, models: list[str], data_dir: Path, registry_dir: Path) -> dict[str, str | None]:
    """Which models train-all trains: model -> None (train it) or why not (a sentence for the report).

    Only `retrain="on_drift"` skips any: a model is trained when it has no champion yet, or when its dataset's
    drift report is of the version published now and flags a feature; otherwise it is not retrained."""
    plan: dict[str, str | None] = {}
    for model in models:
        if retrain != "on_drift" or read_champion(Path(registry_dir), model) is None:
            plan[model] = None
            continue
        dataset = family(model)
        report = read_drift_report(Path(data_dir) / "validation", dataset)
        published = published_version(Path(data_dir) / "processed", dataset)
        current = bool(report and published and report.new_version == published.name)
        if current and report.flagged:
            plan[model] = None
        elif current:
            plan[model] = f"not retrained: no drift flagged (reference {describe_reference(report.to_dict())})"
        else:
            plan[model] = (f"not retrained: no drift flagged (no new {dataset} data since the last drift report; "
                           f"published version {published.name if published else 'none'})")
    return plan


# ---------------------------------------------------------------------------------------------------------------
# Prefect tasks
# ---------------------------------------------------------------------------------------------------------------
@task(task_run_name="plan retraining ({retrain})")
def plan_retraining(retrain: str, models: list[str], data_dir: str, artifacts_dir: str) -> dict[str, str | None]:
    """Which models to train (None) and why the others are not retrained (`retraining_plan`)."""
    plan = retraining_plan(retrain, models, Path(data_dir), runs.registry_dir(artifacts_dir))
    for model, why in plan.items():
        if why:
            log(f"{model}: {why}")
    return plan
