"""A series dataset's readings for a forecast, from the files a user names (or its published table), read as its
format reads them: the Jena station's files (tasks.serve.stations) or a user's CSV record as its spec says
(tasks.ingest.series_csv). Missing readings stay missing (NaN, or Jena's -9999) so that forecast_windows can tell
them from real ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tasks.core.datasets import dataset_spec
from tasks.core.errors import PredictInputError
from tasks.serve.stations import StationData, load_station_frames, station_time


def load_readings(paths: Sequence[Path], features: Sequence[str], dataset: str) -> StationData:
    """The readings of `paths` (CSV files, zips of one, a published table or its folder) in the model's feature
    order, sorted, one row per time (the first of a repeated time kept)."""
    spec = dataset_spec(dataset)
    return READINGS[spec.format](paths, features, dataset)


def jena_station(paths: Sequence[Path], features: Sequence[str], dataset: str) -> StationData:
    return load_station_frames(paths, features)


def csv_series(paths: Sequence[Path], features: Sequence[str], dataset: str) -> StationData:
    """A user's record: CSVs as its spec's [record] says (one-hot columns included), or its published Parquet."""
    from tasks.ingest import feature_columns, file_rows, read_jena, read_series_csv

    spec = dataset_spec(dataset)
    features = tuple(features)
    if not paths:
        raise PredictInputError(f"no file of {dataset} readings given; expected at least one .csv, .zip or .parquet")
    parts_seconds, parts_values, names = [], [], []
    for path in map(Path, paths):
        if path.is_dir() and (path / spec.published[0]).is_file():
            path = path / spec.published[0]
        names.append(path.name)
        if not path.is_file():
            raise PredictInputError(f"{path}: no such file")
        if path.suffix.lower() == ".parquet":
            columns = feature_columns(path)
            seconds, values = read_jena(path, columns)
        else:
            frame = read_series_csv(path, spec.record, spec.path)  # pandas opens a zip of one CSV itself
            rows, _ = file_rows(path.name, frame, spec.record, spec.path)
            columns = tuple(c for c in rows.columns if c != "timestamp")
            seconds = rows["timestamp"].to_numpy().astype("datetime64[s]").astype(np.int64)
            values = rows[list(columns)].to_numpy(dtype=np.float64)
        absent = [c for c in features if c not in columns]
        if absent:
            raise PredictInputError(f"{path}: no column(s) {absent}; the model reads {list(features)}")
        parts_seconds.append(seconds)
        parts_values.append(np.asarray(values, dtype=np.float64)[:, [list(columns).index(c) for c in features]])
    seconds = np.concatenate(parts_seconds)
    values = np.concatenate(parts_values)
    order = np.argsort(seconds, kind="stable")
    seconds, values = seconds[order], values[order]
    keep = np.concatenate([[True], np.diff(seconds) != 0])
    notes = []
    if not keep.all():
        notes.append(f"{int((~keep).sum())} repeated time(s) dropped, the first row of each kept (first: "
                     f"{station_time(seconds[np.flatnonzero(~keep)[0]])})")
    return StationData(seconds[keep], values[keep], features, ", ".join(names), tuple(notes))


READINGS = {"jena_station": jena_station, "csv_series": csv_series}  # a series spec's format -> its readings
