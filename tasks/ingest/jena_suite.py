"""Which expectations the Jena weather must meet: on each raw file, what must hold (hard) and what normalization
will repair (soft); on the normalized table about to be published, everything, hard.
"""

from __future__ import annotations

import pandas as pd

from tasks.core.sources import JENA_FEATURES, JENA_SENTINEL, JENA_TIMESTAMP
from tasks.ingest.suite_runner import expect

# Plausible physical ranges at the Jena roof station (155 m above sea level); the classic 2009-2016 file stays well
# inside them once its -9999 sentinels are repaired. Units are in the column names.
PHYSICAL_RANGES: dict[str, tuple[float, float]] = {
    "p (mbar)": (850.0, 1100.0),
    "T (degC)": (-50.0, 50.0),
    "Tpot (K)": (220.0, 330.0),
    "Tdew (degC)": (-60.0, 40.0),
    "rh (%)": (0.0, 100.0),
    "VPmax (mbar)": (0.0, 130.0),
    "VPact (mbar)": (0.0, 130.0),
    "VPdef (mbar)": (0.0, 130.0),
    "sh (g/kg)": (0.0, 80.0),
    "H2OC (mmol/mol)": (0.0, 130.0),
    "rho (g/m**3)": (950.0, 1500.0),
    "wv (m/s)": (0.0, 100.0),
    "max. wv (m/s)": (0.0, 100.0),
    "wd (deg)": (0.0, 360.0),
}
TIMESTAMP_REGEX = r"^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2}$"  # dd.mm.yyyy HH:MM:SS
PARSED_TIMESTAMP = "parsed timestamp"  # derived raw column: NaT where `Date Time` does not parse
# The fewest rows a Jena table may be published with: the smallest length from which on tasks.model.splits.split_rows
# gives every split (train, val, test, in the book's proportions) room for one window of the default settings,
# lookback + delay + 1 = 1440 + 144 + 1 rows. Val is the tightest split (100,000 / 420,551 of the rows): 1585 rows
# need 6,664, but rounding the split boundaries takes 6,665 back below, so 6,666. A number here because
# tasks.model imports TensorFlow, which ingestion does not need; tests/unit/test_validate.py pins it to
# split_rows and TrainSettings.
JENA_MIN_ROWS = 6_666


def jena_raw_suite(dropped_columns: tuple[str, ...] | list[str] = ()):
    """Checks on one raw Jena file: what must hold (hard) and what normalization will repair (soft).

    Args:
        dropped_columns: numeric columns of the file that normalization does not keep (the station files' 7
            newer ones, see `jena_dropped_columns`); their -9999 sentinels are reported (soft), not repaired.
    """
    import great_expectations as gx

    expectations = [
        expect(
            "ExpectTableColumnsToMatchSet", True, "the 15 classic columns by name",
            column_set=[JENA_TIMESTAMP, *JENA_FEATURES], exact_match=False,
        ),
        expect(
            "ExpectColumnValuesToMatchRegex", True, "timestamps look like dd.mm.yyyy HH:MM:SS",
            column=JENA_TIMESTAMP, regex=TIMESTAMP_REGEX,
        ),
        expect(
            "ExpectColumnValuesToNotBeNull", True, "timestamps parse as dd.mm.yyyy HH:MM:SS",
            column=PARSED_TIMESTAMP,
        ),
        expect("ExpectColumnValuesToBeUnique", False,
                "repeated timestamps (identical rows repaired: one kept; other readings refused by normalization)",
                column=PARSED_TIMESTAMP),
        expect("ExpectColumnValuesToBeIncreasing", False, "rows in time order (repaired: sorted)",
                column=PARSED_TIMESTAMP),
    ]
    for column in JENA_FEATURES:
        low, high = PHYSICAL_RANGES[column]
        expectations += [
            expect("ExpectColumnValuesToNotBeNull", True, "every reading present", column=column),
            expect(
                "ExpectColumnValuesToNotBeInSet", False, "-9999 marks a missing reading (repaired: interpolated)",
                column=column, value_set=[JENA_SENTINEL],
            ),
            expect(
                "ExpectColumnValuesToBeBetween", False, "physical range (sentinels repaired before the hard check)",
                column=column, min_value=low, max_value=high,
            ),
        ]
    expectations += [
        expect(
            "ExpectColumnValuesToNotBeInSet", False, "-9999 marks a missing reading (column not kept: dropped)",
            column=column, value_set=[JENA_SENTINEL],
        )
        for column in dropped_columns
    ]
    return gx.ExpectationSuite(name="jena.raw", expectations=expectations)


def jena_normalized_suite(min_rows: int = JENA_MIN_ROWS):
    """Checks on the normalized Jena table: all hard, the dataset is published only if every one holds.

    Args:
        min_rows: the fewest rows allowed (JENA_MIN_ROWS: every split holds a window of the default settings).
    """
    import great_expectations as gx

    expectations = [
        expect(
            "ExpectTableRowCountToBeBetween", True,
            f"at least {min_rows:,} rows, so that every split holds a window (lookback + delay + 1 rows)",
            min_value=min_rows,
        ),
        expect(
            "ExpectTableColumnsToMatchOrderedList", True, "timestamp then the 14 features",
            column_list=["timestamp", *JENA_FEATURES],
        ),
        expect("ExpectColumnValuesToNotBeNull", True, "every timestamp present", column="timestamp"),
        expect("ExpectColumnValuesToBeUnique", True, "one row per timestamp", column="timestamp"),
        expect(
            "ExpectColumnValuesToBeIncreasing", True, "sorted by time", column="timestamp", strictly=True,
        ),
    ]
    for column in JENA_FEATURES:
        low, high = PHYSICAL_RANGES[column]
        expectations += [
            expect("ExpectColumnValuesToNotBeNull", True, "every reading present", column=column),
            expect(
                "ExpectColumnValuesToBeBetween", True, "physical range", column=column, min_value=low, max_value=high,
            ),
            expect("ExpectColumnValuesToBeOfType", True, "stored as float32", column=column, type_="float32"),
        ]
    return gx.ExpectationSuite(name="jena.normalized", expectations=expectations)


def jena_dropped_columns(frame: pd.DataFrame) -> tuple[str, ...]:
    """The numeric columns of a raw Jena frame that normalization drops (not the timestamp, not the 14 features)."""
    kept = (JENA_TIMESTAMP, *JENA_FEATURES)
    return tuple(c for c in frame.columns if c not in kept and pd.api.types.is_numeric_dtype(frame[c]))


def jena_raw_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The raw frame plus the parsed timestamp column the raw suite checks."""
    table = frame.copy(deep=False)
    if JENA_TIMESTAMP in frame.columns:
        table[PARSED_TIMESTAMP] = pd.to_datetime(
            frame[JENA_TIMESTAMP].astype("string").str.strip(), format="%d.%m.%Y %H:%M:%S", errors="coerce"
        )
    return table
