"""A user's time series: CSV files read as their spec's [record] says (tasks.core.datasets.Record), combined into one
table on the record's grid (timestamp, then the features as float32) with every repair and gap recorded.

Nothing about any one record is known here: the time column (or the columns of its parts), its format and zone,
the interval, the missing-value markers, the columns to use, drop or one-hot, the duplicate rule and the fill rule
all come from the spec. A reading that is missing is a gap (its row leaves the grid) or, where the spec says
`fill = "interpolate"`, interpolated from its neighbours; never a zero. Errors name the file, line and column.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from tasks.core.datasets import TIME_PARTS, DatasetSpec, Record
from tasks.core.errors import DataFormatError
from tasks.ingest.jena_weather import grid_gaps, rows_moved_by_sorting

TIME = "timestamp"  # the published table's time column (as Jena's)
_FILE, _LINE = "__file", "__line"  # where each row came from, while files are combined (for messages)


# ---------------------------------------------------------------------------------------------------------------
# One file
# ---------------------------------------------------------------------------------------------------------------
def read_series_csv(path: Path, record: Record, spec_path: str) -> pd.DataFrame:
    """`parse_series_csv`, memoized per file version (the raw suite and normalization read the same files). Treat
    the frame as read-only."""
    path = Path(path).resolve()
    stat = path.stat()
    return _cached(path, stat.st_size, stat.st_mtime_ns, record.encoding, record.delimiter, spec_path)


@functools.lru_cache(maxsize=8)
def _cached(path: Path, size: int, mtime_ns: int, encoding: str, delimiter: str, spec_path: str) -> pd.DataFrame:
    return parse_series_csv(path, encoding, delimiter, spec_path)


def time_columns(record: Record) -> tuple[str, ...]:
    """The columns that time a row: `time`, or the columns of `time_parts`."""
    return (record.time,) if record.time else tuple(record.time_parts.values())


def check_record(record: Record, spec_path: str) -> None:
    """What a spec's [record] must say for this reader, beyond its types; errors name the spec file and key."""
    from tasks.core.datasets import DUPLICATES, FILLS, SpecError

    if bool(record.time) == bool(record.time_parts):
        raise SpecError(f"{spec_path}: record.time or record.time_parts: name the time column, or the columns of "
                        f"its parts, not {'both' if record.time else 'neither'}")
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


