"""A user's time series combined: the rows of every file (tasks.ingest.series_csv) joined into one table on the
record's grid, sorted, one row per time, repeats resolved by the spec's rule, the interval inferred or checked, every
repair and gap recorded; and the published table written and read back a column at a time.

Memory: combining holds the files' rows once: they are joined, sorted and filtered one column at a time
(take_rows), repeated times are found from the sorted times, and whole-table arithmetic runs BLOCK_ROWS at a time
(BENCHMARKS.md, section 13).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from tasks.core.datasets import DatasetSpec, duration_text, with_interval
from tasks.core.errors import DataFormatError
from tasks.ingest.jena_weather import grid_gaps, rows_moved_by_sorting
from tasks.ingest.series_csv import TIME, file_rows
from tasks.ingest.series_file import SeriesFile

_FILE, _LINE = "__file", "__line"  # where each row came from, while files are combined (for messages)
BLOCK_ROWS = 1 << 18  # rows a whole-table computation's temporaries cover at once (2 MiB of int64)


def combine_series(frames: list[tuple[str, SeriesFile]], spec: DatasetSpec) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The files of a record as one table on its grid, sorted, one row per time, and a report of every repair.

    Args:
        frames: (file name, read_series_csv's file) in any order; the result does not depend on it.
    Returns:
        (the table; the report, with the interval the rows are on and whether it was inferred from their times).
    Raises:
        DataFormatError: as file_rows; a time repeated with other readings (unless record.duplicates picks a
            rule); a record with no complete row; times off the interval named, or with no interval to infer.
        SpecError: a duration of the spec that is not a whole number of rows of the inferred interval.
    """
    record = spec.record
    inferred = spec.awaits_interval
    names = [name for name, _ in frames]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DataFormatError(f"{twice[0]} is given {names.count(twice[0])} times; expected each source file once")
    parts, missing, unused, moved, columns, read = [], {}, {}, 0, None, {}
    for index, (name, frame) in enumerate(sorted(frames, key=lambda item: item[0])):
        rows, facts = file_rows(name, frame, record, spec.path)
        if columns is None:
            columns = list(rows.columns.drop(TIME))
        elif list(rows.columns.drop(TIME)) != columns:
            raise DataFormatError(f"{name}: columns {list(rows.columns.drop(TIME))} differ from "
                                  f"the other files' {columns}; name the features in record.features")
        rows[_FILE] = np.int32(index)  # an index into the sorted names, not a string a row
        rows[_LINE] = np.arange(2, len(rows) + 2, dtype=np.int32)
        moved += rows_moved_by_sorting(seconds_of(rows))
        parts.append(rows)
        for column, n in facts["missing"].items():
            missing[column] = missing.get(column, 0) + n
        if facts["unused"]:
            unused[name] = facts["unused"]
        read[name] = facts["rows"]
    if record.target not in columns:
        raise DataFormatError(f"{spec.path}: record.target {record.target!r} is not a numeric column of the data")
    table = parts[0] if len(parts) == 1 else pd.DataFrame(  # one column at a time, each file's let go as it joins
        {c: np.concatenate([part.pop(c).to_numpy() for part in parts]) for c in list(parts[0].columns)}, copy=False)
    del parts
    if not table[TIME].is_monotonic_increasing:  # sorted only when the rows are out of order
        table = take_rows(table, np.argsort(table[TIME].to_numpy(), kind="stable"), list(table.columns))
    sorted_names = sorted(names)
    spec = on_grid(table, spec, sorted_names)
    interval = spec.record.interval_minutes

    # the rows are in time order: a repeated time is its row's predecessor's (no hash table of every time)
    same = np.diff(seconds_of(table)) == 0
    repeated = np.concatenate([[False], same])  # a time seen before (duplicated(keep="first"))
    shared = repeated.copy()  # a time more than one row has (duplicated(keep=False))
    shared[:-1] |= same
    del same
    identical = np.zeros(len(table), dtype=bool)
    if shared.any():  # compare whole rows only where a time repeats
        identical[shared] = table[shared].duplicated(subset=[TIME, *columns], keep="first").to_numpy()
    conflicting = repeated & ~identical
    resolved = int(conflicting.sum())
    if resolved and record.duplicates == "error":
        row = int(np.flatnonzero(conflicting)[0])
        other = table.iloc[row]
        first = table[table[TIME] == other[TIME]].iloc[0]
        raise DataFormatError(
            f"{resolved} row(s) repeat a time with other readings (first: {other[TIME]}: "
            f"{sorted_names[int(first[_FILE])]} line {int(first[_LINE])} and {sorted_names[int(other[_FILE])]} "
            f"line {int(other[_LINE])}); fix the rows, or pick a rule: record."
            f"duplicates = \"first\", \"last\" or \"mean\" in {spec.path}")
    identical_dropped = int((repeated & identical).sum())
    keep = ~(repeated & identical)
    if resolved:
        rule = {"first": "first", "last": "last", "mean": "mean"}[record.duplicates]
        table = table[keep].groupby(TIME, sort=True, as_index=False)[columns].agg(rule)
        keep = np.ones(len(table), dtype=bool)

    # off the grid, then (where gaps are left as gaps) missing a reading: one mask, one copy of the rows kept
    seconds = seconds_of(table)
    off_grid = keep & off_the_grid(seconds, interval * 60)
    keep &= ~off_grid
    del seconds
    if record.fill == "interpolate":
        incomplete = np.zeros(len(table), dtype=bool)
    else:  # a row with a missing reading leaves the grid: windows see the hole (max_gap_minutes)
        incomplete = np.zeros(len(table), dtype=bool)
        for column in columns:
            incomplete |= table[column].isna().to_numpy()
        incomplete &= keep
        keep &= ~incomplete
    table = take_rows(table, slice(None) if keep.all() else keep, [TIME, *columns])
    dropped = int(incomplete.sum())

    interpolated = {}
    if record.fill == "interpolate":  # the Jena reader's repair, on the rows in time order
        interpolated = {c: int(table[c].isna().sum()) for c in columns if table[c].isna().any()}
        for column in interpolated:
            table[column] = table[column].interpolate(method="linear", limit_direction="both")
    if table.empty:
        raise DataFormatError(f"{', '.join(sorted(names))}: no row with every reading on the {spec.record.interval} "
                              f"grid; expected at least one")
    for column in columns:
        if table[column].dtype != np.float32:
            table[column] = table[column].astype("float32")
    report = {
        "interval": spec.record.interval,  # named, or inferred from the times: the grid every stage reads it on
        "interval_inferred": inferred,
        "rows": len(table),
        "rows_read": read,  # by file
        "first": str(table[TIME].iloc[0]),
        "last": str(table[TIME].iloc[-1]),
        "features": columns,
        "repairs": {
            "repeated_timestamps_dropped": identical_dropped,
            "repeated_timestamps": {"identical": identical_dropped, "conflicting": resolved,
                                    "rule": record.duplicates},
            "missing_readings": missing,  # by column, before the fill rule
            "rows_with_missing_readings_dropped": dropped,
            "readings_interpolated": interpolated,
            "off_grid_rows_dropped": int(off_grid.sum()),
            "rows_out_of_order_sorted": moved,
            "columns_not_used": unused,
        },
        **grid_gaps(table[TIME], interval),
    }
    return table, report


