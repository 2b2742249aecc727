"""Drift between the data the champion trained on and the data just published: computed, written, never fatal.

`drift_report` checks new rows against a reference profile (tasks.ingest.data_profiles) with Great Expectations
(Jena: one ExpectColumnKLDivergenceToBeLessThan per feature; IMDB: quantile and mean expectations) and says which
features moved. The reference is the most recently promoted champion of the dataset's models (its run's
data_profile.json); without one, the version published before this ingestion; without either, nothing ("none", no
flags). The report is kept as data/validation/<dataset>.drift.json (tasks.core.records.drift) and shown as the
`drift-<dataset>` artifact (tasks.ingest.drift_markdown).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
from prefect import task

from tasks.core import atomic, runs
from tasks.core.atomic import published_version
from tasks.core.config import FAMILIES, MODEL_FAMILY
from tasks.core.cache import files_sha256
from tasks.core.errors import DataFormatError, SeqconvError
from tasks.core.log import log
from tasks.core.records.drift import DriftReport, drift_path
from tasks.core.records.registry import read_champion
from tasks.core.stamps import months_of
import tasks.ingest.series_drift as series_drift
import tasks.ingest.text_drift as text_drift
from tasks.ingest.drift_markdown import describe_reference, drift_markdown, publish_drift


@dataclass(frozen=True)
class DriftKind:
    """How drift is measured on one kind of dataset (a module: series_drift, text_drift)."""

    new_rows: Callable[[Path], pd.DataFrame]  # a version's new rows, as the checks read them
    version_profile: Callable[[Path, str], dict]  # a version's profile (its path, the dataset's name): the
    # reference when no champion has one
    features: Callable[[dict, pd.DataFrame], list[dict]]  # the checks: each feature, the most moved first
    thresholds: dict[str, float]  # what counts as moved, as the report states it
    timed: bool  # its rows have timestamps: the report names their months


def _kind(module: ModuleType, features: Callable, thresholds: dict, timed: bool) -> DriftKind:
    return DriftKind(module.new_rows, module.version_profile, features, thresholds, timed)


KINDS: dict[str, DriftKind] = {  # kind of dataset -> how its drift is measured
    "series": _kind(series_drift, series_drift.series_drift, {"kl": series_drift.KL_THRESHOLD}, True),
    "text": _kind(text_drift, text_drift.text_drift, {"length": text_drift.LENGTH_TOLERANCE,
                                                      "positive_share": text_drift.LABEL_TOLERANCE,
                                                      "oov_share": text_drift.OOV_TOLERANCE}, False),
}


def drift_kind(dataset: str) -> DriftKind:
    return KINDS[FAMILIES[dataset].kind]


def new_frame(version: Path, dataset: str) -> pd.DataFrame:
    """The new rows drift is measured on, as the table the expectations run on (the dataset's kind says how)."""
    return drift_kind(dataset).new_rows(Path(version))


def profile_version(version: Path, dataset: str) -> dict[str, Any]:
    """The profile of a published version's rows (the dataset's kind says which)."""
    return drift_kind(dataset).version_profile(Path(version), dataset)


# ---------------------------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------------------------
def drift_report(reference_profile: dict | None, new: pd.DataFrame, dataset: str, *,
                 reference: dict | None = None, new_info: dict | None = None) -> dict[str, Any]:
    """Compare new rows with a reference profile.

    Args:
        reference_profile: a profile (tasks.ingest.data_profiles), or None when there is nothing to compare with.
        new: the new rows as `new_frame` gives them.
        dataset: the dataset's name (its kind says how drift is measured).
        reference: what the reference is: {"kind": "champion" | "previous_version" | "none", "model", "run", ...}.
        new_info: the new version's {"version", "sha256"}.

    Returns:
        {dataset, created, reference {kind, ..., months, rows}, new {version, sha256, months, rows}, threshold(s),
        features (the most moved first), flagged (names)}.
    """
    info = dict(reference or {"kind": "none" if reference_profile is None else "given"})
    new_info = dict(new_info or {})
    new_info["rows"] = int(len(new))
    kind = drift_kind(dataset)
    if kind.timed:
        new_info["months"] = (months_of(new["timestamp"].to_numpy(), FAMILIES[dataset].record.stamped)
                              if "timestamp" in new else [])
    thresholds = dict(kind.thresholds)
    if reference_profile is not None:
        info.setdefault("rows", reference_profile.get("rows"))
        info.setdefault("months", reference_profile.get("months", []))
        if reference_profile.get("dataset") != dataset:
            raise SeqconvError(f"the reference profile is of {reference_profile.get('dataset')!r}, not {dataset!r}")
        features = kind.features(reference_profile, new)
    else:
        features = []
    return {
        "dataset": dataset,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "reference": info,
        "new": new_info,
        "thresholds": thresholds,
        "features": features,
        "flagged": [f["name"] for f in features if f["flagged"]],
    }


# ---------------------------------------------------------------------------------------------------------------
# The reference
# ---------------------------------------------------------------------------------------------------------------
def champion_reference(registry_dir: Path, dataset: str) -> tuple[dict, dict] | None:
    """(reference info, profile) of the most recently promoted champion among the dataset's models whose run
    folder holds a data_profile.json; None when there is none (no champion yet, or only older runs)."""
    entries = []
    on_it = [path.stem for path in Path(registry_dir).glob(f"*@{dataset}.json")]  # <architecture>@<dataset>
    for model in sorted([*(m for m, family in MODEL_FAMILY.items() if family == dataset), *on_it]):
        try:
            entry = read_champion(Path(registry_dir), model)
        except SeqconvError as error:  # a corrupt entry: train-all says so; drift falls back
            log(f"drift: champion of {model} unreadable ({error}); not used as the reference", logging.WARNING)
            continue
        if entry is not None:
            entries.append(entry)
    for entry in sorted(entries, key=lambda e: str(e.get("promoted_at")), reverse=True):
        path = Path(entry["model_path"]).parent / runs.DATA_PROFILE
        if path.is_file():
            return ({"kind": "champion", "model": entry["model"], "run": entry["run_id"],
                     "sha256": entry.get("data_sha256"), "profile": str(path)},
                    atomic.read_json(path, "the profile of the rows the champion trained on"))
        log(f"drift: champion {entry['model']} {entry['run_id']} has no {runs.DATA_PROFILE} (an older run); "
            "trying the next reference", logging.WARNING)
    return None


def version_sha256(version: Path, dataset: str) -> str:
    """sha256 of a dataset version's Parquet files (what a run's metrics record as its data_sha256)."""
    return files_sha256([Path(version) / name for name in FAMILIES[dataset].files])


def choose_reference(registry_dir: Path, dataset: str, previous: Path | None) -> tuple[dict, dict | None]:
    """The reference info and profile: the latest champion's training rows, else the previous published version,
    else none."""
    found = champion_reference(registry_dir, dataset)
    if found is not None:
        return found
    if previous is not None and Path(previous).is_dir():
        return ({"kind": "previous_version", "version": Path(previous).name,
                 "sha256": version_sha256(previous, dataset)}, profile_version(previous, dataset))
    return {"kind": "none"}, None


def report_for_version(version: Path, dataset: str, registry_dir: Path, previous: Path | None) -> dict[str, Any]:
    """The drift report of a new version against its reference; a failure to compute it gives a report saying why
    (`error`), never an exception: drift is reported, never fatal."""
    new_info: dict[str, Any] = {"version": Path(version).name}
    try:
        new_info["sha256"] = version_sha256(version, dataset)
        info, profile = choose_reference(registry_dir, dataset, previous)
        return drift_report(profile, new_frame(version, dataset), dataset, reference=info, new_info=new_info)
    except Exception as error:  # noqa: BLE001 - drift never fails ingestion; the report says what went wrong
        log(f"drift report of {dataset} not computed: {type(error).__name__}: {error}", logging.WARNING)
        return {"dataset": dataset, "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "reference": {"kind": "unknown"}, "new": new_info, "features": [], "flagged": [],
                "error": f"{type(error).__name__}: {error}"}


def read_drift_report(validation_dir: Path, dataset: str) -> DriftReport | None:
    """A dataset's drift report, or None where there is none or it is unreadable (logged: drift is never fatal)."""
    try:
        return DriftReport.read(drift_path(validation_dir, dataset))
    except DataFormatError as error:
        log(f"{error}; read as no drift report", logging.WARNING)
        return None


def read_drift(validation_dir: Path, dataset: str) -> dict | None:
    """`read_drift_report` as the JSON data written (what tasks.publish draws and describes), or None."""
    report = read_drift_report(validation_dir, dataset)
    return None if report is None else report.to_dict()


# ---------------------------------------------------------------------------------------------------------------
# Prefect tasks
# ---------------------------------------------------------------------------------------------------------------
@task(task_run_name="report {dataset} drift")
def report_drift(version: Path, processed_dir: Path, dataset: str, artifacts_dir: Path,
                 validation_dir: Path) -> str | None:
    """Before a new version is published: how it differs from the champion's data (or the version it replaces),
    as data/validation/<dataset>.drift.json and the `drift-<dataset>` artifact. Nothing when the version is the
    one already published (sources unchanged). Never fails: a problem is logged and written into the report.

    Runs before the swap because the version published now is the fallback reference, and after the swap
    the ingest flow may prune older ones (tasks.core.retention)."""
    previous = published_version(Path(processed_dir), dataset)
    if previous is not None and previous == Path(version).resolve():
        log(f"{dataset}: the same version is published again; no drift report")
        return None
    report = report_for_version(Path(version), dataset, runs.registry_dir(artifacts_dir), previous)
    path = DriftReport.from_dict(report).write(drift_path(Path(validation_dir), dataset))
    try:
        publish_drift(dataset, drift_markdown(report))
    except Exception as error:  # noqa: BLE001 - an artifact is not worth failing ingestion for
        log(f"drift artifact of {dataset} not published: {error}", logging.WARNING)
    moved = ", ".join(f"{f['name']} ({f['kl']:.3g})" if f.get("kl") is not None else f["name"]
                      for f in report["features"][:3])
    log(f"{dataset} drift against {describe_reference(report)}: flagged {report['flagged'] or 'nothing'}"
        + (f"; most moved {moved}" if moved else "") + f" -> {path}")
    return str(path)
