"""Drift of a time series: per feature, the KL divergence of the new rows' histogram from the reference's (Great
Expectations' ExpectColumnKLDivergenceToBeLessThan), flagged above KL_THRESHOLD. The series row of drift's kind
table (tasks.ingest.drift)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tasks.core.config import FAMILIES
from tasks.ingest.data_profiles import binned_shares, describe_values, jena_profile, read_jena_rows
from tasks.ingest.drift_checks import observed_kl, run_expectations
from tasks.ingest.jena_weather import feature_columns

# KL divergence (nats) of the new data's histogram from the reference's above which a feature is flagged. 0.1 is the
# KL of two normal curves of equal width whose means are 0.45 std apart (KL = d^2 / 2): a shift of about half a
# standard deviation, e.g. 4 °C of temperature, well above the sampling noise of a 20-bin histogram of thousands of
# rows ((bins - 1) / 2n ~ 0.001 for 10,000 rows), well below a change of season (Jan-May vs Jun-Oct: KL > 1).
KL_THRESHOLD = 0.1


def record_of(version: Path) -> tuple[str, tuple[str, ...]]:
    """(the published file, its feature columns) of a series version: its one Parquet file, as its reader wrote
    it (Jena's jena.parquet, a spec'd dataset's <name>.parquet)."""
    (file,) = sorted(Path(version).glob("*.parquet"))
    return file.name, feature_columns(file)


def new_rows(version: Path) -> pd.DataFrame:
    """The new rows drift is measured on, as the table the expectations run on: `timestamp` (seconds) and the
    features as float64 (GX vectorizes float64, not float32)."""
    file, names = record_of(version)
    seconds, features = read_jena_rows(version, file, names)
    frame = pd.DataFrame(features.astype(np.float64), columns=list(names))
    frame["timestamp"] = seconds
    return frame


def version_profile(version: Path, dataset: str) -> dict:
    """The profile of all of a published version's rows (the reference when no champion has one); its months
    counted as the dataset's record is stamped."""
    file, names = record_of(version)
    return jena_profile(*read_jena_rows(version, file, names), names, dataset,
                        stamped=FAMILIES[dataset].record.stamped)


def series_drift(reference: dict, frame: pd.DataFrame, threshold: float = KL_THRESHOLD) -> list[dict]:
    """Per feature: the KL divergence of the new rows' histogram from the reference partition (Great Expectations'
    ExpectColumnKLDivergenceToBeLessThan), flagged above `threshold`, with both sides' quantiles, means and the
    new rows' shares on the reference bins; the most moved first."""
    import great_expectations.expectations as gxe

    names = [n for n in frame.columns if n != "timestamp" and n in reference["features"]]
    expectations = [gxe.ExpectColumnKLDivergenceToBeLessThan(column=n, threshold=threshold,
                                                             partition_object=reference["features"][n]["partition"])
                    for n in names]
    results = run_expectations(frame, expectations, "series")
    features = []
    for name, result in zip(names, results):
        ref = reference["features"][name]
        kl = observed_kl(result)
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
