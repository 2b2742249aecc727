"""Which expectations the IMDB reviews must meet, raw and normalized alike, on a table of one row per review."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.core.sources import IMDB_BALANCE_TOLERANCE, IMDB_REVIEWS_PER_SPLIT
from tasks.ingest.suite_runner import expect

IMDB_COLUMNS = ("label", "n_words", "min_rank", "max_rank")  # the per-review table the IMDB suites run on


def imdb_suite(stage: str, max_rank: int):
    """The IMDB expectations for one split, on its per-review table (see `imdb_review_table`).

    Args:
        stage: "raw" or "normalized" (the same checks: the normalized copy must keep every review intact).
        max_rank: the largest rank in the word index; every word rank must lie in 1..max_rank.
    """
    import great_expectations as gx

    low, high = 0.5 - IMDB_BALANCE_TOLERANCE, 0.5 + IMDB_BALANCE_TOLERANCE
    return gx.ExpectationSuite(
        name=f"imdb.{stage}",
        expectations=[
            expect("ExpectTableRowCountToEqual", True, "25,000 reviews per split", value=IMDB_REVIEWS_PER_SPLIT),
            expect("ExpectColumnValuesToBeInSet", True, "labels are 0/1", column="label", value_set=[0, 1]),
            expect(
                "ExpectColumnMeanToBeBetween", True, "classes balanced within 1%",
                column="label", min_value=low, max_value=high,
            ),
            expect("ExpectColumnValuesToBeBetween", True, "no empty review", column="n_words", min_value=1),
            expect(
                "ExpectColumnValuesToBeBetween", True, "word ranks start at 1",
                column="min_rank", min_value=1,
            ),
            expect(
                "ExpectColumnValuesToBeBetween", True, "every word rank is in the word index",
                column="max_rank", max_value=max_rank,
            ),
        ],
    )


def imdb_review_table(flat: np.ndarray, lengths: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """One row per review: label, length, lowest and highest word rank (0 for an empty review).

    Args:
        flat: every word rank of every review, concatenated; lengths: words per review; labels: 0/1.
    """
    min_rank = np.zeros(len(lengths), dtype=np.int64)
    max_rank = np.zeros(len(lengths), dtype=np.int64)
    nonempty = lengths > 0
    starts = (np.cumsum(lengths) - lengths)[nonempty]
    if starts.size:
        min_rank[nonempty] = np.minimum.reduceat(flat, starts)
        max_rank[nonempty] = np.maximum.reduceat(flat, starts)
    return pd.DataFrame(
        {"label": np.asarray(labels, dtype=np.int64), "n_words": lengths, "min_rank": min_rank, "max_rank": max_rank}
    )
