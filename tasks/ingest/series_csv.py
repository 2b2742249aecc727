"""A user's time series: CSV files read as their spec's [record] says (tasks.core.datasets.Record), combined into one
table on the record's grid (timestamp, then the features as float32) with every repair and gap recorded.

Nothing about any one record is known here: the time column (or the columns of its parts), its format and zone,
the interval (or that it is inferred from the times: infer_interval), the missing-value markers, the columns to
use, drop or one-hot, the duplicate rule and the fill rule all come from the spec. A reading that is missing is a gap (its row leaves the grid) or, where the spec says
`fill = "interpolate"`, interpolated from its neighbours; never a zero. Errors name the file, line and column.

Memory: a file is read CHUNK_ROWS rows at a time as text, each chunk checked and turned into a time and one number
per reading (float32, as published, unless a repair computes values: reading_dtype) written into arrays sized once
for the file (Filled) before the next chunk is read (tasks.ingest.series_file). Combining holds those rows once:
files are joined, sorted and filtered one column at a time (take_rows), repeated times are found from the sorted
times, and whole-table arithmetic runs BLOCK_ROWS at a time; so what grows with the rows is about what training
holds, 8 bytes a row for each row's file and line, and a few one-byte masks (BENCHMARKS.md, section 13).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from tasks.core.datasets import TIME_PARTS, DatasetSpec, Record, duration_text, with_interval
from tasks.core.errors import DataFormatError
from tasks.ingest.jena_weather import grid_gaps, rows_moved_by_sorting
from tasks.ingest.series_file import SeriesFile

TIME = "timestamp"  # the published table's time column (as Jena's)
_FILE, _LINE = "__file", "__line"  # where each row came from, while files are combined (for messages)
BLOCK_ROWS = 1 << 18  # rows a whole-table computation's temporaries cover at once (2 MiB of int64)


# ---------------------------------------------------------------------------------------------------------------
# One file
# ---------------------------------------------------------------------------------------------------------------
def read_series_csv(path: Path, record: Record, spec_path: str) -> SeriesFile:
    """One CSV of a user's record (or a zip of one), to be read by `file_rows`."""
    return SeriesFile(Path(path).resolve(), record.encoding, record.delimiter, spec_path)


def time_columns(record: Record) -> tuple[str, ...]:
    """The columns that time a row: `time`, the columns of `time_parts`, or `time_columns`."""
    return (record.time,) if record.time else tuple(record.time_parts.values()) or record.time_columns


def check_record(record: Record, spec_path: str) -> None:
    """What a spec's [record] must say for this reader, beyond its types; errors name the spec file and key."""
    from tasks.core.datasets import DUPLICATES, FILLS, SpecError

    given = [key for key in ("time", "time_parts", "time_columns") if getattr(record, key)]
    if len(given) != 1:
        raise SpecError(f"{spec_path}: record.time, record.time_parts or record.time_columns: name the time column, "
                        f"the columns of its parts, or the text columns that hold it together, not "
                        f"{' and '.join(given) if given else 'none of them'}")
    if record.time_columns and len(record.time_columns) < 2:
        raise SpecError(f"{spec_path}: record.time_columns: two or more columns (a date and a clock time); one "
                        f"column is record.time")
    if record.decimal not in (".", ","):
        raise SpecError(f"{spec_path}: record.decimal={record.decimal!r}; allowed: '.', ','")
    if record.decimal == record.delimiter:
        raise SpecError(f"{spec_path}: record.decimal and record.delimiter are both {record.delimiter!r}; a "
                        f"decimal comma needs another delimiter (e.g. ';')")
    unknown = sorted(set(record.time_parts) - set(TIME_PARTS))
    if unknown or record.time_parts and not {"year", "month", "day"} <= set(record.time_parts):
        raise SpecError(f"{spec_path}: record.time_parts: keys from {', '.join(TIME_PARTS)}, with year, month and "
                        f"day; got {', '.join(record.time_parts)}")
    if record.fill not in FILLS:
        raise SpecError(f"{spec_path}: record.fill={record.fill!r}; allowed: {', '.join(FILLS)}")
    if record.duplicates not in DUPLICATES:
        raise SpecError(f"{spec_path}: record.duplicates={record.duplicates!r}; allowed: {', '.join(DUPLICATES)}")
    for column, bounds in record.ranges.items():
        if not (isinstance(bounds, list) and len(bounds) == 2 and all(isinstance(b, (int, float)) for b in bounds)
                and bounds[0] <= bounds[1]):
            raise SpecError(f"{spec_path}: record.ranges.{column}: expected [low, high], not {bounds!r}")
    for column, categories in record.one_hot.items():
        if not (isinstance(categories, list) and categories and all(isinstance(c, str) for c in categories)):
            raise SpecError(f"{spec_path}: record.one_hot.{column}: expected a list of its categories, "
                            f"not {categories!r}")
    if record.features and record.target not in record.features:
        raise SpecError(f"{spec_path}: record.target {record.target!r} is not one of record.features")
    if record.time_zone:
        try:
            pd.Timestamp("2000-01-01").tz_localize(record.time_zone)
        except Exception:  # noqa: BLE001 - pytz and zoneinfo raise different types for an unknown zone
            raise SpecError(f"{spec_path}: record.time_zone={record.time_zone!r} is not a time zone "
                            "(e.g. Europe/Berlin, UTC)") from None


