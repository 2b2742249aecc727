"""Drift of a labelled text corpus: review length quantiles, the labels and the share of words outside the
vocabulary, each within a tolerance of the reference's, checked with Great Expectations. The text row of drift's
kind table (tasks.ingest.drift).

The labels: IMDB's positive share (the mean of its 0/1 labels). A user's texts name their labels, any number of
them, and a label's number depends on which labels a version holds (they are sorted): so their labels are compared
as a distribution, by name, with the total variation distance (half the sum of the shares' absolute changes: the
share of texts that would have to change label for one distribution to become the other). For two labels it is
the change in either label's share, the positive share's figure, so the same tolerance holds. Not Great
Expectations' categorical KL divergence: it is infinite for a label one side lacks, and says nothing in shares.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tasks.ingest.data_profiles import (QUANTILES, binned_shares, describe_values, imdb_profile, imdb_review_figures,
                                        label_shares)
from tasks.ingest.drift_checks import run_expectations
from tasks.ingest.imdb_reviews import read_imdb_flat

# IMDB: what counts as moved
LENGTH_TOLERANCE = 0.10  # each review length quantile may move by 10% of the reference's
LABEL_TOLERANCE = 0.02  # the positive share may move by 2 percentage points; a user's label distribution by 0.02
# of total variation (2% of the texts in other labels); the labels named as moved: each whose share moved by half
# that or more (with many labels a flagged shift can be spread thinner: then its largest gain and largest loss)
OOV_TOLERANCE = 0.01  # the mean share of a review's words outside the vocabulary may move by 1 percentage point


def new_rows(version: Path) -> pd.DataFrame:
    """The new rows drift is measured on: the per-review figures of the version's train split; a user's texts
    with each label's name too (`label_name`)."""
    flat = _train_flat(Path(version))
    frame = imdb_review_figures(*flat)
    names = _label_names(Path(version))
    if names is not None:
        frame["label_name"] = np.asarray(names, dtype=object)[frame["label"].to_numpy().astype(np.int64)]
    return frame


def version_profile(version: Path, dataset: str) -> dict:
    """The profile of a published version's train split (the reference when no champion has one); a user's
    texts' with each label's share by name, under the dataset's name (as a run's data_profile.json)."""
    flat = _train_flat(Path(version))
    profile = imdb_profile(*flat)
    names = _label_names(Path(version))
    if names is None:
        return profile
    named = np.asarray(names, dtype=object)[np.asarray(flat[2], dtype=np.int64)]
    return {**profile, "dataset": dataset, "label_shares": label_shares(named, names)}


def _label_names(version: Path) -> tuple[str, ...] | None:
    """A user's texts' labels by label number (the version's vocabulary); None for IMDB's reviews."""
    from tasks.ingest.text_files import TEXTS, version_vocabulary

    return version_vocabulary(version).labels if (version / TEXTS).is_file() else None


def _train_flat(version: Path) -> tuple:
    """(ranks, lengths, labels[, num_words]) of a version's train split: IMDB's word ranks, or a user's texts
    (tasks.ingest.text_files) by the version's vocabulary, as imdb_review_figures reads ranks (id = rank +
    INDEX_FROM, OOV beyond the vocabulary), labels as numbers by the version's vocabulary."""
    from tasks.ingest.text_files import TEXTS, read_published_texts, version_vocabulary

    if not (version / TEXTS).is_file():
        return read_imdb_flat(version, "train")
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


def label_drift(reference: dict[str, float], new: dict[str, float], tolerance: float = LABEL_TOLERANCE) -> dict:
    """The label distribution's drift: the total variation distance between the reference's shares and the new
    ones (by label name; a label one side lacks has share 0 there), flagged above `tolerance`, and the labels that
    moved (each whose share changed by tolerance / 2 or more, else, when flagged, the largest gain and loss; the
    most moved first).

    Args:
        reference: label name -> share of the reference texts.
        new: label name -> share of the new texts.
        tolerance: the total variation above which the distribution is flagged.
    Returns:
        A drift feature: name "label shares", flagged, change (the total variation), tolerance, reference and new
        ({"shares": ...}), moved ([{"label", "reference", "new", "change"}], signed changes).
    """
    names = list(reference) + [n for n in new if n not in reference]
    changes = {n: new.get(n, 0.0) - reference.get(n, 0.0) for n in names}
    distance = 0.5 * sum(abs(c) for c in changes.values())
    ranked = sorted(changes, key=lambda n: -abs(changes[n]))  # the most moved first
    named = [n for n in ranked if abs(changes[n]) >= tolerance / 2]
    if distance > tolerance and not named:
        named = [n for n in ranked if n in (max(changes, key=changes.get), min(changes, key=changes.get))]
    moved = [{"label": n, "reference": reference.get(n, 0.0), "new": new.get(n, 0.0), "change": changes[n]}
             for n in named]
    return {"name": "label shares", "flagged": bool(distance > tolerance), "change": distance,
            "tolerance": f"total variation within {tolerance:g}",
            "reference": {"shares": dict(reference)}, "new": {"shares": {n: new.get(n, 0.0) for n in names}},
            "moved": moved}


def text_drift(reference: dict, frame: pd.DataFrame) -> list[dict]:
    """Review length quantiles (within LENGTH_TOLERANCE of the reference's), the labels (IMDB's positive share, a
    user's label distribution: label_drift) and the OOV share (each within its tolerance), checked with Great
    Expectations; each with a `change` to rank them by (relative for lengths, absolute for shares), the most moved
    first."""
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
    if "label_shares" in reference and "label_name" in frame:  # a user's labels: categories, compared by name
        features[1] = label_drift(reference["label_shares"], label_shares(frame["label_name"].to_numpy(),
                                                                          tuple(reference["label_shares"])))
    features.sort(key=lambda f: (not f["flagged"], -f["change"]))
    return features
