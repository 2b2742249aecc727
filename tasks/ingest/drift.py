"""Drift between the data the champion trained on and the data just published: reported, never fatal.

A *data profile* is what drift compares, small and JSON-able, so a run folder can keep the profile of its training
rows (`data_profile.json`, written by tasks.model.train) after the dataset version they came from has been pruned:

- Jena: per feature a histogram partition of the reference rows in Great Expectations' continuous
  `partition_object` form (`bins`, `weights`, `tail_weights`), quantiles, mean and std; the rows and the months.
- IMDB: review length quantiles, label balance (share of positive reviews), the share of words outside the
  `num_words` vocabulary; the reviews.

`drift_report` checks new rows against a reference profile with Great Expectations (Jena: one
ExpectColumnKLDivergenceToBeLessThan per feature; IMDB: quantile and mean expectations) and says which features
moved. The reference is the most recently promoted champion of the dataset's models (its run's data_profile.json);
without one, the version published before this ingestion; without either, nothing ("none", no flags).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from prefect import task

from tasks.core import atomic, runs
from tasks.core.config import MODEL_FAMILY
from tasks.core.sources import IMDB_MAX_FEATURES, INDEX_FROM, JENA_FEATURES, JENA_TARGET
from tasks.core.errors import SeqconvError
from tasks.core.log import log

PROFILE_BINS = 20  # equal-width bins over the reference range: ~5% of the range each, enough to see a shape move
# Mass spread evenly over every bin and both tails of the reference partition. Without it a single new value in a
# bin the reference left empty (or beyond its range) makes the KL divergence infinite, which says "moved" without
# saying how much; 1% caps what one empty bin can contribute at log(22 / 0.01) ~ 7.7 nats per unit of new mass.
PARTITION_FLOOR = 0.01
# KL divergence (nats) of the new data's histogram from the reference's above which a feature is flagged. 0.1 is the
# KL of two normal curves of equal width whose means are 0.45 std apart (KL = d^2 / 2): a shift of about half a
# standard deviation, e.g. 4 °C of temperature, well above the sampling noise of a 20-bin histogram of thousands of
# rows ((bins - 1) / 2n ~ 0.001 for 10,000 rows), well below a change of season (Jan-May vs Jun-Oct: KL > 1).
KL_THRESHOLD = 0.1
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
# IMDB: what counts as moved
LENGTH_TOLERANCE = 0.10  # each review length quantile may move by 10% of the reference's
LABEL_TOLERANCE = 0.02  # the positive share may move by 2 percentage points
OOV_TOLERANCE = 0.01  # the mean share of a review's words outside the vocabulary may move by 1 percentage point
MAX_PLOTTED = 4  # features drawn in the drift plot, the most moved first
DRIFT_KEY_PREFIX = "drift"  # Prefect artifact "drift-<dataset>"


# ---------------------------------------------------------------------------------------------------------------
# Profiles
# ---------------------------------------------------------------------------------------------------------------
def months_of(seconds: np.ndarray) -> list[str]:
    """The calendar months ("2024-01", ...) that timestamps (int seconds since 1970) fall in, sorted."""
    seconds = np.asarray(seconds, dtype=np.int64)
    if not seconds.size:
        return []
    months = np.unique(seconds.astype("datetime64[s]").astype("datetime64[M]"))
    return [str(m) for m in months]


def partition(values: np.ndarray, bins: int = PROFILE_BINS, floor: float = PARTITION_FLOOR) -> dict[str, list]:
    """A continuous partition object of `values` for ExpectColumnKLDivergenceToBeLessThan: `bins` equal-width
    bins over their range, each weight the share of values in the bin, with `floor` of the mass spread evenly over
    the bins and the two tails (`tail_weights`: below the first edge, above the last), so weights and tail weights
    sum to 1 and no region of the line has zero expected mass."""
    values = np.asarray(values, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    if not high > low:  # a constant column: one narrow bin around it
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, bins + 1)
    counts, _ = np.histogram(values, bins=edges)
    share = counts / max(len(values), 1)
    spread = floor / (bins + 2)
    weights = (1 - floor) * share + spread
    return {"bins": edges.tolist(), "weights": weights.tolist(), "tail_weights": [spread, spread]}


def binned_shares(values: np.ndarray, edges: list[float]) -> dict[str, Any]:
    """Shares of `values` in each bin of `edges`, and below and above them (what the drift plot draws)."""
    values = np.asarray(values, dtype=np.float64)
    n = max(len(values), 1)
    counts, _ = np.histogram(values, bins=np.asarray(edges))
    return {"weights": (counts / n).tolist(),
            "tail_weights": [float((values < edges[0]).sum() / n), float((values > edges[-1]).sum() / n)]}


def describe_values(values: np.ndarray) -> dict[str, Any]:
    """Quantiles (keys "5", "25", ...), mean and std of a column."""
    values = np.asarray(values, dtype=np.float64)
    return {"quantiles": {f"{round(q * 100)}": float(v) for q, v in zip(QUANTILES, np.quantile(values, QUANTILES))},
            "mean": float(values.mean()), "std": float(values.std())}


def jena_profile(seconds: np.ndarray, features: np.ndarray) -> dict[str, Any]:
    """The profile of Jena rows: per feature its partition, quantiles, mean and std; the rows and months.

    Args:
        seconds: (rows,) int seconds since 1970.
        features: (rows, 14) raw (not normalized) readings in JENA_FEATURES order.
    """
    features = np.asarray(features, dtype=np.float64)  # (rows, features)
    if not len(features):
        raise SeqconvError("no Jena rows to profile")
    return {
        "dataset": "jena",
        "rows": int(len(features)),
        "months": months_of(seconds),
        "features": {name: {"partition": partition(features[:, i]), **describe_values(features[:, i])}
                     for i, name in enumerate(JENA_FEATURES)},
    }


def imdb_review_figures(flat: np.ndarray, lengths: np.ndarray, labels: np.ndarray,
                        num_words: int = IMDB_MAX_FEATURES) -> pd.DataFrame:
    """One row per review: its length in words, its label, and the share of its words outside the vocabulary.

    A raw rank r (1 = most frequent word) becomes id r + INDEX_FROM in the model's encoding (tasks.model.architectures
    .offset_reviews), and ids from num_words up become the OOV id: so ranks >= num_words - INDEX_FROM are out.
    """
    flat = np.asarray(flat, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    outside = (flat + INDEX_FROM >= num_words).astype(np.int64)
    starts = np.cumsum(lengths) - lengths
    oov = np.zeros(len(lengths), dtype=np.int64)
    nonempty = lengths > 0
    if nonempty.any():
        oov[nonempty] = np.add.reduceat(outside, starts[nonempty])
    return pd.DataFrame({"n_words": lengths.astype(np.float64), "label": np.asarray(labels, dtype=np.float64),
                         "oov_share": oov / np.maximum(lengths, 1)})


def imdb_profile(flat: np.ndarray, lengths: np.ndarray, labels: np.ndarray,
                 num_words: int = IMDB_MAX_FEATURES) -> dict[str, Any]:
    """The profile of IMDB reviews (raw ranks, as published): length quantiles, positive share, OOV share."""
    table = imdb_review_figures(flat, lengths, labels, num_words)
    if not len(table):
        raise SeqconvError("no IMDB reviews to profile")
    total = max(int(table["n_words"].sum()), 1)
    return {
        "dataset": "imdb",
        "rows": int(len(table)),
        "num_words": int(num_words),
        "length": describe_values(table["n_words"].to_numpy()),
        "positive_share": float(table["label"].mean()),
        "oov_share": float(table["oov_share"].mean()),  # mean over reviews: what the GX check compares
        "oov_token_share": float((table["oov_share"] * table["n_words"]).sum() / total),  # over all words
        "length_histogram": partition(table["n_words"].to_numpy()),
    }


def imdb_training_profile(encoded: list[np.ndarray], labels: np.ndarray, num_words: int) -> dict[str, Any]:
    """The profile of the reviews a model trained on, from tasks.model.dataset's unpadded ids (START_CHAR, then rank +
    INDEX_FROM, or OOV_CHAR for a word outside the vocabulary): the same figures as `imdb_profile` of raw ranks."""
    from tasks.core.sources import OOV_CHAR

    lengths = np.array([len(r) - 1 for r in encoded], dtype=np.int64)  # without the START_CHAR
    ids = np.concatenate([np.asarray(r[1:], dtype=np.int64) for r in encoded]) if len(encoded) else np.zeros(0)
    ranks = np.where(ids == OOV_CHAR, num_words, ids - INDEX_FROM)  # any rank outside the vocabulary will do
    return imdb_profile(ranks, lengths, labels, num_words)


def jena_training_profile(version: Path, train_ranges: list[tuple[int, int]]) -> dict[str, Any]:
    """The profile of the raw rows of a Jena version's training split (inclusive row ranges, tasks.model.windows)."""
    seconds, features = read_jena_rows(version)
    rows = np.concatenate([np.arange(first, last + 1) for first, last in train_ranges])
    return jena_profile(seconds[rows], features[rows])


