"""A user's time series: one CSV file's rows read as their spec's [record] says (tasks.core.datasets.Record): each
row's time (UTC where the spec names a zone) and its readings as numbers, missing ones NaN. tasks.ingest.series_grid
combines the files on the record's grid.

Nothing about any one record is known here: the time column (or the columns of its parts, or the text columns that
hold it together), its format and zone, the missing-value markers, the decimal mark, the columns to use, drop or
one-hot all come from the spec. A reading that is missing is a gap, never a zero. Errors name the file, line and
column.

Memory: a file is read CHUNK_ROWS rows at a time as text, each chunk checked and turned into a time and one number
per reading (float32, as published, unless a repair computes values: reading_dtype) written into arrays sized once
for the file (Filled) before the next chunk is read (tasks.ingest.series_file); so what grows with the rows is
about what training holds, and 8 bytes a row for each row's file and line (BENCHMARKS.md, section 13).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from tasks.core.datasets import TIME_PARTS, Record
from tasks.core.errors import DataFormatError
from tasks.ingest.series_file import SeriesFile

TIME = "timestamp"  # the published table's time column (as Jena's)


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
