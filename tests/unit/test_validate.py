"""The Great Expectations suites on tiny frames: what fails hard, what is only reported, and the message a user
reads. Each `run_suite` takes about 0.3 s (the first one in a process a few seconds more)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tasks.core.sources import IMDB_REVIEWS_PER_SPLIT, JENA_FEATURES, JENA_SENTINEL
from tasks.core.errors import ValidationFailed
from tasks.ingest.imdb_suite import imdb_review_table, imdb_suite
from tasks.ingest.jena_suite import (
    JENA_MIN_ROWS,
    PARSED_TIMESTAMP,
    jena_dropped_columns,
    jena_normalized_suite,
    jena_raw_suite,
    jena_raw_table,
)
from tasks.ingest.jena_weather import jena_arrow, normalize_jena
from tasks.ingest.suite_runner import SuiteResult, format_failures, raise_on_failure, results_to_json, run_suite
from tasks.ingest.jena_station import validate_normalized_jena
from tests.support import fixtures

pytestmark = pytest.mark.unit

MAX_RANK = 1000  # the word index of the IMDB tests below holds ranks 1..1000
PAR = "max. PAR (\u00b5mol/m\u00b2/s)"


def raw_station_frame(rows: int = 12, seed: int = 0) -> pd.DataFrame:
    """A raw station frame as `read_jena_csv` returns it: text timestamps, float64 numbers, 7 extra columns."""
    frame = fixtures.synthetic_weather("2024-01-01 00:10:00", rows, seed).round(2)
    frame["Date Time"] = frame["Date Time"].astype("string")
    return frame


def raw_suite_for(frame: pd.DataFrame):
    return jena_raw_suite(jena_dropped_columns(frame))


def by_kind(findings: list[dict]) -> dict[tuple[str, str | None], dict]:
    return {(f["expectation"], f["column"]): f for f in findings}


# ---------------------------------------------------------------------------------------------------------------
# IMDB
# ---------------------------------------------------------------------------------------------------------------
def imdb_reviews(n: int = IMDB_REVIEWS_PER_SPLIT, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`n` reviews as flat ranks, lengths and balanced labels (the shapes `flatten_reviews` returns)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 8, size=n)
    flat = rng.integers(1, MAX_RANK + 1, size=int(lengths.sum()))
    labels = np.tile([1, 0], n // 2 + 1)[:n]
    return flat, lengths, labels


def test_imdb_review_table_has_length_and_rank_range_per_review() -> None:
    flat = np.array([5, 3, 9, 7], dtype=np.int64)
    lengths = np.array([3, 0, 1])

    table = imdb_review_table(flat, lengths, np.array([1, 0, 1]))

    assert table.to_dict("list") == {
        "label": [1, 0, 1], "n_words": [3, 0, 1], "min_rank": [3, 0, 7], "max_rank": [9, 0, 7],
    }


def test_imdb_suite_passes_a_good_split() -> None:
    result = run_suite(imdb_review_table(*imdb_reviews()), imdb_suite("raw", MAX_RANK), "train")

    assert result.success and not result.failed_hard and not result.failed_soft
    assert (result.suite, result.batch, result.rows, result.evaluated) == ("imdb.raw", "train", 25_000, 6)


def test_imdb_suite_fails_hard_on_label_2_and_a_rank_beyond_the_index_and_says_which() -> None:
    flat, lengths, labels = imdb_reviews()
    labels = labels.copy()
    labels[3] = 2
    flat = flat.copy()
    flat[10] = MAX_RANK + 17

    result = run_suite(imdb_review_table(flat, lengths, labels), imdb_suite("raw", MAX_RANK), "train")

    assert not result.success
    failed = by_kind(result.failed_hard)
    assert set(failed) == {("expect_column_values_to_be_in_set", "label"),
                           ("expect_column_values_to_be_between", "max_rank")}
    label = failed[("expect_column_values_to_be_in_set", "label")]
    assert (label["unexpected_count"], label["examples"], label["why"]) == (1, [2], "labels are 0/1")
    rank = failed[("expect_column_values_to_be_between", "max_rank")]
    assert (rank["unexpected_count"], rank["examples"]) == (1, [MAX_RANK + 17])

    with pytest.raises(ValidationFailed) as caught:
        raise_on_failure("imdb", "raw", [result], "data/validation/imdb.raw.json")
    message = str(caught.value)
    assert message.startswith("imdb raw data failed validation (full results: data/validation/imdb.raw.json):")
    assert "  - train: column 'label': expect_column_values_to_be_in_set (labels are 0/1): 1 of 25000 rows; " \
           "e.g. [2]" in message
    assert "  - train: column 'max_rank': expect_column_values_to_be_between (every word rank is in the word " \
           f"index): 1 of 25000 rows; e.g. [{MAX_RANK + 17}]" in message


def test_imdb_suite_reports_a_wrong_row_count_and_an_unbalanced_split_by_observed_value() -> None:
    flat, lengths, labels = imdb_reviews(n=300)

    result = run_suite(imdb_review_table(flat, lengths, np.ones_like(labels)), imdb_suite("raw", MAX_RANK), "test")

    failed = by_kind(result.failed_hard)
    assert failed[("expect_table_row_count_to_equal", None)]["observed"] == 300
    assert failed[("expect_column_mean_to_be_between", "label")]["observed"] == 1.0
    message = format_failures([result])
    assert "test: expect_table_row_count_to_equal (25,000 reviews per split): observed 300" in message
    assert "test: column 'label': expect_column_mean_to_be_between (classes balanced within 1%): observed 1.0" \
           in message


# ---------------------------------------------------------------------------------------------------------------
# Jena, raw
# ---------------------------------------------------------------------------------------------------------------
def test_raw_suite_passes_a_clean_station_file() -> None:
    frame = raw_station_frame()

    result = run_suite(jena_raw_table(frame), raw_suite_for(frame), "mpi_roof_2024a.csv")

    assert result.success and result.failed_soft == []
    assert result.evaluated == 5 + 3 * 14 + 7  # table and timestamp checks, 3 per feature, 1 per dropped column


def test_raw_suite_reports_sentinels_repeats_and_disorder_as_soft_findings() -> None:
    frame = raw_station_frame()
    frame.loc[4, "wv (m/s)"] = JENA_SENTINEL
    frame.loc[[2, 3], PAR] = JENA_SENTINEL  # in a column normalization drops
    frame = pd.concat([frame.iloc[:7], frame.iloc[6:7], frame.iloc[[9, 8]], frame.iloc[10:]], ignore_index=True)

    result = run_suite(jena_raw_table(frame), raw_suite_for(frame), "mpi_roof_2024a.csv")

    assert result.success and result.failed_hard == []  # soft findings never fail the flow
    soft = by_kind(result.failed_soft)
    assert set(soft) == {
        ("expect_column_values_to_be_unique", PARSED_TIMESTAMP),
        ("expect_column_values_to_be_increasing", PARSED_TIMESTAMP),
        ("expect_column_values_to_not_be_in_set", "wv (m/s)"),
        ("expect_column_values_to_be_between", "wv (m/s)"),
        ("expect_column_values_to_not_be_in_set", PAR),
    }
    repeated = soft[("expect_column_values_to_be_unique", PARSED_TIMESTAMP)]
    assert repeated["unexpected_count"] == 2  # both rows of the repeated timestamp
    assert repeated["examples"] == ["2024-01-01 01:10:00"] * 2
    assert soft[("expect_column_values_to_not_be_in_set", "wv (m/s)")]["unexpected_count"] == 1
    assert soft[("expect_column_values_to_not_be_in_set", "wv (m/s)")]["examples"] == [JENA_SENTINEL]
    assert soft[("expect_column_values_to_not_be_in_set", PAR)]["unexpected_count"] == 2
    raise_on_failure("jena", "raw", [result])  # nothing hard: no exception


def test_raw_suite_fails_hard_on_a_missing_reading_and_a_bad_timestamp() -> None:
    frame = raw_station_frame()
    frame.loc[3, "rh (%)"] = np.nan
    frame.loc[5, "Date Time"] = "2024-01-01 00:50"  # not dd.mm.yyyy HH:MM:SS
    frame.loc[6, "Date Time"] = "31.02.2024 01:00:00"  # the right shape, but no such day

    result = run_suite(jena_raw_table(frame), raw_suite_for(frame), "mpi_roof_2024b.csv")

    hard = by_kind(result.failed_hard)
    assert set(hard) == {
        ("expect_column_values_to_not_be_null", "rh (%)"),
        ("expect_column_values_to_match_regex", "Date Time"),
        ("expect_column_values_to_not_be_null", PARSED_TIMESTAMP),
    }
    assert hard[("expect_column_values_to_match_regex", "Date Time")]["examples"] == ["2024-01-01 00:50"]
    assert hard[("expect_column_values_to_not_be_null", PARSED_TIMESTAMP)]["unexpected_count"] == 2
    with pytest.raises(ValidationFailed) as caught:
        raise_on_failure("jena", "raw", [result])
    message = str(caught.value)
    assert "mpi_roof_2024b.csv: column 'rh (%)': expect_column_values_to_not_be_null (every reading present): " \
           "1 of 12 rows" in message
    assert "mpi_roof_2024b.csv: column 'Date Time': expect_column_values_to_match_regex" in message
    assert "e.g. ['2024-01-01 00:50']" in message


def test_raw_suite_reports_a_missing_column_once_by_name() -> None:
    frame = raw_station_frame().drop(columns=["T (degC)"])

    result = run_suite(jena_raw_table(frame), raw_suite_for(frame), "mpi_roof_2024a.csv")

    assert len(result.failed_hard) == 1  # no cascade of errors from the expectations on that column
    finding = result.failed_hard[0]
    assert finding["expectation"] == "expect_table_columns_to_match_set"
    assert finding["observed"]["missing"] == ["T (degC)"]
    with pytest.raises(ValidationFailed, match=r"mpi_roof_2024a\.csv: expect_table_columns_to_match_set .*"
                                               r"'missing': \['T \(degC\)'\]"):
        raise_on_failure("jena", "raw", [result])


def test_raw_suite_on_the_classic_layout_reports_wind_sentinels_that_normalization_repairs() -> None:
    frame = fixtures.classic_frame(300).round(2)
    frame["Date Time"] = frame["Date Time"].astype("string")

    raw = run_suite(jena_raw_table(frame), raw_suite_for(frame), "jena_climate_2009_2016.csv")

    assert jena_dropped_columns(frame) == ()  # the classic file has only the 14 kept columns
    assert raw.success
    soft = by_kind(raw.failed_soft)
    for column in ("wv (m/s)", "max. wv (m/s)"):
        assert soft[("expect_column_values_to_not_be_in_set", column)]["unexpected_count"] == 1
        assert soft[("expect_column_values_to_be_between", column)]["examples"] == [JENA_SENTINEL]
    assert soft[("expect_column_values_to_be_unique", PARSED_TIMESTAMP)]["unexpected_count"] == 2

    table, report = normalize_jena([("jena_climate_2009_2016.csv.zip", frame)])
    assert report["repairs"]["sentinels_interpolated"] == {"wv (m/s)": 1, "max. wv (m/s)": 1}
    assert report["repairs"]["repeated_timestamps_dropped"] == 1
    assert report["gap_count"] == 1 and report["missing_steps"] == 36
    row = int(np.flatnonzero(frame["wv (m/s)"].to_numpy() == JENA_SENTINEL)[0]) - 1  # one repeat dropped before it
    neighbours = table["wv (m/s)"].iloc[[row - 1, row + 1]].mean()
    assert table["wv (m/s)"].iloc[row] == pytest.approx(neighbours, abs=1e-5)

    normalized = run_suite(jena_arrow(table).to_pandas(), jena_normalized_suite(min_rows=len(table)), "jena.parquet")
    assert normalized.success and normalized.failed_soft == [] and normalized.evaluated == 5 + 3 * 14


# ---------------------------------------------------------------------------------------------------------------
# Jena, normalized: every expectation hard
# ---------------------------------------------------------------------------------------------------------------
def normalized_frame() -> pd.DataFrame:
    table, _ = normalize_jena([("a.csv", raw_station_frame())])
    return jena_arrow(table).to_pandas()


def test_normalized_suite_fails_hard_on_disorder_float64_and_out_of_range_values() -> None:
    frame = normalized_frame()
    frame = frame.iloc[[0, 2, 1, *range(3, len(frame))]].reset_index(drop=True)
    frame["wd (deg)"] = frame["wd (deg)"].astype("float64")
    frame.loc[5, "T (degC)"] = np.float32(81.5)

    result = run_suite(frame, jena_normalized_suite(min_rows=len(frame)), "jena.parquet")

    hard = by_kind(result.failed_hard)
    assert set(hard) == {
        ("expect_column_values_to_be_increasing", "timestamp"),
        ("expect_column_values_to_be_of_type", "wd (deg)"),
        ("expect_column_values_to_be_between", "T (degC)"),
    }
    assert hard[("expect_column_values_to_be_between", "T (degC)")]["examples"] == [81.5]
    assert hard[("expect_column_values_to_be_of_type", "wd (deg)")]["observed"] == "float64"
    assert result.failed_soft == []


def test_normalized_suite_fails_on_columns_out_of_order() -> None:
    frame = normalized_frame()
    frame = frame[["timestamp", *reversed(JENA_FEATURES)]]

    result = run_suite(frame, jena_normalized_suite(min_rows=len(frame)), "jena.parquet")

    assert [f["expectation"] for f in result.failed_hard] == ["expect_table_columns_to_match_ordered_list"]


def test_validate_normalized_jena_task_finds_what_run_suite_finds_in_one_batch(tmp_path) -> None:
    """The task checks float32 values on a float64 copy (GX is slow on float32): the findings must not change."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = normalized_frame()
    frame.loc[5, "T (degC)"] = np.float32(81.5)
    frame.loc[7, "rh (%)"] = np.float32(100.25)  # not exact in float32 decimal form: compared as the same number
    frame["wd (deg)"] = frame["wd (deg)"].astype("float64")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "jena.parquet")
    direct = run_suite(frame, jena_normalized_suite(), "jena.parquet")

    with pytest.raises(ValidationFailed, match="jena normalized data failed validation"):
        validate_normalized_jena.fn("jena", tmp_path, tmp_path / "validation")

    (batch,) = json.loads((tmp_path / "validation" / "jena.normalized.json").read_text())["batches"]
    assert batch["evaluated"] == direct.evaluated == 5 + 3 * 14
    summary = {(f["expectation"], f["column"], f["unexpected_count"]) for f in batch["failed_hard"]}
    assert summary == {(f["expectation"], f["column"], f["unexpected_count"]) for f in direct.failed_hard} == {
        ("expect_column_values_to_be_between", "T (degC)", 1),
        ("expect_column_values_to_be_between", "rh (%)", 1),
        ("expect_column_values_to_be_of_type", "wd (deg)", None),
        ("expect_table_row_count_to_be_between", None, None),  # 12 rows, far fewer than JENA_MIN_ROWS
    }


