"""Which expectations a user's time series must meet, made from its spec: on each raw file the columns it names, its
times and its declared ranges; on the table about to be published, everything, hard.
"""

from __future__ import annotations

import pandas as pd

from tasks.core.datasets import DatasetSpec
from tasks.ingest.series_csv import TIME, needed_columns
from tasks.ingest.suite_runner import expect, stored_bounds


def series_raw_suite(spec: DatasetSpec, rows: pd.DataFrame):
    """Checks on one raw file's rows (series_csv.file_rows: timestamp, then readings with missing ones NaN): what
    must hold (hard) and what normalization repairs (soft)."""
    import great_expectations as gx

    record = spec.record
    features = [c for c in rows.columns if c != TIME]
    expectations = [
        expect("ExpectTableRowCountToBeBetween", True, "at least one reading", min_value=1),
        expect("ExpectColumnValuesToNotBeNull", True, "every time parses", column=TIME),
        expect("ExpectColumnValuesToBeUnique", False,
               f"repeated times (identical rows: one kept; others: record.duplicates = {record.duplicates!r})",
               column=TIME),
        expect("ExpectColumnValuesToBeIncreasing", False, "rows in time order (repaired: sorted)", column=TIME),
    ]
    for column in features:
        expectations.append(expect("ExpectColumnValuesToNotBeNull", False,
                                   f"every reading present (missing: record.fill = {record.fill!r})", column=column))
    for column, bounds in record.ranges.items():
        low, high = stored_bounds(*bounds)
        for name in [c for c in features if c == column]:
            expectations.append(expect("ExpectColumnValuesToBeBetween", True, f"record.ranges.{column} of the spec",
                                       column=name, min_value=low, max_value=high))
    return gx.ExpectationSuite(name=f"{spec.name}.raw", expectations=expectations)


def series_normalized_suite(spec: DatasetSpec, features: list[str], min_rows: int):
    """Checks on the table about to be published: all hard.

    Args:
        features: its feature columns, in order.
        min_rows: the fewest rows: one window of the spec's settings (lookback + delay + 1 rows) in each of the
            three splits.
    """
    import great_expectations as gx

    expectations = [
        expect("ExpectTableRowCountToBeBetween", True,
               f"at least {min_rows:,} rows: a window (lookback + delay + 1 rows) for each of train, val and test",
               min_value=min_rows),
        expect("ExpectTableColumnsToMatchOrderedList", True, "timestamp then the features",
               column_list=[TIME, *features]),
        expect("ExpectColumnValuesToNotBeNull", True, "every timestamp present", column=TIME),
        expect("ExpectColumnValuesToBeUnique", True, "one row per time", column=TIME),
        expect("ExpectColumnValuesToBeIncreasing", True, "sorted by time", column=TIME, strictly=True),
    ]
    for column in features:
        expectations += [
            expect("ExpectColumnValuesToNotBeNull", True, "every reading present (gaps are missing rows)",
                   column=column),
            expect("ExpectColumnValuesToBeOfType", True, "stored as float32", column=column, type_="float32"),
        ]
        if column in spec.record.ranges:
            low, high = stored_bounds(*spec.record.ranges[column])
            expectations.append(expect("ExpectColumnValuesToBeBetween", True, f"record.ranges.{column}",
                                       column=column, min_value=low, max_value=high))
    return gx.ExpectationSuite(name=f"{spec.name}.normalized", expectations=expectations)


def columns_named(spec: DatasetSpec) -> tuple[str, ...]:
    """Every column the spec names (what the raw files must hold)."""
    return needed_columns(spec.record)
