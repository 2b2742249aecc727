"""The Jena station's files: its CSVs (raw or zipped, parsed by tasks.ingest) and a published jena.parquet, read
as the readings were measured, for forecasting (tasks.serve.series).

Times are station time on a 10-minute grid, written dd.mm.yyyy HH:MM:SS in the files; -9999 marks a reading the
station did not make. Everything here is a plain function; pandas and the ingest stage are imported inside them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tasks.core.errors import PredictInputError
from tasks.core.sources import (
    JENA_FEATURES,
    JENA_SENTINEL,
    JENA_STEP_MINUTES,
    JENA_TARGET,
    JENA_TIMESTAMP,
    JENA_TIMESTAMP_FORMAT,
)

TEN_MINUTES = JENA_STEP_MINUTES * 60  # seconds between two readings of the station's grid


def station_time(seconds: int | np.integer) -> str:
    """A time as the station files write it (dd.mm.yyyy HH:MM:SS), for messages: findable in the file."""
    return np.datetime64(int(seconds), "s").item().strftime(JENA_TIMESTAMP_FORMAT)


@dataclass(frozen=True)
class StationData:
    """Station readings as they were measured: sorted, one row per time, -9999 left in place (not repaired)."""

    seconds: np.ndarray  # (rows,) int64 seconds since 1970 of each reading (station time), strictly increasing
    features: np.ndarray  # (rows, features) float64 readings; JENA_SENTINEL or NaN where there was none
    columns: tuple[str, ...]  # the feature names, in the column order of `features`
    source: str  # the file names, for messages
    notes: tuple[str, ...]  # what loading changed: repeated times dropped (a repeated row, or files overlapping)


def load_station_frames(paths: Sequence[Path], features: Sequence[str] = JENA_FEATURES) -> StationData:
    """The readings of station CSV files (raw, or zipped) or of a published jena.parquet, combined.

    CSVs are parsed by tasks.ingest.normalize (latin-1, quoted or unquoted headers, padded values, CRLF); unlike
    ingestion, -9999 is left in place so that forecast_windows can tell a missing reading from a real one. Rows
    are sorted by time; a repeated time keeps its first row (as ingestion does). A published Parquet had its
    -9999 interpolated at ingestion.

    Args:
        paths: station files (`.csv`, `.zip`) and/or `.parquet` tables (or a published dataset folder holding
            jena.parquet, e.g. data/processed/jena), in any order; they may overlap.
        features: the columns to read, in the model's order (normalization.json's "features").

    Returns:
        The combined readings.

    Raises:
        PredictInputError: if no path is given, a file is missing or lacks one of `features` (naming both), or a
            time is not dd.mm.yyyy HH:MM:SS (naming the line).
        DataFormatError: from tasks.ingest.normalize, on a file that is not a readable CSV or holds a non-number.
    """
    import pandas as pd

    from tasks.ingest import read_jena, read_jena_csv  # imports pandas, pyarrow and Prefect

    features = tuple(features)
    if not paths:
        raise PredictInputError("no station file given; expected at least one .csv, .zip or .parquet")
    parts_seconds, parts_values, names = [], [], []
    for path in map(Path, paths):
        if path.is_dir() and (path / "jena.parquet").is_file():
            path = path / "jena.parquet"
        names.append(path.name)
        if not path.is_file():
            raise PredictInputError(f"{path}: no such file")
        if path.suffix.lower() == ".parquet":
            seconds, values = read_jena(path)  # JENA_FEATURES order
            missing = [c for c in features if c not in JENA_FEATURES]
            if missing:
                raise PredictInputError(f"{path}: no column(s) {missing}; it has {list(JENA_FEATURES)}")
            values = values[:, [JENA_FEATURES.index(c) for c in features]].astype(np.float64)
        else:
            frame = read_jena_csv(path)  # memoized and shared: read only
            missing = [c for c in (JENA_TIMESTAMP, *features) if c not in frame.columns]
            if missing:
                raise PredictInputError(f"{path}: no column(s) {missing}; the header has {list(frame.columns)}")
            text = frame[JENA_TIMESTAMP].astype("string").str.strip()
            stamps = pd.to_datetime(text, format=JENA_TIMESTAMP_FORMAT, errors="coerce")
            if stamps.isna().any():
                row = int(np.flatnonzero(stamps.isna().to_numpy())[0])
                raise PredictInputError(f"{path}: line {row + 2}: {JENA_TIMESTAMP} {text.iloc[row]!r} is not "
                                        "dd.mm.yyyy HH:MM:SS")
            seconds = stamps.to_numpy().astype("datetime64[s]").astype(np.int64)
            values = frame[list(features)].to_numpy(dtype=np.float64)
        parts_seconds.append(seconds)
        parts_values.append(values)

    seconds = np.concatenate(parts_seconds)
    values = np.concatenate(parts_values)  # (rows, features)
    order = np.argsort(seconds, kind="stable")  # a stable sort: of a repeated time, the first file's row first
    seconds, values = seconds[order], values[order]
    keep = np.concatenate([[True], np.diff(seconds) != 0])
    notes = []
    if not keep.all():
        first = station_time(seconds[np.flatnonzero(~keep)[0]])
        notes.append(f"{int((~keep).sum())} repeated time(s) dropped, the first row of each kept (first: {first})")
    return StationData(seconds[keep], values[keep], features, ", ".join(names), tuple(notes))


def observed_temperature(data: StationData, target: str = JENA_TARGET) -> tuple[np.ndarray, np.ndarray]:
    """The measured temperature of station readings, for plots: (seconds, °C with NaN where none was read)."""
    values = data.features[:, data.columns.index(target)].astype(np.float64)
    return data.seconds, np.where(values == JENA_SENTINEL, np.nan, values)
