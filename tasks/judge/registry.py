"""The champion registry: which run of each model is the one to use, and why.

`artifacts/registry/<model>.json` names the champion of one model: its run id, its metrics (validation, test,
the baselines' summary, blessed and the blessing's reason), the sha256 of the data it trained on, the code's
commit, the path of its model, when it was promoted and which run was champion before it.

A candidate (a finished run's metrics.json) becomes champion only if it is blessed (it beats its strongest
baseline, see tasks.judge.blessing.bless) and beats the current champion on the validation metric: IMDB accuracy,
higher is better; Jena MAE, lower is better. A tie keeps the champion. Either way the decision says why.

The entry (tasks.core.records.registry.RegistryEntry) is replaced with one atomic rename, the only write that
changes the registry: a failed or interrupted run, which has no metrics.json, never reaches it, and a reader sees
the old champion or the new one, never half a file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from prefect import task

from tasks.core import runs
from tasks.core.config import FAMILIES, architecture, family
from tasks.core.errors import DataFormatError, SettingsError
from tasks.core.log import log
from tasks.core.records.metrics import Metrics, validation_metric, validation_value
from tasks.core.records.registry import NEW_DATA, RegistryEntry, read_champion, registry_path


# ---------------------------------------------------------------------------------------------------------------
# Reading and deciding
# ---------------------------------------------------------------------------------------------------------------


def comparison_value(metrics: dict) -> tuple[float, str]:
    """(value, label) of the validation figure that compares a champion with a challenger: accuracy for IMDB,
    MAE in °C for Jena. Not the normalized MAE: each Jena run normalizes with its own training rows' statistics,
    so a champion trained on January-March and a challenger trained on January-October measure their normalized
    errors in different units. A metrics.json without the figure (an older run) falls back to the metric."""
    key, label, _ = validation_metric(metrics)
    spec = FAMILIES[family(metrics["model"])]
    value = (metrics.get("validation") or {}).get(spec.compared)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), spec.compared_label
    return validation_value(metrics), label


def decide(candidate: dict, champion: dict | None, champion_now: dict | None = None) -> dict:
    """Whether a finished run should replace the champion, and why.

    Two figures are only compared when they come from the same data: when the candidate trained on another data
    version than the champion, `champion_now` (the champion judged again on the candidate's data, a metrics.json
    of tasks.judge.evaluate) is what the candidate must beat, not the figure the champion got on its own data.

    Args:
        candidate: a run's metrics.json (model, run_id, monitor, validation, blessed, blessing, ...).
        champion: the current registry entry (read_champion), or None.
        champion_now: the champion's metrics on the candidate's data, or None when both share one data version.

    Returns:
        {"promote": bool, "reason": a sentence}, e.g. "val accuracy 0.881 beats champion 20261128-1200-ab12's
        0.874" or "not blessed: val MAE 0.452 does not beat persistence 0.29 by 0.005".

    Raises:
        DataFormatError: if the candidate lacks its model or validation metric.
        SettingsError: if the candidate is of another model than the champion, or champion_now was measured on
            other data than the candidate's.
    """
    _, label, higher = validation_metric(candidate)
    value = validation_value(candidate)
    compared, compared_label = comparison_value(candidate)
    if champion is not None and champion["model"] != candidate["model"]:
        raise SettingsError(f"candidate is a {candidate['model']} run; the champion is a {champion['model']}")
    if champion is not None and champion["run_id"] == candidate.get("run_id"):
        return {"promote": False, "reason": "already champion"}
    if not candidate.get("blessed"):
        return {"promote": False, "reason": f"not blessed: {_blessing_sentence(candidate, label, value)}"}
    if champion is None:
        return {"promote": True, "reason": f"first champion; blessed: {_blessing_sentence(candidate, label, value)}"}
    best, _ = comparison_value(champion["metrics"])
    where = ""
    if champion_now is not None:
        data = lambda m: (m.get("data") or {}).get("sha256")  # noqa: E731
        if data(champion_now) != data(candidate):
            raise SettingsError(f"champion {champion['run_id']} was judged on data {str(data(champion_now))[:12]}…, "
                                f"the candidate on {str(data(candidate))[:12]}…: not comparable")
        best, _ = comparison_value(champion_now)
        where = f" on the same data ({comparison_value(champion['metrics'])[0]:.4g} on its own)"
    value, label = compared, compared_label
    better = value > best if higher else value < best  # strictly: a tie keeps the champion
    if not math.isfinite(value) or not better:
        tie = " (a tie keeps the champion)" if value == best else ""
        return {"promote": False,
                "reason": f"{label} {value:.4g} does not beat champion {champion['run_id']}'s {best:.4g}{where}{tie}"}
    return {"promote": True, "reason": f"{label} {value:.4g} beats champion {champion['run_id']}'s {best:.4g}{where}"}


def _blessing_sentence(metrics: dict, label: str, value: float) -> str:
    """ "val MAE 0.452 does not beat persistence 0.29 by 0.005", from the blessing in metrics.json."""
    b = metrics.get("blessing") or {}
    if {"baseline", "baseline_value", "margin"} <= b.keys():
        verb = "beats" if metrics.get("blessed") else "does not beat"
        return f"{label} {value:.4g} {verb} {b['baseline']} {b['baseline_value']:.4g} by {b['margin']:.4g}"
    reason = str(b.get("reason") or "no blessing recorded")
    return reason.removesuffix(": not blessed").removesuffix(": blessed")


# ---------------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------------
def baselines_summary(metrics: dict) -> dict[str, dict[str, float]]:
    """Each baseline's validation and test value of the champion metric: {"persistence": {"val": .., "test": ..}}."""
    key, _, _ = validation_metric(metrics)
    return {
        name: {split: by_split[split][key] for split in ("val", "test") if key in by_split.get(split, {})}
        for name, by_split in (metrics.get("baselines") or {}).items()
    }