def needed_columns(record: Record) -> tuple[str, ...]:
    """Every column the spec names, each once."""
    named = [*time_columns(record), *record.features, record.target, *record.drop, *record.one_hot,
             *record.ranges, *record.missing_by_column]
    return tuple(dict.fromkeys(named))


def reading_dtype(record: Record) -> type:
    """The type readings are held in while a record is read and combined: float32, as published and trained on,
    unless a repair computes new values (interpolation, the mean of repeated rows): those are computed from the
    readings as written, in float64, and only their results rounded to float32."""
    return np.float64 if record.fill == "interpolate" or record.duplicates == "mean" else np.float32


def file_rows(name: str, file: SeriesFile, record: Record, spec_path: str) -> tuple[pd.DataFrame, dict]:
    """One file's rows: the time (UTC where the spec names a zone) and the numeric readings, missing ones NaN.

    The file is read CHUNK_ROWS rows at a time, each chunk's cells checked and turned into numbers before the next
    is read; what is kept is a time and one number (reading_dtype) per reading, and two counts per column.

    Returns:
        (the rows: timestamp, then numeric features, then one-hot columns; the counts of missing readings by
        column, the columns not used and the rows read).
    Raises:
        DataFormatError: a column the spec names is missing, a time does not parse (its first row), a column
            holds text and is neither dropped nor one-hot, or a category is not the spec's.
    """
    header = file.header()
    absent = [c for c in needed_columns(record) if c not in header]
    if absent:
        raise DataFormatError(f"{name}: no column {absent[0]!r} (named in {spec_path}); it has "
                              f"{', '.join(repr(c) for c in header)}")
    skip = {*time_columns(record), *record.drop, *record.one_hot}
    candidates = list(record.features) or [c for c in header if c not in skip]
    dtype = reading_dtype(record)
    missing_marks = set(record.missing_text)
    kept, missing, rows, written = Filled(file.rows_at_most()), {}, 0, False
    for frame in file.chunks({*time_columns(record), *candidates, *record.one_hot}):
        first = rows + 2  # the file line of the chunk's first row (the header is line 1)
        chunk_stamps, written = parse_times(name, frame, record, spec_path, first)
        kept.put(TIME, chunk_stamps, rows)
        for column in candidates:
            text = frame[column]
            marks = [*record.missing, *record.missing_by_column.get(column, [])]
            absent_cell = text.isin(missing_marks | {str(m) for m in marks if not _is_number(m)})
            dotted = text if record.decimal == "." else text.str.replace(",", ".", regex=False)
            numbers = pd.to_numeric(dotted.mask(absent_cell), errors="coerce")
            bad = numbers.isna() & ~absent_cell
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataFormatError(
                    f"{name}: line {row + first}: column {column!r} holds {text.iloc[row]!r}, not a number; a text "
                    f"column must be dropped (record.drop) or one-hot (record.one_hot) in {spec_path}")
            numbers = numbers.astype("float64").mask(numbers.isin([float(m) for m in marks if _is_number(m)]))
            kept.put(column, numbers.to_numpy(dtype=dtype), rows)
            missing[column] = missing.get(column, 0) + int(numbers.isna().sum())
        for column, categories in record.one_hot.items():
            text = frame[column]
            absent_cell = text.isin(missing_marks)
            unknown = ~text.isin(categories) & ~absent_cell
            if unknown.any():
                row = int(np.flatnonzero(unknown.to_numpy())[0])
                raise DataFormatError(f"{name}: line {row + first}: column {column!r} holds {text.iloc[row]!r}, "
                                      f"not one of its categories {categories} (record.one_hot.{column} of "
                                      f"{spec_path})")
            for category in categories:
                kept.put(f"{column}={category}",
                         (text == category).astype("float64").mask(absent_cell).to_numpy(dtype=dtype), rows)
            missing[column] = missing.get(column, 0) + int(absent_cell.sum())
        rows += len(frame)
    if not rows:
        raise DataFormatError(f"{file.path}: a header and no data rows; expected at least one reading")
    empty = [c for c in candidates if missing.get(c, 0) == rows]
    if empty:  # e.g. the unnamed column a trailing delimiter makes: every row would be a gap
        raise DataFormatError(f"{name}: column {empty[0]!r} (column {header.index(empty[0]) + 1}) holds no reading "
                              f"in any of its {rows} rows; drop it (record.drop) or name the columns to use "
                              f"(record.features) in {spec_path}")
    pa.default_memory_pool().release_unused()  # the chunks' text lived in Arrow's pool: give it back, not keep it
    times = localized(name, file, kept.pop(TIME, rows), written, record)
    table = pd.DataFrame({TIME: times, **{column: kept.pop(column, rows) for column in kept.columns()}}, copy=False)
    unused = [c for c in header if c not in skip and c not in candidates]
    return table, {"missing": {c: n for c, n in missing.items() if n}, "unused": unused, "rows": rows}