def take_rows(table: pd.DataFrame, rows: np.ndarray | slice, columns: list[str]) -> pd.DataFrame:
    """`table[columns]` at `rows` (positions, a mask or a slice), made one column at a time, each column popped
    from `table` (which is emptied) and let go as its new values are made: the rows are held about once, never
    twice, where pandas' take would copy every column before freeing any (2x the table at its peak)."""
    return pd.DataFrame({column: table.pop(column).to_numpy()[rows] for column in columns}, copy=False)


def seconds_of(table: pd.DataFrame) -> np.ndarray:
    """The rows' times as int64 seconds since 1970, a view of the time column (no copy: it is datetime64[s])."""
    return table[TIME].to_numpy().astype("datetime64[s]", copy=False).view(np.int64)


def off_the_grid(seconds: np.ndarray, step: int) -> np.ndarray:
    """Which times (int64 seconds) are not a multiple of `step` seconds, BLOCK_ROWS at a time: a remainder for
    every row at once would cost 8 bytes a row, the answer costs one."""
    off = np.empty(len(seconds), dtype=bool)
    for start in range(0, len(seconds), BLOCK_ROWS):
        np.not_equal(seconds[start:start + BLOCK_ROWS] % step, 0, out=off[start:start + BLOCK_ROWS])
    return off


def on_grid(table: pd.DataFrame, spec: DatasetSpec, names: list[str]) -> DatasetSpec:
    """The spec on its record's grid: the interval it names, or where it names none the one inferred from the
    times (infer_interval, its durations resolved on it); either way the times checked against it (check_interval).

    Args:
        table: the rows of every file, sorted by time, with the _FILE (an index into `names`) and _LINE columns.
    """
    seconds = seconds_of(table)  # sorted: the steps between distinct times are its nonzero differences
    steps = np.diff(seconds)
    steps = steps[steps != 0]  # 8 bytes a row, the times only (no sorted copy, as np.unique makes)
    inferred = spec.awaits_interval
    if inferred:
        spec = with_interval(spec, infer_interval(table, seconds, steps, spec, names), ", ".join(names))
    check_interval(table, seconds, steps, spec, names, inferred)
    return spec