def new_entry(model: str, metrics: dict, run_dir: Path, previous_run_id: str | None) -> RegistryEntry:
    """The registry entry naming the run in `run_dir` (with its `metrics`) the champion of `model`."""
    return RegistryEntry(
        model=model,
        run_id=metrics.get("run_id") or Path(run_dir).parent.name,
        metrics={
            "model": model,
            "monitor": metrics.get("monitor"),
            "validation": metrics["validation"],
            "test": metrics.get("test"),
            "baselines": baselines_summary(metrics),
            "blessed": bool(metrics.get("blessed")),
            "reason": (metrics.get("blessing") or {}).get("reason"),
        },
        data_sha256=(metrics.get("data") or {}).get("sha256"),
        code_commit=metrics.get("git_commit"),
        model_path=str(Path(run_dir).resolve() / "model.keras"),
        promoted_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        previous_run_id=previous_run_id,
    )


def make_entry(model: str, metrics: dict, run_dir: Path, previous_run_id: str | None) -> dict[str, Any]:
    """new_entry as the JSON document written to the registry."""
    return new_entry(model, metrics, run_dir, previous_run_id).to_dict()


def promote(registry_dir: Path, model: str, metrics: dict, run_dir: Path) -> dict:
    """Make the run in `run_dir` the champion of `model`: write its entry atomically and return it.

    Does not decide (see `decide`); the previous champion's run id is read from the registry as it stands.

    Raises:
        SettingsError: if `metrics` are of another model.
        DataFormatError: if the run folder has no model.keras, or the current entry is corrupt.
    """
    if metrics.get("model") != model:
        raise SettingsError(f"metrics are of model {metrics.get('model')!r}; cannot promote them as {model!r}")
    model_file = Path(run_dir) / "model.keras"
    if not model_file.is_file():
        raise DataFormatError(f"{model_file} does not exist: an unfinished or damaged run cannot be promoted")
    previous = RegistryEntry.read(registry_dir, model)
    entry = new_entry(model, metrics, run_dir, previous.run_id if previous else None)
    if previous is not None and previous.extra.get(NEW_DATA):  # the history over versions outlives a champion;
        # each record names the champion it judged (tasks.judge.new_data.current_records)
        entry = dataclasses.replace(entry, extra={NEW_DATA: previous.extra[NEW_DATA]})
    entry.write(registry_dir)
    return entry.to_dict()