class Filled:
    """A file's columns, filled chunk by chunk into arrays made once, at the first chunk, for the file's most rows
    (SeriesFile.rows_at_most). Kept as each chunk's small arrays, the readings sat between the chunks' freed text,
    and the C allocator could not give those holes back: the heap held 2.5 times the table. Grown (a copy) only
    where the bound fell short."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.arrays: dict[str, np.ndarray] = {}

    def put(self, column: str, values: np.ndarray, at: int) -> None:
        """Write `values` (one chunk's) into `column` from row `at`."""
        array = self.arrays.get(column)
        if array is None:
            array = self.arrays[column] = np.empty(max(self.capacity, at + len(values)), values.dtype)
        elif at + len(values) > len(array):
            array = self.arrays[column] = np.concatenate(
                [array, np.empty(max(len(array), at + len(values) - len(array)), array.dtype)])
        array[at:at + len(values)] = values

    def columns(self) -> list[str]:
        return list(self.arrays)

    def pop(self, column: str, rows: int) -> np.ndarray:
        """`column`'s first `rows` values (a view), no longer held here."""
        return self.arrays.pop(column)[:rows]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_times(name: str, frame: pd.DataFrame, record: Record, spec_path: str,
                first: int = 2) -> tuple[np.ndarray, bool]:
    """The time of every row of a chunk (whose first row is file line `first`) as datetime64[s], and whether they
    are local times of the spec's zone still to be placed in UTC (`localized` does that over the whole file, so
    a clock change is seen whole); a time that gives its UTC offset is in UTC. The first row that does not parse
    is an error naming it."""
    if record.time or record.time_columns:
        text = frame[record.time] if record.time else frame[record.time_columns[0]].str.cat(
            [frame[c] for c in record.time_columns[1:]], sep=" ")
        shown = (f"column {record.time!r} holds" if record.time
                 else f"columns {' + '.join(repr(c) for c in record.time_columns)} hold")
        if record.time_format:
            stamps = pd.to_datetime(text, format=record.time_format, errors="coerce")
        else:
            stamps = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=bool(record.time_zone) or None)
        described = f"{shown} {{value!r}}, not a time" + (
            f" as {record.time_format!r} (record.time_format of {spec_path})" if record.time_format
            else f" in ISO 8601 (set record.time_format in {spec_path})")
    else:
        parts = {part: pd.to_numeric(frame[column], errors="coerce").astype("float64")  # NaN, not <NA>
                 for part, column in record.time_parts.items()}
        stamps = pd.to_datetime(pd.DataFrame(parts), errors="coerce")
        columns = "/".join(record.time_parts.values())
        described = f"{columns} hold {{value!r}}, not a time (record.time_parts of {spec_path})"
    if stamps.isna().any():
        row = int(np.flatnonzero(stamps.isna().to_numpy())[0])
        value = (" " if record.time_columns else "/").join(frame[c].iloc[row] for c in time_columns(record))
        raise DataFormatError(f"{name}: line {row + first}: " + described.format(value=value))
    written = getattr(stamps.dt, "tz", None) is None and bool(record.time_zone)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.astype("datetime64[s]").to_numpy(), written


def localized(name: str, file: SeriesFile, stamps: np.ndarray, written: bool, record: Record) -> np.ndarray:
    """A file's times (parse_times' chunks joined) in UTC: local ones (`written`) placed in the spec's zone."""
    if not written:
        return stamps
    local = pd.Series(stamps)
    try:
        placed = local.dt.tz_localize(record.time_zone, ambiguous="infer", nonexistent="NaT")
    except Exception as error:  # noqa: BLE001 - an ambiguous hour that cannot be inferred
        raise DataFormatError(f"{name}: a local time of {record.time_zone} cannot be placed in UTC "
                              f"({error}); give UTC offsets in the times") from None
    if placed.isna().any():
        row = int(np.flatnonzero(placed.isna().to_numpy())[0])
        column = time_columns(record)[0]
        seen = 0
        for chunk in file.chunks({column}):  # read again for the one cell the message names
            if row < seen + len(chunk):
                break
            seen += len(chunk)
        raise DataFormatError(f"{name}: line {row + 2}: {chunk[column].iloc[row - seen]!r} does "
                              f"not exist in {record.time_zone} (a clock change)")
    return placed.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[s]").to_numpy()


# ---------------------------------------------------------------------------------------------------------------
# The files combined
# ---------------------------------------------------------------------------------------------------------------
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

