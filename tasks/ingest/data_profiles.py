"""Data profiles: what drift compares, small and JSON-able, so that a run folder can keep the profile of its training
rows (`data_profile.json`, written by tasks.model.train) after the dataset version they came from has been pruned.

- Jena: per feature a histogram partition of the rows in Great Expectations' continuous `partition_object` form
  (`bins`, `weights`, `tail_weights`), quantiles, mean and std; the rows and the months.
- IMDB: review length quantiles, label balance (share of positive reviews), the share of words outside the
  `num_words` vocabulary; the reviews.
- A user's texts: IMDB's figures, and each label's share by its name (`label_shares`): labels are categories, so
  drift compares their distribution, never a mean label number (tasks.ingest.text_drift).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tasks.core.errors import SeqconvError
from tasks.core.sources import IMDB_MAX_FEATURES, INDEX_FROM, JENA_FEATURES, OOV_CHAR
from tasks.core.stamps import months_of
from tasks.ingest.jena_weather import read_jena

PROFILE_BINS = 20  # equal-width bins over the reference range: ~5% of the range each, enough to see a shape move
# Mass spread evenly over every bin and both tails of the reference partition. Without it a single new value in a
# bin the reference left empty (or beyond its range) makes the KL divergence infinite, which says "moved" without
# saying how much; 1% caps what one empty bin can contribute at log(22 / 0.01) ~ 7.7 nats per unit of new mass.
PARTITION_FLOOR = 0.01
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


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


def jena_profile(seconds: np.ndarray, features: np.ndarray, names: tuple[str, ...] | None = None,
                 dataset: str = "jena", *, stamped: str) -> dict[str, Any]:
    """The profile of Jena rows: per feature its partition, quantiles, mean and std; the rows and months.

    Args:
        seconds: (rows,) int seconds since 1970.
        features: (rows, 14) raw (not normalized) readings in JENA_FEATURES order (or `names`' order, the
            features of another series dataset `dataset`).
        stamped: the dataset's record.stamped: the month of a reading at midnight on the 1st (tasks.core.stamps).
    """
    features = np.asarray(features, dtype=np.float64)  # (rows, features)
    if not len(features):
        raise SeqconvError("no Jena rows to profile")
    return {
        "dataset": dataset,
        "rows": int(len(features)),
        "months": months_of(seconds, stamped),
        "features": {name: {"partition": partition(features[:, i]), **describe_values(features[:, i])}
                     for i, name in enumerate(names or JENA_FEATURES)},
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
    lengths = np.array([len(r) - 1 for r in encoded], dtype=np.int64)  # without the START_CHAR
    ids = np.concatenate([np.asarray(r[1:], dtype=np.int64) for r in encoded]) if len(encoded) else np.zeros(0)
    ranks = np.where(ids == OOV_CHAR, num_words, ids - INDEX_FROM)  # any rank outside the vocabulary will do
    return imdb_profile(ranks, lengths, labels, num_words)


def texts_training_profile(encoded: list[np.ndarray], labels: np.ndarray, num_words: int,
                           names: tuple[str, ...], dataset: str) -> dict[str, Any]:
    """The profile of a user's texts a model trained on, from their unpadded vocabulary ids (tasks.core.vocabulary:
    1 is the OOV word): the figures of `imdb_profile`, and `label_shares`, each label's share by its name.

    Args:
        encoded: (texts,) unpadded vocabulary ids.
        labels: (texts,) label numbers, by `names`.
        num_words: the vocabulary the model reads.
        names: the labels' names by label number (the version's vocabulary.json).
        dataset: the dataset's name, which drift checks the profile is of.
    """
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    ids = np.concatenate([np.asarray(r, dtype=np.int64) for r in encoded]) if len(encoded) else np.zeros(0)
    ranks = np.where(ids == 1, num_words, ids - INDEX_FROM)  # as imdb_review_figures counts: id = rank + INDEX_FROM
    return {**imdb_profile(ranks, lengths, labels, num_words), "dataset": dataset,
            "label_shares": label_shares(np.asarray(names, dtype=object)[np.asarray(labels, dtype=np.int64)], names)}


def label_shares(named: np.ndarray, names: tuple[str, ...] = ()) -> dict[str, float]:
    """Each label's share of the texts, by name: every name of `names` (0 where none has it), then any other
    label found, in sorted order."""
    values, counts = np.unique(np.asarray(named, dtype=str), return_counts=True)
    found = dict(zip(map(str, values), counts.tolist()))
    total = max(len(named), 1)
    order = list(names) + sorted(set(found) - set(names))
    return {name: found.get(name, 0) / total for name in order}


def jena_training_profile(version: Path, train_ranges: list[tuple[int, int]], file: str = "jena.parquet",
                          names: tuple[str, ...] | None = None, dataset: str = "jena", *,
                          stamped: str) -> dict[str, Any]:
    """The profile of the raw rows of a series version's training split (inclusive row ranges, tasks.model.splits):
    Jena's, or another series dataset's published `file` with its features `names`."""
    seconds, features = read_jena_rows(version, file, names)
    rows = np.concatenate([np.arange(first, last + 1) for first, last in train_ranges])
    return jena_profile(seconds[rows], features[rows], names, dataset, stamped=stamped)


def read_jena_rows(version: Path, file: str = "jena.parquet",
                   names: tuple[str, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps and raw features of a published series version (Jena's by default)."""
    return read_jena(Path(version) / file, names)
