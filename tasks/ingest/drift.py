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
import uuid
from pathlib import Path
from typing import Any

import numpy as np
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
from tasks.core.sources import JENA_FEATURES
from tasks.ingest.data_profiles import (
    QUANTILES,
    binned_shares,
    describe_values,
    imdb_review_figures,
    months_of,
    profile_version,
    read_jena_rows,
)
from tasks.ingest.drift_markdown import describe_reference, drift_markdown, publish_drift
from tasks.ingest.imdb_reviews import read_imdb_flat
from tasks.ingest.suite_runner import gx_context

# KL divergence (nats) of the new data's histogram from the reference's above which a feature is flagged. 0.1 is the
# KL of two normal curves of equal width whose means are 0.45 std apart (KL = d^2 / 2): a shift of about half a
# standard deviation, e.g. 4 °C of temperature, well above the sampling noise of a 20-bin histogram of thousands of
# rows ((bins - 1) / 2n ~ 0.001 for 10,000 rows), well below a change of season (Jan-May vs Jun-Oct: KL > 1).
KL_THRESHOLD = 0.1
# IMDB: what counts as moved
LENGTH_TOLERANCE = 0.10  # each review length quantile may move by 10% of the reference's
LABEL_TOLERANCE = 0.02  # the positive share may move by 2 percentage points
OOV_TOLERANCE = 0.01  # the mean share of a review's words outside the vocabulary may move by 1 percentage point


def new_frame(version: Path, dataset: str) -> pd.DataFrame:
    """The new rows drift is measured on, as the table the expectations run on: Jena `timestamp` (seconds) and the
    14 features as float64 (GX vectorizes float64, not float32); IMDB the per-review figures of the train split."""
    if dataset == "jena":
        seconds, features = read_jena_rows(version)
        frame = pd.DataFrame(features.astype(np.float64), columns=list(JENA_FEATURES))
        frame["timestamp"] = seconds
        return frame
    return imdb_review_figures(*read_imdb_flat(Path(version), "train"))


# ---------------------------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------------------------
def _validate(frame: pd.DataFrame, expectations: list, name: str) -> list:
    """Run expectations on a frame with the ephemeral GX context tasks.ingest.validate uses; the results in order."""
    import great_expectations as gx

    context = gx_context()  # one ephemeral context per process, shared with the validation suites
    suite = context.suites.add(gx.ExpectationSuite(name=f"drift.{name}.{uuid.uuid4().hex[:8]}",
                                                   expectations=expectations))
    asset = context.data_sources.add_pandas(f"drift-{uuid.uuid4().hex[:8]}").add_dataframe_asset(name)
    result = asset.add_batch_definition_whole_dataframe("whole").get_batch(
        batch_parameters={"dataframe": frame}).validate(suite, result_format={"result_format": "SUMMARY"})
    by_column = {(r.expectation_config.kwargs.get("column"), r.expectation_config.type): r for r in result.results}
    return [by_column.get((e.column, e.expectation_type)) for e in expectations]


def _observed_kl(result) -> float:
    """The KL divergence a GX result observed; GX reports an infinite one as None."""
    value = (result.result or {}).get("observed_value") if result is not None else None
    return float("inf") if value is None else float(value)


def jena_drift(reference: dict, frame: pd.DataFrame, threshold: float = KL_THRESHOLD) -> list[dict]:
    """Per feature: the KL divergence of the new rows' histogram from the reference partition (Great Expectations'
    ExpectColumnKLDivergenceToBeLessThan), flagged above `threshold`, with both sides' quantiles, means and the
    new rows' shares on the reference bins; the most moved first."""
    import great_expectations.expectations as gxe

    names = [n for n in JENA_FEATURES if n in reference["features"]]
    expectations = [gxe.ExpectColumnKLDivergenceToBeLessThan(column=n, threshold=threshold,
                                                             partition_object=reference["features"][n]["partition"])
                    for n in names]
    results = _validate(frame, expectations, "jena")
    features = []
    for name, result in zip(names, results):
        ref = reference["features"][name]
        kl = _observed_kl(result)
        values = frame[name].to_numpy()
        features.append({
            "name": name,
            "kl": kl if np.isfinite(kl) else None,
            "flagged": bool(result is None or not result.success),
            "reference": {"quantiles": ref["quantiles"], "mean": ref["mean"], "std": ref["std"],
                          "bins": ref["partition"]["bins"], "weights": ref["partition"]["weights"]},
            "new": {**describe_values(values), **binned_shares(values, ref["partition"]["bins"])},
        })
    features.sort(key=lambda f: -(f["kl"] if f["kl"] is not None else float("inf")))
    return features