def read_jena_rows(version: Path) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps and raw features of a published Jena version."""
    from tasks.ingest.normalize import read_jena

    return read_jena(Path(version) / "jena.parquet")


def profile_version(version: Path, dataset: str) -> dict[str, Any]:
    """The profile of a published version's rows: Jena all of them, IMDB its train split."""
    if dataset == "jena":
        return jena_profile(*read_jena_rows(version))
    from tasks.ingest.normalize import read_imdb_flat

    return imdb_profile(*read_imdb_flat(Path(version), "train"))


def new_frame(version: Path, dataset: str) -> pd.DataFrame:
    """The new rows drift is measured on, as the table the expectations run on: Jena `timestamp` (seconds) and the
    14 features as float64 (GX vectorizes float64, not float32); IMDB the per-review figures of the train split."""
    if dataset == "jena":
        seconds, features = read_jena_rows(version)
        frame = pd.DataFrame(features.astype(np.float64), columns=list(JENA_FEATURES))
        frame["timestamp"] = seconds
        return frame
    from tasks.ingest.normalize import read_imdb_flat

    return imdb_review_figures(*read_imdb_flat(Path(version), "train"))


# ---------------------------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------------------------
def _validate(frame: pd.DataFrame, expectations: list, name: str) -> list:
    """Run expectations on a frame with the ephemeral GX context tasks.ingest.validate uses; the results in order."""
    import great_expectations as gx

    from tasks.ingest.validate import gx_context  # one ephemeral context per process, shared with the validation suites

    context = gx_context()
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
    from tasks.core.records.registry import read_champion

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
                    runs.read_json(path, "the profile of the rows the champion trained on"))
        log(f"drift: champion {entry['model']} {entry['run_id']} has no {runs.DATA_PROFILE} (an older run); "
            "trying the next reference", logging.WARNING)
    return None