def infer_interval(table: pd.DataFrame, seconds: np.ndarray, steps: np.ndarray, spec: DatasetSpec,
                   names: list[str]) -> str:
    """The interval of a record whose spec names none: the most common step between its consecutive distinct
    times, as a duration. It must dominate: the steps that are it or a whole number of it (a gap of missing rows)
    must be at least half of all; else the record has no interval to infer (an irregular one).

    Args:
        seconds: the table's times, sorted, in seconds; steps: the differences of its distinct ones.
    Raises:
        DataFormatError: one time only; an irregular interval (naming the two most common steps and the file and
            line of the first time off the most common one); a most common step that is not whole minutes.
    """
    if not len(steps):
        raise DataFormatError(f"{', '.join(names)}: every row has the same time ({table[TIME].iloc[0]}): no interval "
                              f"to infer; name record.interval in {spec.path}")
    values, counts = np.unique(steps, return_counts=True)
    order = np.argsort(-counts, kind="stable")  # most common first; a tie goes to the shorter step
    modal = int(values[order[0]])
    off = steps % modal != 0
    if off.mean() > 0.5:
        at = int(np.flatnonzero(off)[0])  # steps[at] leads from one distinct time to the next
        distinct = np.unique(seconds)
        row = table.iloc[int(np.searchsorted(seconds, distinct[at + 1]))]
        common = [f"{_step_text(int(values[i]))} ({counts[i] / len(steps):.0%} of them)" for i in order[:2]]
        raise DataFormatError(
            f"{names[int(row[_FILE])]}: line {int(row[_LINE])}: irregular interval: {row[TIME]} comes "
            f"{_step_text(int(steps[at]))} after the time before it, and no step between the record's times "
            f"dominates (the most common are {' and '.join(common)}): name record.interval in {spec.path} (rows "
            "off its grid are then gaps)")
    if modal % 60:
        raise DataFormatError(f"{', '.join(names)}: the most common step between times is {_step_text(modal)}; an "
                              f"interval is a whole number of minutes: name record.interval in {spec.path}")
    return duration_text(modal // 60)


def _step_text(seconds: int) -> str:
    return duration_text(seconds // 60) if seconds % 60 == 0 else f"{seconds}s"


def check_interval(table: pd.DataFrame, seconds: np.ndarray, steps: np.ndarray, spec: DatasetSpec,
                   names: list[str], inferred: bool = False) -> None:
    """Refuse a record that is not sampled on its interval: the most common step between its times is another,
    or most of its rows are off the grid (whole intervals from midnight UTC). A few rows off the grid are gaps,
    not this error.

    Args:
        table: the rows of every file, sorted by time, with the _FILE (an index into `names`) and _LINE columns.
        seconds: its times in seconds; steps: the differences of its distinct times.
        inferred: whether the spec's interval was inferred from these times (the message says so).
    """
    step = spec.record.interval_minutes * 60
    if not len(steps):
        return
    values, counts = np.unique(steps, return_counts=True)
    modal = int(values[counts.argmax()])
    off = off_the_grid(seconds, step)
    if modal == step and off.mean() <= 0.5:
        return
    row = table.iloc[int(np.flatnonzero(off)[0]) if off.any() else int(np.flatnonzero(np.diff(seconds) != step)[0]) + 1]
    grid = (f"the {spec.record.interval} grid inferred from the data (record.interval is not named in {spec.path})"
            if inferred else f"the {spec.record.interval} grid of record.interval in {spec.path}")
    raise DataFormatError(
        f"{names[int(row[_FILE])]}: line {int(row[_LINE])}: {row[TIME]} is off {grid}: the most common step "
        f"between rows is {modal / 60:g} minutes and {int(off.sum()):,} of {len(seconds):,} rows are off the grid; "
        + ("a grid's rows fall on whole intervals from midnight UTC: shift the times onto it" if inferred
           else "set record.interval to the record's sampling interval"))


def series_arrow(table: pd.DataFrame) -> pa.Table:
    """The published layout of every series dataset: timestamp[s], then the features as float32."""
    features = [c for c in table.columns if c != TIME]
    schema = pa.schema([pa.field(TIME, pa.timestamp("s"), nullable=False)]
                       + [pa.field(c, pa.float32()) for c in features])
    return pa.Table.from_pandas(table, schema=schema, preserve_index=False)


def read_published(path: Path) -> pd.DataFrame:
    """A published series file as a frame, read one column at a time: each column's numbers are Arrow's, not
    copied (float32 and timestamps convert without a copy), so the rows are held once, not as an Arrow table and
    a pandas copy of it (3x at the peak)."""
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    columns = {}
    for name in file.schema_arrow.names:
        columns[name] = np.array(file.read(columns=[name]).column(0).to_numpy(), copy=True)
        pa.default_memory_pool().release_unused()  # the column as Arrow read it, and its decoded pages
    return pd.DataFrame(columns, copy=False)

