"""The Jena weather table: the station's raw CSVs parsed, combined into one table (sorted, one row per timestamp,
-9999 sentinels repaired, every repair and grid gap recorded), as Arrow (timestamp plus the 14 features as
float32), and the published table read back.
"""

from __future__ import annotations

import bisect
import functools
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tasks.core.errors import DataFormatError
from tasks.core.sources import (
    JENA_ENCODING,
    JENA_FEATURES,
    JENA_SENTINEL,
    JENA_STEP_MINUTES,
    JENA_TIMESTAMP,
    JENA_TIMESTAMP_FORMAT,
)


def read_jena_csv(path: Path) -> pd.DataFrame:
    """`parse_jena_csv`, memoized per file version: the raw suite and normalization read the same files in one
    process, and parsing a classic-size CSV costs seconds. Treat the frame as read-only."""
    path = Path(path).resolve()
    stat = path.stat()
    return _parse_jena_csv_cached(path, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _parse_jena_csv_cached(path: Path, size: int, mtime_ns: int) -> pd.DataFrame:
    return parse_jena_csv(path)


def parse_jena_csv(path: Path) -> pd.DataFrame:
    """One raw Jena CSV as written by the station or the classic archive, with numeric feature columns.

    Handles latin-1 headers, quoted or unquoted names, space-padded values and CRLF. A missing column is left
    for the raw suite to report; a cell that is not a number is an error naming the file, line and column.
    """
    path = Path(path)
    try:
        frame = pd.read_csv(
            path, encoding=JENA_ENCODING, skipinitialspace=True, dtype={JENA_TIMESTAMP: "string"}, low_memory=False
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise DataFormatError(f"{path}: not a readable CSV ({e})") from e
    if frame.empty:  # every suite passes an empty column; left alone, it would publish an empty dataset
        raise DataFormatError(f"{path}: a header and no data rows; expected at least one reading")
    frame.columns = [str(c).strip() for c in frame.columns]
    for column in JENA_FEATURES:
        if column not in frame.columns or pd.api.types.is_numeric_dtype(frame[column]):
            continue
        text = frame[column].astype("string").str.strip()
        numbers = pd.to_numeric(text, errors="coerce")
        bad = numbers.isna() & text.notna() & (text != "")
        if bad.any():
            rows = np.flatnonzero(bad.to_numpy())
            examples = ", ".join(f"line {r + 2}: {text.iloc[r]!r}" for r in rows[:3])
            raise DataFormatError(
                f"{path}: column {column!r} has {len(rows)} non-numeric cell(s) ({examples}); expected numbers"
            )
        frame[column] = numbers.astype("float64")
    return frame


def normalize_jena(frames: list[tuple[str, pd.DataFrame]]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Combine raw Jena files into one table: sorted, one row per timestamp, sentinels repaired.

    Args:
        frames: (file name, raw frame from `read_jena_csv`) in any order; they may overlap. The result does not
            depend on their order: they are taken by name.
    Returns:
        The table (timestamp, then the 14 features as float32) and a report of every repair and grid gap.
    Raises:
        DataFormatError: a file given twice or without rows, an unparseable timestamp, or a timestamp repeated
            with other readings (within a file or between two), naming the files, lines and values.
    """
    names = [name for name, _ in frames]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise DataFormatError(f"{twice[0]} is given {names.count(twice[0])} times; expected each source file once")
    # By name, so that which of two identical repeats is kept, the report's order and the bytes written never
    # depend on the order the files were listed in.
    frames = sorted(frames, key=lambda item: item[0])
    parts, sentinels_elsewhere, moved = [], {}, 0
    for name, frame in frames:
        if frame.empty:
            raise DataFormatError(f"{name}: no data rows; expected at least one reading")
        stamps = pd.to_datetime(frame[JENA_TIMESTAMP].str.strip(), format=JENA_TIMESTAMP_FORMAT, errors="coerce")
        if stamps.isna().any():
            row = int(np.flatnonzero(stamps.isna().to_numpy())[0])
            raise DataFormatError(f"{name}: line {row + 2}: {JENA_TIMESTAMP} {frame[JENA_TIMESTAMP].iloc[row]!r} "
                                  f"is not dd.mm.yyyy HH:MM:SS")
        part = frame[list(JENA_FEATURES)].astype("float64")
        part.insert(0, "timestamp", stamps.astype("datetime64[s]"))
        part[_FILE], part[_LINE] = name, np.arange(len(frame)) + 2  # line 1 is the header
        parts.append(part)
        moved += rows_moved_by_sorting(part["timestamp"].to_numpy().astype("int64"))
        for column in frame.columns:
            if column not in JENA_FEATURES and pd.api.types.is_numeric_dtype(frame[column]):
                n = int((frame[column] == JENA_SENTINEL).sum())
                if n:
                    sentinels_elsewhere[f"{name}: {column}"] = n
    # Stable: rows of one timestamp stay in file-name, then line order, so "the first" below is well defined.
    table = pd.concat(parts, ignore_index=True).sort_values("timestamp", kind="stable", ignore_index=True)

    repeated = table["timestamp"].duplicated(keep="first")
    identical = table.duplicated(subset=["timestamp", *JENA_FEATURES], keep="first")
    raise_on_conflicts(table, repeated & ~identical)
    table = table[~repeated].drop(columns=[_FILE, _LINE]).reset_index(drop=True)

    # -9999 is "no reading": interpolate from the neighbouring readings in time rather than zero it (the keras-io
    # example sets wind speed to 0), so a calm minute is not invented inside a storm.
    sentinels = {}
    for column in JENA_FEATURES:
        missing = table[column] == JENA_SENTINEL
        if missing.any():
            sentinels[column] = int(missing.sum())
            table[column] = table[column].mask(missing).interpolate(method="linear", limit_direction="both")
    for column in JENA_FEATURES:
        table[column] = table[column].astype("float32")

    report = {
        "rows": len(table),
        "first": str(table["timestamp"].iloc[0]) if len(table) else None,
        "last": str(table["timestamp"].iloc[-1]) if len(table) else None,
        "repairs": {
            "repeated_timestamps_dropped": int(repeated.sum()),
            # "conflicting" is kept in the record's shape for readers of older versions; it is always 0 now.
            "repeated_timestamps": {"identical": int(repeated.sum()), "conflicting": 0},
            "sentinels_interpolated": sentinels,
            "rows_out_of_order_sorted": moved,
            "sentinels_in_dropped_columns": sentinels_elsewhere,
        },
        **grid_gaps(table["timestamp"]),
    }
    return table, report


_FILE, _LINE = "__file", "__line"  # where each row came from, while files are combined (for messages)
CONFLICT_EXAMPLES = 5  # repeated timestamps with other readings shown in the error


def rows_moved_by_sorting(values: np.ndarray) -> int:
    """How many rows sorting had to move: the rows minus the longest run already in order (a longest
    non-decreasing subsequence). A row written late counts once, not once per order break it makes.

    Args:
        values: (rows,) the sort keys of one file, in file order.
    """
    values = np.asarray(values)
    if len(values) < 2 or bool(np.all(values[1:] >= values[:-1])):  # the usual case, without the loop below
        return 0
    tails: list = []  # tails[k]: the smallest last value of an in-order run of k + 1 rows so far
    for value in values.tolist():
        k = bisect.bisect_right(tails, value)
        if k == len(tails):
            tails.append(value)
        else:
            tails[k] = value
    return len(values) - len(tails)


def raise_on_conflicts(table: pd.DataFrame, conflicting: pd.Series) -> None:
    """Refuse rows that repeat an earlier row's timestamp with other readings: which one is right cannot be told,
    and keeping "the first" would let the order of the files decide.

    Args:
        table: the combined rows sorted by timestamp, with the _FILE and _LINE columns.
        conflicting: True where a row repeats an earlier row's timestamp but not its readings.
    """
    if not conflicting.any():
        return
    rows = np.flatnonzero(conflicting.to_numpy())
    firsts = table.drop_duplicates("timestamp", keep="first").set_index("timestamp")
    examples = []
    for row in rows[:CONFLICT_EXAMPLES]:
        other = table.iloc[row]
        first = firsts.loc[other["timestamp"]]
        columns = [c for c in JENA_FEATURES if not (first[c] == other[c] or (pd.isna(first[c]) and pd.isna(other[c])))]
        examples.append(
            f"{other['timestamp']}: {first[_FILE]} line {first[_LINE]} has "
            + ", ".join(f"{c} {first[c]}" for c in columns[:2])
            + f", {other[_FILE]} line {other[_LINE]} has "
            + ", ".join(f"{other[c]}" for c in columns[:2])
            + (f" (and {len(columns) - 2} more column(s))" if len(columns) > 2 else "")
        )
    raise DataFormatError(
        f"{len(rows)} row(s) repeat a timestamp with other readings, and which is right cannot be told "
        f"(first {len(examples)}: " + "; ".join(examples) + "); expected one reading per timestamp: fix or remove "
        "the wrong rows, or leave out the file that holds them"
    )


def canonical_sources(sources: list[dict]) -> list[dict]:
    """Jena sources ({"name", "sha256", ...}) in one order whatever order they were given in: by name, then digest.

    Raises:
        DataFormatError: a source is given twice, by name or as the same bytes under two names.
    """
    ordered = sorted(sources, key=lambda s: (s["name"], s["sha256"]))
    for earlier, later in itertools.pairwise(ordered):
        if earlier["name"] == later["name"]:
            raise DataFormatError(f"{later['name']} is given twice; expected each source file once")
    by_digest: dict[str, str] = {}
    for source in ordered:
        if source["sha256"] in by_digest:
            raise DataFormatError(
                f"{by_digest[source['sha256']]} and {source['name']} are the same file (sha256 {source['sha256']}); "
                f"expected each source file once"
            )
        by_digest[source["sha256"]] = source["name"]
    return ordered


def grid_gaps(timestamps: pd.Series, step_minutes: int | None = None) -> dict[str, Any]:
    """Where the grid (Jena's 10 minutes, or `step_minutes`) has holes (recorded, not filled: windowing must not
    cross them)."""
    seconds = timestamps.to_numpy().astype("datetime64[s]", copy=False).view(np.int64)  # no copy where [s] already
    step = (step_minutes or JENA_STEP_MINUTES) * 60
    diffs = np.diff(seconds)
    holes = np.flatnonzero(diffs > step)
    gaps = [
        {
            "after": str(timestamps.iloc[i]),
            "before": str(timestamps.iloc[i + 1]),
            "row": int(i + 1),  # first row after the gap
            "missing_steps": int(diffs[i] // step - 1),
            "hours": round(float(diffs[i]) / 3600, 2),
        }
        for i in holes
    ]
    return {
        "gaps": gaps,
        "gap_count": len(gaps),
        "missing_steps": int(sum(g["missing_steps"] for g in gaps)),
        "off_grid_timestamps": int((seconds % step != 0).sum()),
    }


def jena_arrow(table: pd.DataFrame) -> pa.Table:
    schema = pa.schema(
        [pa.field("timestamp", pa.timestamp("s"), nullable=False)] + [pa.field(c, pa.float32()) for c in JENA_FEATURES]
    )
    return pa.Table.from_pandas(table, schema=schema, preserve_index=False)


def timestamps_of(table: pa.Table) -> np.ndarray:
    """The table's timestamps as int64 seconds: Parquet has no seconds unit, so a timestamp[s] column comes back
    as timestamp[ms]; cast to seconds first."""
    return table.column("timestamp").cast(pa.timestamp("s")).cast(pa.int64()).to_numpy()


def read_jena_seconds(path: Path) -> np.ndarray:
    """The published Jena table's timestamps alone (int64 seconds), read without its features."""
    return timestamps_of(pq.read_table(path, columns=["timestamp"]))


def feature_columns(path: Path) -> tuple[str, ...]:
    """The feature columns of a published series table, in order: every column but the timestamp (a spec's
    features, one-hot columns included, as its reader wrote them)."""
    return tuple(name for name in pq.read_schema(path).names if name != "timestamp")


def read_jena(path: Path, features: tuple[str, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps (int64 seconds) and features (float32, (rows, features)) of a published series table: Jena's,
    or any series dataset's when its spec's `features` are named (the same layout: timestamp, then features)."""
    columns = list(features or JENA_FEATURES)
    table = pq.read_table(path, columns=["timestamp", *columns])
    seconds = timestamps_of(table)
    features = np.stack([table.column(c).to_numpy() for c in columns], axis=1).astype(np.float32)
    return seconds, features  # (rows,), (rows, features)