@contextmanager
def registry_lock(registry_dir: Path, model: str) -> Iterator[None]:
    """Hold an exclusive lock on `model`'s entry, so two runs finishing together decide one after the other."""
    registry_dir = Path(registry_dir)
    registry_dir.mkdir(parents=True, exist_ok=True)
    with open(registry_dir / f".{model}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def register(registry_dir: Path, model: str, metrics: dict, run_dir: Path,
             champion_now: dict | None = None) -> dict[str, Any]:
    """Decide on one finished run and promote it if it wins; the summary promote_model returns.

    `champion_now`: the champion judged on the run's data (see decide), when it trained on another version."""
    with registry_lock(registry_dir, model):
        champion = read_champion(registry_dir, model)
        if champion_now is not None and champion is not None and champion_now.get("run_id") != champion["run_id"]:
            champion_now = None  # the champion changed meanwhile: its figure on this data is not the one judged
        decision = decide(metrics, champion, champion_now)
        entry = promote(registry_dir, model, metrics, run_dir) if decision["promote"] else champion
    value, label = comparison_value(metrics)
    return {  # the figures that compare models (comparison_value): accuracy, or val MAE in °C
        "model": model,
        "run_id": metrics.get("run_id"),
        "promoted": decision["promote"],
        "reason": decision["reason"],
        "metric": label,
        "candidate_value": value,
        "champion_run_id": entry["run_id"] if entry else None,  # the champion after this decision
        "champion_value": comparison_value(entry["metrics"])[0] if entry else None,
        "previous_champion_run_id": champion["run_id"] if champion else None,
        # the champion before the decision, on its own data and on this run's (None: the same data)
        "champion_own_value": comparison_value(champion["metrics"])[0] if champion else None,
        "champion_now_value": comparison_value(champion_now)[0] if champion_now else None,
    }


# ---------------------------------------------------------------------------------------------------------------
# Prefect tasks
# ---------------------------------------------------------------------------------------------------------------


def check_registry(registry_dir: Path, models: list[str] | tuple[str, ...]) -> dict[str, dict | None]:
    """Read every named model's champion entry, so a corrupt registry fails a run before hours of training,
    not after (the finished run would be left unregistered). Returns model -> entry or None."""
    return {model: read_champion(registry_dir, model) for model in models}


def champion_to_judge_again(registry_dir: Path, model: str, candidate: dict) -> Path | None:
    """The champion's model folder when it trained on other data than `candidate` (so that its figures must be
    measured again on the candidate's data before the two are compared), else None."""
    champion = RegistryEntry.read(registry_dir, model)
    if champion is None or champion.data_sha256 == Metrics(candidate).data_sha256:
        return None
    return champion_model_dir(registry_dir, model)


@task(task_run_name="judge the {model} champion on this data")
def judge_champion(registry_dir: Path, model: str, run_dir: Path, data_dir: Path, out_dir: Path) -> str | None:
    """The champion judged again on the data the new run trained on (tasks.judge.evaluate, its own normalization and
    settings), when it trained on another version; returns that evaluation's metrics.json, or None."""
    from tasks.judge.evaluate import evaluate_model

    candidate = Metrics.read(runs.resolve_run_dir(Path(run_dir))).data
    champion_dir = champion_to_judge_again(Path(registry_dir), model, candidate)
    if champion_dir is None:
        return None
    log(f"{model}: the champion trained on other data; judging it again on this run's data -> {out_dir}")
    evaluate_model(champion_dir, Path(data_dir), Path(out_dir))  # its metrics carry the champion's run id
    return str(Metrics.path_in(out_dir))


@task(task_run_name="promote {model}")
def promote_model(registry_dir: Path, model: str, run_dir: Path, champion_now: Path | None = None) -> dict:
    """Make a finished run the champion of its model if it is blessed and beats the current one, on the same
    data (`champion_now`: the champion's metrics.json on this run's data, from judge_champion)."""
    run_dir = runs.resolve_run_dir(Path(run_dir))
    now = Metrics.read(Path(champion_now).parent).data if champion_now else None
    result = register(Path(registry_dir), model, Metrics.read(run_dir).data, run_dir, now)
    if result["promoted"]:
        verdict = "promoted"
    elif result["champion_run_id"]:
        verdict = f"champion {result['champion_run_id']} kept"
    else:
        verdict = "not promoted; no champion yet"
    log(f"{model} run {result['run_id']}: {verdict} ({result['reason']})")
    return result


def champion_model_dir(registry_dir: Path, model: str) -> Path:
    """The model folder of `model`'s champion; a clear error that says how to get one when there is none."""
    architecture(model)  # an unknown model names the known ones
    entry = RegistryEntry.read(registry_dir, model)
    if entry is None:
        raise SettingsError(
            f"no champion for {model} in {registry_dir}: train one first (`seqconv train-all --models {model}`; a "
            "model becomes champion when it beats its baselines), "
            "or name a saved run with --model-dir artifacts/runs/<run-id>/<model>"
        )
    model_dir = entry.model_dir
    if not (model_dir / runs.MODEL).is_file():
        raise DataFormatError(f"champion registry {registry_path(registry_dir, model)} names {model_dir}, which "
                              f"holds no {runs.MODEL} (moved or deleted?)")
    return model_dir
