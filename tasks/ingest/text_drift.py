"""Drift of a labelled text corpus: review length quantiles, the positive share and the share of words outside the
vocabulary, each within a tolerance of the reference's, checked with Great Expectations. The text row of drift's
kind table (tasks.ingest.drift)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.ingest.data_profiles import QUANTILES, binned_shares, describe_values, imdb_profile, imdb_review_figures
from tasks.ingest.drift_checks import run_expectations
from tasks.ingest.imdb_reviews import read_imdb_flat

# IMDB: what counts as moved
LENGTH_TOLERANCE = 0.10  # each review length quantile may move by 10% of the reference's
LABEL_TOLERANCE = 0.02  # the positive share may move by 2 percentage points
OOV_TOLERANCE = 0.01  # the mean share of a review's words outside the vocabulary may move by 1 percentage point


def new_rows(version: Path) -> pd.DataFrame:
    """The new rows drift is measured on: the per-review figures of the version's train split."""
    return imdb_review_figures(*_train_flat(Path(version)))


def version_profile(version: Path) -> dict:
    """The profile of a published version's train split (the reference when no champion has one)."""
    return imdb_profile(*_train_flat(Path(version)))


def _train_flat(version: Path) -> tuple:
    """(ranks, lengths, labels[, num_words]) of a version's train split: IMDB's word ranks, or a user's texts
    (tasks.ingest.text_files) by the version's vocabulary, as imdb_review_figures reads ranks (id = rank +
    INDEX_FROM, OOV beyond the vocabulary); the label figure of more than two labels is the mean label number."""
    from tasks.ingest.text_files import TEXTS, read_published_texts, version_vocabulary

    if not (version / TEXTS).is_file():
        return read_imdb_flat(version, "train")
    import numpy as np

    from tasks.core.sources import INDEX_FROM

    vocabulary = version_vocabulary(version)
    frame = read_published_texts(version)
    train = frame[frame["split"] == "train"]
    ids = vocabulary.ids(list(train["text"]))
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    flat = np.concatenate(ids).astype(np.int64) if ids else np.zeros(0, np.int64)
    ranks = np.where(flat == 1, vocabulary.size, flat - INDEX_FROM)
    labels = train["label"].map({label: i for i, label in enumerate(vocabulary.labels)}).to_numpy()
    return ranks, lengths, labels, vocabulary.size


def text_drift(reference: dict, frame: pd.DataFrame) -> list[dict]:
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
    length, label, oov = run_expectations(frame, expectations, "text")
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