def test_jena_min_rows_is_the_fewest_rows_whose_splits_each_hold_one_window_of_the_default_settings() -> None:
    from tasks.core.config import TrainSettings
    from tasks.core.errors import DataFormatError
    from tasks.model.splits import split_rows

    window_rows = TrainSettings(model="jena_conv").lookback + TrainSettings(model="jena_conv").delay + 1  # rows r - lookback .. r + delay
    for rows in range(JENA_MIN_ROWS, JENA_MIN_ROWS + 200):  # and every length above: rounding never takes it back
        split_rows(rows, min_rows=window_rows)
    with pytest.raises(DataFormatError, match="val split"):  # 6,665 rows: 1 row short in val
        split_rows(JENA_MIN_ROWS - 1, min_rows=window_rows)


def test_normalized_suite_fails_hard_on_fewer_rows_than_the_splits_need() -> None:
    frame = normalized_frame()  # 12 rows

    short = run_suite(frame, jena_normalized_suite(), "jena.parquet")
    enough = run_suite(frame, jena_normalized_suite(min_rows=len(frame)), "jena.parquet")

    (finding,) = short.failed_hard
    assert finding["expectation"] == "expect_table_row_count_to_be_between"
    assert finding["observed"] == 12 and finding["arguments"]["min_value"] == JENA_MIN_ROWS
    assert f"{JENA_MIN_ROWS:,}" in finding["why"]
    assert enough.success
    with pytest.raises(ValidationFailed, match=r"jena\.parquet: expect_table_row_count_to_be_between .*observed 12"):
        raise_on_failure("jena", "normalized", [short])