def parse_series_csv(path: Path, encoding: str, delimiter: str, spec_path: str) -> pd.DataFrame:
    """One CSV of a user's record: its columns by name (stripped), every cell as text (stripped)."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, encoding=encoding, sep=delimiter, dtype="string",
                            keep_default_na=False, skipinitialspace=True)
    except UnicodeDecodeError:  # its offsets are within a chunk pandas decoded: find the line itself
        line, byte, column = undecodable(path, encoding)
        raise DataFormatError(f"{path}: line {line}: byte 0x{byte:02x} (character {column}) is not {encoding} "
                              f"(record.encoding of {spec_path})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataFormatError(f"{path}: not a readable CSV ({error})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise DataFormatError(f"{path}: a header and no data rows; expected at least one reading")
    for column in frame.columns:
        frame[column] = frame[column].str.strip()
    return frame


def undecodable(path: Path, encoding: str) -> tuple[int, int, int]:
    """(line, byte, character position in the line, from 1) of the first byte of a file that is not `encoding`."""
    for number, line in enumerate(Path(path).read_bytes().split(b"\n"), 1):
        try:
            line.decode(encoding)
        except UnicodeDecodeError as error:
            return number, line[error.start], len(line[: error.start].decode(encoding, errors="replace")) + 1
    return 0, 0, 0


def needed_columns(record: Record) -> tuple[str, ...]:
    """Every column the spec names, each once."""
    named = [*time_columns(record), *record.features, record.target, *record.drop, *record.one_hot,
             *record.ranges, *record.missing_by_column]
    return tuple(dict.fromkeys(named))


def file_rows(name: str, frame: pd.DataFrame, record: Record, spec_path: str) -> tuple[pd.DataFrame, dict]:
    """One file's rows: the time (UTC where the spec names a zone) and the numeric readings, missing ones NaN.

    Returns:
        (the rows: timestamp, then numeric features, then one-hot columns; the counts of missing readings by
        column and the columns not used).
    Raises:
        DataFormatError: a column the spec names is missing, a time does not parse (its first row), a column
            holds text and is neither dropped nor one-hot, or a category is not the spec's.
    """
    absent = [c for c in needed_columns(record) if c not in frame.columns]
    if absent:
        raise DataFormatError(f"{name}: no column {absent[0]!r} (named in {spec_path}); it has "
                              f"{', '.join(repr(c) for c in frame.columns)}")
    stamps = parse_times(name, frame, record, spec_path)
    skip = {*time_columns(record), *record.drop, *record.one_hot}
    candidates = list(record.features) or [c for c in frame.columns if c not in skip]
    missing_marks = set(record.missing_text)
    values, missing = {}, {}
    for column in candidates:
        text = frame[column]
        marks = [*record.missing, *record.missing_by_column.get(column, [])]
        absent_cell = text.isin(missing_marks | {str(m) for m in marks if not _is_number(m)})
        numbers = pd.to_numeric(text.mask(absent_cell), errors="coerce")
        bad = numbers.isna() & ~absent_cell
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataFormatError(
                f"{name}: line {row + 2}: column {column!r} holds {text.iloc[row]!r}, not a number; a text column "
                f"must be dropped (record.drop) or one-hot (record.one_hot) in {spec_path}")
        numbers = numbers.astype("float64").mask(numbers.isin([float(m) for m in marks if _is_number(m)]))
        values[column] = numbers
        if int(numbers.isna().sum()):
            missing[column] = int(numbers.isna().sum())
    for column, categories in record.one_hot.items():
        text = frame[column]
        absent_cell = text.isin(missing_marks)
        unknown = ~text.isin(categories) & ~absent_cell
        if unknown.any():
            row = int(np.flatnonzero(unknown.to_numpy())[0])
            raise DataFormatError(f"{name}: line {row + 2}: column {column!r} holds {text.iloc[row]!r}, not one of "
                                  f"its categories {categories} (record.one_hot.{column} of {spec_path})")
        for category in categories:
            values[f"{column}={category}"] = (text == category).astype("float64").mask(absent_cell)
        if absent_cell.any():
            missing[column] = int(absent_cell.sum())
    rows = pd.DataFrame(values)
    rows.insert(0, TIME, stamps)
    unused = [c for c in frame.columns if c not in skip and c not in candidates]
    return rows, {"missing": missing, "unused": unused}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_times(name: str, frame: pd.DataFrame, record: Record, spec_path: str) -> pd.Series:
    """The time of every row as datetime64[s]: UTC where the spec names a zone, else as given; the first row that
    does not parse is an error naming it."""
    if record.time:
        text = frame[record.time]
        if record.time_format:
            stamps = pd.to_datetime(text, format=record.time_format, errors="coerce")
        else:
            stamps = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=bool(record.time_zone) or None)
        described = f"column {record.time!r} holds {{value!r}}, not a time" + (
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
        value = "/".join(frame[c].iloc[row] for c in time_columns(record))
        raise DataFormatError(f"{name}: line {row + 2}: " + described.format(value=value))
    if record.time_zone:
        if getattr(stamps.dt, "tz", None) is None:
            try:
                stamps = stamps.dt.tz_localize(record.time_zone, ambiguous="infer", nonexistent="NaT")
            except Exception as error:  # noqa: BLE001 - an ambiguous hour that cannot be inferred
                raise DataFormatError(f"{name}: a local time of {record.time_zone} cannot be placed in UTC "
                                      f"({error}); give UTC offsets in the times") from None
            if stamps.isna().any():
                row = int(np.flatnonzero(stamps.isna().to_numpy())[0])
                raise DataFormatError(f"{name}: line {row + 2}: {frame[time_columns(record)[0]].iloc[row]!r} does "
                                      f"not exist in {record.time_zone} (a clock change)")
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    elif getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.astype("datetime64[s]")


# ---------------------------------------------------------------------------------------------------------------
# The files combined
# ---------------------------------------------------------------------------------------------------------------
def combine_series(frames: list[tuple[str, pd.DataFrame]], spec: DatasetSpec) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The files of a record as one table on its grid, sorted, one row per time, and a report of every repair.

    Args:
        frames: (file name, frame from read_series_csv) in any order; the result does not depend on it.
    Raises:
        DataFormatError: as file_rows; a time repeated with other readings (unless record.duplicates picks a
            rule); a record with no complete row.
    """
    record, interval = spec.record, spec.record.interval_minutes
    names = [name for name, _ in frames]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DataFormatError(f"{twice[0]} is given {names.count(twice[0])} times; expected each source file once")
    parts, missing, unused, moved = [], {}, {}, 0
    for name, frame in sorted(frames, key=lambda item: item[0]):
        rows, facts = file_rows(name, frame, record, spec.path)
        rows[_FILE], rows[_LINE] = name, np.arange(len(rows)) + 2
        moved += rows_moved_by_sorting(rows[TIME].to_numpy().astype("int64"))
        parts.append(rows)
        for column, n in facts["missing"].items():
            missing[column] = missing.get(column, 0) + n
        if facts["unused"]:
            unused[name] = facts["unused"]
    columns = list(parts[0].columns.drop([TIME, _FILE, _LINE]))
    for name, part in zip(sorted(names), parts):
        if list(part.columns.drop([TIME, _FILE, _LINE])) != columns:
            raise DataFormatError(f"{name}: columns {list(part.columns.drop([TIME, _FILE, _LINE]))} differ from "
                                  f"the other files' {columns}; name the features in record.features")
    if record.target not in columns:
        raise DataFormatError(f"{spec.path}: record.target {record.target!r} is not a numeric column of the data")
    table = pd.concat(parts, ignore_index=True).sort_values(TIME, kind="stable", ignore_index=True)
    check_interval(table, spec)

    repeated = table[TIME].duplicated(keep="first")
    identical = table.duplicated(subset=[TIME, *columns], keep="first")
    conflicting = repeated & ~identical
    resolved = int(conflicting.sum())
    if resolved and record.duplicates == "error":
        row = int(np.flatnonzero(conflicting.to_numpy())[0])
        other = table.iloc[row]
        first = table[table[TIME] == other[TIME]].iloc[0]
        raise DataFormatError(
            f"{resolved} row(s) repeat a time with other readings (first: {other[TIME]}: {first[_FILE]} line "
            f"{first[_LINE]} and {other[_FILE]} line {other[_LINE]}); fix the rows, or pick a rule: record."
            f"duplicates = \"first\", \"last\" or \"mean\" in {spec.path}")
    table = table[~(repeated & identical)]
    if resolved:
        keep = {"first": "first", "last": "last", "mean": "mean"}[record.duplicates]
        table = table.groupby(TIME, sort=True, as_index=False)[columns].agg(keep)
    table = table[[TIME, *columns]].reset_index(drop=True)

    seconds = table[TIME].to_numpy().astype("datetime64[s]").astype(np.int64)
    off_grid = seconds % (interval * 60) != 0
    table = table[~off_grid].reset_index(drop=True)

    if record.fill == "interpolate":  # the Jena reader's repair, on the rows in time order
        interpolated = {c: int(table[c].isna().sum()) for c in columns if table[c].isna().any()}
        for column in interpolated:
            table[column] = table[column].interpolate(method="linear", limit_direction="both")
        dropped = 0
    else:  # a row with a missing reading leaves the grid: windows see the hole (max_gap_minutes)
        interpolated = {}
        incomplete = table[columns].isna().any(axis=1)
        dropped = int(incomplete.sum())
        table = table[~incomplete].reset_index(drop=True)
    if table.empty:
        raise DataFormatError(f"{', '.join(sorted(names))}: no row with every reading on the {spec.record.interval} "
                              f"grid; expected at least one")
    for column in columns:
        table[column] = table[column].astype("float32")
    report = {
        "rows": len(table),
        "first": str(table[TIME].iloc[0]),
        "last": str(table[TIME].iloc[-1]),
        "features": columns,
        "repairs": {
            "repeated_timestamps_dropped": int((repeated & identical).sum()),
            "repeated_timestamps": {"identical": int((repeated & identical).sum()), "conflicting": resolved,
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


def check_interval(table: pd.DataFrame, spec: DatasetSpec) -> None:
    """Refuse a record that is not sampled on its spec's interval: the most common step between its times is
    another, or most of its rows are off the grid. A few rows off the grid are gaps, not this error.

    Args:
        table: the rows of every file, sorted by time, with the _FILE and _LINE columns.
    """
    step = spec.record.interval_minutes * 60
    seconds = table[TIME].to_numpy().astype("datetime64[s]").astype(np.int64)
    steps = np.diff(np.unique(seconds))
    if not len(steps):
        return
    values, counts = np.unique(steps, return_counts=True)
    modal = int(values[counts.argmax()])
    off = seconds % step != 0
    if modal == step and off.mean() <= 0.5:
        return
    row = table.iloc[int(np.flatnonzero(off)[0]) if off.any() else int(np.flatnonzero(np.diff(seconds) != step)[0]) + 1]
    raise DataFormatError(
        f"{row[_FILE]}: line {row[_LINE]}: {row[TIME]} is off the {spec.record.interval} grid of record.interval in "
        f"{spec.path}: the most common step between rows is {modal / 60:g} minutes and {int(off.sum()):,} of "
        f"{len(seconds):,} rows are off the grid; set record.interval to the record's sampling interval")


def series_arrow(table: pd.DataFrame) -> pa.Table:
    """The published layout of every series dataset: timestamp[s], then the features as float32."""
    features = [c for c in table.columns if c != TIME]
    schema = pa.schema([pa.field(TIME, pa.timestamp("s"), nullable=False)]
                       + [pa.field(c, pa.float32()) for c in features])
    return pa.Table.from_pandas(table, schema=schema, preserve_index=False)