def imdb_drift(reference: dict, frame: pd.DataFrame) -> list[dict]:
    """Review length quantiles (within LENGTH_TOLERANCE of the reference's), the positive share and the OOV share
    (each within its tolerance), checked with Great Expectations; each with a `change` to rank them by (relative
    for lengths, absolute for shares), the most moved first."""
    import great_expectations.expectations as gxe

    ref_q = reference["length"]["quantiles"]
    expectations = [
        # allow_relative_error names pandas' interpolation here: "linear", numpy's, as the profile's quantiles
        gxe.ExpectColumnQuantileValuesToBeBetween(column="n_words", allow_relative_error="linear", quantile_ranges={
            "quantiles": list(QUANTILES),
            "value_ranges": [[ref_q[k] * (1 - LENGTH_TOLERANCE), ref_q[k] * (1 + LENGTH_TOLERANCE)] for k in ref_q]}),
        gxe.ExpectColumnMeanToBeBetween(column="label", min_value=reference["positive_share"] - LABEL_TOLERANCE,
                                        max_value=reference["positive_share"] + LABEL_TOLERANCE),
        gxe.ExpectColumnMeanToBeBetween(column="oov_share", min_value=reference["oov_share"] - OOV_TOLERANCE,
                                        max_value=reference["oov_share"] + OOV_TOLERANCE),
    ]
    length, label, oov = _validate(frame, expectations, "imdb")
    new_length = describe_values(frame["n_words"].to_numpy())
    new_q = new_length["quantiles"]
    features = [
        {"name": "review length", "flagged": bool(length is None or not length.success),
         "change": max(abs(new_q[k] / ref_q[k] - 1) if ref_q[k] else 0.0 for k in ref_q),
         "tolerance": f"each quantile within {LENGTH_TOLERANCE:.0%}",
         "reference": {**reference["length"], "bins": reference["length_histogram"]["bins"],
                       "weights": reference["length_histogram"]["weights"]},
         "new": {**new_length, **binned_shares(frame["n_words"].to_numpy(), reference["length_histogram"]["bins"])}},
        {"name": "positive share", "flagged": bool(label is None or not label.success),
         "change": abs(float(frame["label"].mean()) - reference["positive_share"]),
         "tolerance": f"within {LABEL_TOLERANCE:g}",
         "reference": {"mean": reference["positive_share"]}, "new": {"mean": float(frame["label"].mean())}},
        {"name": "out-of-vocabulary share", "flagged": bool(oov is None or not oov.success),
         "change": abs(float(frame["oov_share"].mean()) - reference["oov_share"]),
         "tolerance": f"within {OOV_TOLERANCE:g}",
         "reference": {"mean": reference["oov_share"]}, "new": {"mean": float(frame["oov_share"].mean())}},
    ]
    features.sort(key=lambda f: (not f["flagged"], -f["change"]))
    return features


def drift_report(reference_profile: dict | None, new: pd.DataFrame, dataset: str, *,
                 reference: dict | None = None, new_info: dict | None = None) -> dict[str, Any]:
    """Compare new rows with a reference profile.

    Args:
        reference_profile: a profile (jena_profile / imdb_profile), or None when there is nothing to compare with.
        new: the new rows as `new_frame` gives them.
        dataset: "jena" or "imdb".
        reference: what the reference is: {"kind": "champion" | "previous_version" | "none", "model", "run", ...}.
        new_info: the new version's {"version", "sha256"}.

    Returns:
        {dataset, created, reference {kind, ..., months, rows}, new {version, sha256, months, rows}, threshold(s),
        features (the most moved first), flagged (names)}.
    """
    info = dict(reference or {"kind": "none" if reference_profile is None else "given"})
    new_info = dict(new_info or {})
    new_info["rows"] = int(len(new))
    if dataset == "jena":
        new_info["months"] = months_of(new["timestamp"].to_numpy()) if "timestamp" in new else []
        thresholds = {"kl": KL_THRESHOLD}
    else:
        thresholds = {"length": LENGTH_TOLERANCE, "positive_share": LABEL_TOLERANCE, "oov_share": OOV_TOLERANCE}
    if reference_profile is not None:
        info.setdefault("rows", reference_profile.get("rows"))
        info.setdefault("months", reference_profile.get("months", []))
        if reference_profile.get("dataset") != dataset:
            raise SeqconvError(f"the reference profile is of {reference_profile.get('dataset')!r}, not {dataset!r}")
        features = jena_drift(reference_profile, new) if dataset == "jena" else imdb_drift(reference_profile, new)
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
    for model in sorted(m for m, family in MODEL_FAMILY.items() if family == dataset):
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
    tasks.core.atomic.point_link may prune older ones."""
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