# ---------------------------------------------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------------------------------------------
def test_results_to_json_keeps_every_batch_and_the_overall_verdict() -> None:
    good = SuiteResult("jena.raw", "mpi_roof_2024a.csv", 10, evaluated=54,
                       failed_soft=[{"expectation": "x", "column": "wv (m/s)"}])
    missing = {"expectation": "expect_column_values_to_not_be_null", "why": "every reading present",
               "column": "rh (%)", "unexpected_count": 1, "examples": [None], "observed": None}
    bad = SuiteResult("jena.raw", "mpi_roof_2024b.csv", 12, evaluated=54, failed_hard=[missing])

    document = json.loads(results_to_json("jena", "raw", [good, bad], extra={"sources": ["a", "b"]}))

    assert document["dataset"] == "jena" and document["stage"] == "raw" and document["success"] is False
    assert [b["success"] for b in document["batches"]] == [True, False]
    assert document["batches"][0]["failed_soft"] == [{"expectation": "x", "column": "wv (m/s)"}]
    assert document["sources"] == ["a", "b"]
    raise_on_failure("jena", "raw", [good])
    with pytest.raises(ValidationFailed, match=r"(?s)jena raw data failed validation:\n  - mpi_roof_2024b.csv: "
                                               r"column 'rh \(%\)'.*1 of 12 rows; e.g. \[None\]"):
        raise_on_failure("jena", "raw", [good, bad])