def version_sha256(version: Path, dataset: str) -> str:
    from tasks.core.cache import files_sha256
    from tasks.core.config import FAMILIES

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


def drift_path(validation_dir: Path, dataset: str) -> Path:
    """data/validation/<dataset>.drift.json."""
    return Path(validation_dir) / f"{dataset}.drift.json"


def read_drift(validation_dir: Path, dataset: str) -> dict | None:
    """A dataset's drift report, or None where there is none (or it is unreadable: drift is never fatal)."""
    try:
        return json.loads(drift_path(validation_dir, dataset).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def describe_reference(report: dict) -> str:
    """"champion jena_conv_gru 20261128-..." / "previous version jena-ab12" / "none"."""
    ref = report.get("reference") or {}
    if ref.get("kind") == "champion":
        return f"champion {ref.get('model')} run {ref.get('run')}"
    if ref.get("kind") == "previous_version":
        return f"previous version {ref.get('version')}"
    return str(ref.get("kind", "none"))


def drift_markdown(report: dict, image: str | None = None) -> str:
    """The drift report as markdown: reference and new months, one row per feature (KL or change, flagged)."""
    from tasks.core.tables import describe_months, markdown_table

    ref, new = report.get("reference") or {}, report.get("new") or {}
    lines = [f"# Data drift of {report['dataset']}", "",
             f"Reference: {describe_reference(report)}"
             + (f", {describe_months(ref['months'])}" if ref.get("months") else "")
             + (f", {ref['rows']:,} rows" if ref.get("rows") else "") + ". "
             f"New: version `{new.get('version')}`"
             + (f", {describe_months(new['months'])}" if new.get("months") else "")
             + (f", {new['rows']:,} rows" if new.get("rows") else "") + ".", ""]
    if report.get("error"):
        lines += [f"Not computed: {report['error']}", ""]
    elif not report.get("features"):
        lines += ["Nothing to compare with (first ingestion): no flags.", ""]
    else:
        flagged = report.get("flagged") or []
        lines += [f"Flagged: {', '.join(flagged) if flagged else 'none'}.", ""]
        target = next((f for f in report["features"] if f["name"] == JENA_TARGET), None)
        if report["dataset"] == "jena" and target is not None:  # what the models forecast, whatever moved most
            kl = "inf" if target["kl"] is None else f"{target['kl']:.3g}"
            lines += [f"Forecast target {JENA_TARGET}: KL divergence {kl} ({'flagged' if target['flagged'] else 'not flagged'}), "
                      f"mean {target['reference']['mean']:.2f} -> {target['new']['mean']:.2f}.", ""]
        if report["dataset"] == "jena":
            lines += markdown_table(["feature", "KL divergence", "flagged", "reference mean", "new mean"],
                            [[f["name"], "inf" if f["kl"] is None else f["kl"], f["flagged"],
                              f["reference"]["mean"], f["new"]["mean"]] for f in report["features"]])
            lines += ["", f"Flagged: KL divergence above {report['thresholds']['kl']:g} (Great Expectations, "
                          "ExpectColumnKLDivergenceToBeLessThan against a partition of the reference rows)."]
        else:
            lines += markdown_table(["figure", "change", "tolerance", "flagged", "reference", "new"],
                            [[f["name"], f["change"], f["tolerance"], f["flagged"],
                              f["reference"].get("quantiles", f["reference"].get("mean")),
                              f["new"].get("quantiles", f["new"].get("mean"))] for f in report["features"]])
    if image:
        lines += ["", f"![drift of {report['dataset']}]({image})"]
    return "\n".join(lines) + "\n"


def publish_drift(dataset: str, markdown: str):
    """The drift report as the `drift-<dataset>` markdown artifact; its id, or None outside a Prefect run."""
    from tasks.core.artifacts import artifact_key, in_prefect_run

    if not in_prefect_run():
        return None
    from prefect.artifacts import create_markdown_artifact

    return create_markdown_artifact(markdown=markdown, key=artifact_key(DRIFT_KEY_PREFIX, dataset), _sync=True,
                                    description=f"How the new {dataset} data differs from the champion's.")


def published_version(processed_dir: Path, dataset: str) -> Path | None:
    """The version `processed/<dataset>` points at now, or None before the first publication."""
    link = Path(processed_dir) / dataset
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None


def retraining_plan(retrain: str, models: list[str], data_dir: Path, registry_dir: Path) -> dict[str, str | None]:
    """Which models train-all trains: model -> None (train it) or why not (a sentence for the report).

    Only `retrain="on_drift"` skips any: a model is trained when it has no champion yet, or when its dataset's
    drift report is of the version published now and flags a feature; otherwise it is not retrained."""
    from tasks.core.config import family
    from tasks.core.records.registry import read_champion

    plan: dict[str, str | None] = {}
    for model in models:
        if retrain != "on_drift" or read_champion(Path(registry_dir), model) is None:
            plan[model] = None
            continue
        dataset = family(model)
        report = read_drift(Path(data_dir) / "validation", dataset)
        published = published_version(Path(data_dir) / "processed", dataset)
        current = bool(report and published and (report.get("new") or {}).get("version") == published.name)
        if current and report.get("flagged"):
            plan[model] = None
        elif current:
            plan[model] = f"not retrained: no drift flagged (reference {describe_reference(report)})"
        else:
            plan[model] = (f"not retrained: no drift flagged (no new {dataset} data since the last drift report; "
                           f"published version {published.name if published else 'none'})")
    return plan


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
    path = atomic.write_json(drift_path(Path(validation_dir), dataset), report)
    try:
        publish_drift(dataset, drift_markdown(report))
    except Exception as error:  # noqa: BLE001 - an artifact is not worth failing ingestion for
        log(f"drift artifact of {dataset} not published: {error}", logging.WARNING)
    moved = ", ".join(f"{f['name']} ({f['kl']:.3g})" if f.get("kl") is not None else f["name"]
                      for f in report["features"][:3])
    log(f"{dataset} drift against {describe_reference(report)}: flagged {report['flagged'] or 'nothing'}"
        + (f"; most moved {moved}" if moved else "") + f" -> {path}")
    return str(path)


@task(task_run_name="plan retraining ({retrain})")
def plan_retraining(retrain: str, models: list[str], data_dir: str, artifacts_dir: str) -> dict[str, str | None]:
    """Which models to train (None) and why the others are not retrained (tasks.ingest.drift.retraining_plan)."""
    plan = retraining_plan(retrain, models, Path(data_dir), runs.registry_dir(artifacts_dir))
    for model, why in plan.items():
        if why:
            log(f"{model}: {why}")
    return plan
