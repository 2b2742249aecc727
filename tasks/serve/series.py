"""The time-series kind of the serve stage (tasks.serve.kinds): the latest station readings (tasks.serve.stations)
to a 24-hour temperature forecast, and a run's serving model that takes raw readings.

A window is named by its anchor row r as in tasks.model.windows: inputs are rows r - lookback, ..., r - step, the
target is the temperature of row r + delay. To use the newest reading e, the anchor is r = e + step, which may lie
beyond the data; the forecast is for time(e) + (step + delay) x 10 minutes (24 h 30 min at step 3, 25 h at step 6:
the horizon the models were trained and judged on, see tasks.judge.baselines.persistence_predictions). Every reading of
the last 24 hours gets a forecast; the headline is the newest one's. Inputs are normalized with the model's
training statistics (normalization.json, tasks.core.records.normalization), never the new data's.

Everything here is a plain function; the Prefect task is tasks.serve.predict. TensorFlow and Keras are imported
only inside the functions that run a model (tasks.model imports them at module level, so it too is imported
lazily): importing this module costs no seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tasks.core import atomic, runs
from tasks.core.config import TrainSettings
from tasks.core.errors import DataFormatError, PredictInputError, SettingsError
from tasks.core.records.normalization import NormalizationRecord
from tasks.core.sources import JENA_SENTINEL, JENA_STEP_MINUTES
from tasks.serve.common import PREDICTIONS, load_model, write_predictions
from tasks.serve.readings import load_readings
from tasks.serve.stations import observed_temperature
from tasks.serve.stations import station_time as _when  # for messages: findable in the station's files

FORECAST = "forecast.json"  # in the predictions folder: the headline, every forecast of the last 24 h, notes
FORECAST_PLOT = "forecast.png"
SIGNATURE = ("readings", "forecast_c", "temperature forecast, °C")  # the serving model's input name, output name
# and what the output is
OUTPUT_DTYPE = "float64"  # the serving model's output, as serving.json states it
SERVING_CODE = ("serve.series",)  # what builds its serving model, below tasks/ (tasks.serve.serving adds its own)


# ---------------------------------------------------------------------------------------------------------------
# Windows for the newest readings
# ---------------------------------------------------------------------------------------------------------------
def read_normalization(path: Path) -> NormalizationRecord:
    """A model's normalization.json (tasks.model.train writes it beside model.keras), checked.

    Raises:
        PredictInputError: naming the file and field: missing, not JSON, a key missing, lists of different
            lengths, a window shape training would refuse (tasks.core.records.normalization).
    """
    try:
        return NormalizationRecord.read(path)
    except DataFormatError as e:
        raise PredictInputError(str(e)) from None


def load_normalization(path: Path) -> dict[str, Any]:
    """read_normalization as a JSON-ready dict: {"features", "mean", "std", "target", "target_col", "lookback",
    "step", "delay"} and the split settings the statistics were fitted on."""
    return read_normalization(path).to_json()


def as_normalization(normalization: NormalizationRecord | Mapping[str, Any],
                     source: str = "normalization") -> NormalizationRecord:
    """A model's statistics as a record: a record as it is, a parsed normalization.json checked.

    Raises:
        PredictInputError: naming `source` and the field, unless the dict holds every key forecast_windows reads
            and they agree (NormalizationRecord.from_json).
    """
    if isinstance(normalization, NormalizationRecord):
        return normalization
    try:
        return NormalizationRecord.from_json(normalization, source)
    except DataFormatError as e:
        raise PredictInputError(str(e)) from None


@dataclass(frozen=True)
class ForecastWindows:
    """The model inputs for every reading of the last 24 hours whose window is whole, in time order."""

    windows: np.ndarray  # (anchors, lookback // step, features) float32, normalized with the model's statistics
    reading_seconds: np.ndarray  # (anchors,) int64: each window's last reading, "now" for its forecast
    target_seconds: np.ndarray  # (anchors,) int64: the time forecast for, reading + (step + delay) x 10 minutes
    persistence_c: np.ndarray  # (anchors,) float64: the temperature at the last reading (°C), the baseline
    target_mean: float  # the model's training mean of the target (°C), to undo the normalization
    target_std: float  # the model's training std of the target (°C)
    source: str  # the files read, for messages and titles
    notes: tuple[str, ...]  # readings of the last 24 hours left without a forecast, and why


def forecast_windows(
    seconds: np.ndarray,
    features: np.ndarray,
    normalization: NormalizationRecord | Mapping[str, Any],
    source: str,
    *,
    columns: Sequence[str] | None = None,
    notes: Sequence[str] = (),
    interval_minutes: int = JENA_STEP_MINUTES,
) -> ForecastWindows:
    """The windows of every reading in the last `delay` x 10 minutes (24 hours at delay 144; on a whole grid the
    last `delay` rows): reading e is one of them when time(e) > time(newest) - delay x 10 minutes.

    The reading e of the window anchored at r = e + step (tasks.model.windows' naming) is the window's last input row;
    the window reads rows e - lookback + step, ..., e, every `step`-th, which must lie on a whole 10-minute grid
    (lookback - step + 1 consecutive readings) without a missing reading (-9999 or empty) at the rows read.
    Earlier readings of the last 24 hours whose window fails that are skipped with a note; the newest reading's
    window must pass, or there is nothing to forecast from.

    Args:
        seconds: (rows,) int64 seconds since 1970 of each reading, strictly increasing (load_station_frames).
        features: (rows, features) raw readings in the order of normalization.features.
        normalization: the model's normalization.json (load_normalization): its training mean and std per
            feature, target_col, lookback, step, delay.
        source: what the readings came from, for messages (file names).
        columns: the names of `features`' columns, when known: checked against the model's features.
        notes: notes to carry over (StationData.notes).
        interval_minutes: the record's grid (the dataset's spec; Jena's 10 minutes by default).

    Returns:
        The windows, their times, the persistence forecasts and the statistics to undo the normalization.

    Raises:
        PredictInputError: naming `source` and a time: a feature the model needs is missing; too few readings for
            one window; a gap (or an off-grid time) inside the newest reading's window; a -9999 or empty reading
            inside it (naming the column); times not strictly increasing.
    """
    from tasks.model import Normalizer, normalize  # imports TensorFlow

    normalization = as_normalization(normalization, source)
    names = normalization.features
    lookback, step, delay = normalization.lookback, normalization.step, normalization.delay
    target_col = normalization.target_col
    seconds = np.asarray(seconds, dtype=np.int64)
    features = np.asarray(features, dtype=np.float64)
    if columns is not None and tuple(columns) != names:
        missing = [c for c in names if c not in columns]
        if missing:
            raise PredictInputError(f"{source}: no column(s) {missing}; the model reads {list(names)}")
        features = features[:, [list(columns).index(c) for c in names]]
    if features.ndim != 2 or features.shape != (len(seconds), len(names)):
        raise PredictInputError(f"{source}: readings of shape {features.shape} for {len(seconds)} times; the model "
                                f"reads ({len(seconds)}, {len(names)}): {list(names)}")
    grid_seconds = interval_minutes * 60  # between two readings of the record's grid
    span = lookback - step + 1  # consecutive readings one window covers, first to last input row
    hours = span * interval_minutes / 60
    if len(seconds) < span:
        where = f"from {_when(seconds[0])} to {_when(seconds[-1])}" if len(seconds) else "none"
        raise PredictInputError(
            f"{source}: {len(seconds)} reading(s) ({where}); a window of the model (lookback {lookback}, step "
            f"{step}) needs {span} consecutive {interval_minutes}-minute readings ({hours:.1f} h)"
        )
    steps = np.diff(seconds)  # (rows - 1,) seconds between consecutive readings
    if np.any(steps <= 0):
        bad = int(np.argmax(steps <= 0))
        raise PredictInputError(f"{source}: times not strictly increasing at {_when(seconds[bad + 1])}; expected "
                                "one row per time, sorted (load_station_frames)")

    last = len(seconds) - 1
    in_last_day = np.flatnonzero(seconds > seconds[last] - delay * grid_seconds)  # every reading of the last 24 h
    readings = in_last_day[in_last_day >= span - 1]  # those with rows enough before them
    firsts = readings - (span - 1)  # (anchors,) each window's first row
    off_grid = np.concatenate([[0], np.cumsum(steps != grid_seconds)])  # off-grid steps before each row
    whole = off_grid[readings] == off_grid[firsts]  # no gap or off-grid time from first to last row

    missing = (features == JENA_SENTINEL) | np.isnan(features)  # (rows, features)
    rows_read = firsts[:, None] + step * np.arange(lookback // step)[None, :]  # (anchors, lookback // step)
    missing_read = missing[rows_read]  # (anchors, lookback // step, features)
    complete = ~missing_read.any(axis=(1, 2))

    # The newest reading's window must be usable: say exactly why it is not.
    window_text = f"the newest window, {_when(seconds[last - span + 1])} to {_when(seconds[last])}"
    if not whole[-1]:
        bad = last - span + 1 + int(np.flatnonzero(steps[last - span + 1: last] != grid_seconds)[-1])
        gap = int(steps[bad])
        what = (f"{gap // grid_seconds - 1} reading(s) missing" if gap % grid_seconds == 0 and gap > grid_seconds
                else f"{gap / 60:g} minutes apart, expected {interval_minutes}")
        raise PredictInputError(
            f"{source}: gap in the {interval_minutes}-minute grid after {_when(seconds[bad])}: next reading {_when(seconds[bad + 1])} "
            f"({what}), inside {window_text}; the model needs {span} consecutive readings ({hours:.1f} h) after the "
            "last gap"
        )
    if not complete[-1]:
        t, c = np.argwhere(missing_read[-1])[-1]
        row = int(rows_read[-1, t])
        raise PredictInputError(
            f"{source}: column {names[c]!r} has no reading ({features[row, c]:g}) at {_when(seconds[row])}, inside "
            f"{window_text}; the model reads it there"
        )

    notes = list(notes)
    too_early = len(in_last_day) - len(readings)
    if too_early:
        notes.append(f"{too_early} reading(s) of the last 24 h from {_when(seconds[in_last_day[0]])} have no forecast: "
                     f"fewer than {span} readings before them")
    usable = whole & complete
    for mask, why in ((~whole, "their window crosses a gap in the 10-minute grid"),
                      (whole & ~complete, "their window holds a -9999 or empty reading")):
        if mask.any():
            at = readings[mask]
            notes.append(f"{len(at)} reading(s) of the last 24 h ({_when(seconds[at[0]])} to "
                         f"{_when(seconds[at[-1]])}) have no forecast: {why}")

    readings, firsts, rows_read = readings[usable], firsts[usable], rows_read[usable]
    lo = int(firsts[0])  # normalize only the rows the windows read
    normalized = normalize(features[lo:], Normalizer.from_record(normalization))  # (rows - lo, features)
    windows = normalized[rows_read - lo]  # (anchors, lookback // step, features) float32
    return ForecastWindows(
        windows=windows,
        reading_seconds=seconds[readings],
        target_seconds=seconds[readings] + (step + delay) * grid_seconds,
        persistence_c=features[readings, target_col].copy(),
        target_mean=normalization.target_mean,
        target_std=normalization.target_std,
        source=source,
        notes=tuple(notes),
    )


def _iso(seconds: int | np.integer) -> str:
    """A time as ISO 8601 without zone (station time), for output rows."""
    return str(np.datetime64(int(seconds), "s")).replace("T", " ")


@dataclass(frozen=True)
class Forecast:
    """The model's forecast and persistence's for every usable reading of the last 24 hours."""

    reading_seconds: np.ndarray  # (anchors,) int64: time of the window's last reading
    target_seconds: np.ndarray  # (anchors,) int64: the time forecast for
    forecast_c: np.ndarray  # (anchors,) float64: the model's temperature forecast, °C
    persistence_c: np.ndarray  # (anchors,) float64: the temperature at the reading, °C (the book's baseline)
    source: str
    notes: tuple[str, ...]

    @property
    def rows(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per reading: reading_time, target_time (ISO, station time), horizon_hours,
        forecast_c, persistence_c."""
        return [
            {"reading_time": _iso(r), "target_time": _iso(t), "horizon_hours": (int(t) - int(r)) / 3600,
             "forecast_c": round(float(f), 3), "persistence_c": round(float(p), 3)}
            for r, t, f, p in zip(self.reading_seconds, self.target_seconds, self.forecast_c, self.persistence_c)
        ]

    @property
    def headline(self) -> dict[str, Any]:
        """The forecast from the newest reading: the one a user asks for."""
        return self.rows[-1]

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "headline": self.headline, "notes": list(self.notes), "rows": self.rows}


def forecast(model: Any, windows: ForecastWindows) -> Forecast:
    """Run the model on every window in one batch and turn its output back into °C.

    Args:
        model: a loaded Jena model, (batch, time, features) -> (batch, 1) normalized temperature.
        windows: from forecast_windows.

    Returns:
        Per reading: the model's forecast and persistence's, in °C; `headline` is the newest.

    Raises:
        PredictInputError: if the model reads a different number of features than the windows hold.
    """
    expected = model.input_shape[-1] if getattr(model, "input_shape", None) else None
    if expected is not None and expected != windows.windows.shape[-1]:
        raise PredictInputError(f"{windows.source}: windows of {windows.windows.shape[-1]} features; the model "
                                f"reads {expected} (is normalization.json the model's own?)")
    predicted = np.asarray(model.predict_on_batch(windows.windows), dtype=np.float64).reshape(-1)  # normalized
    return Forecast(
        reading_seconds=windows.reading_seconds,
        target_seconds=windows.target_seconds,
        forecast_c=predicted * windows.target_std + windows.target_mean,
        persistence_c=windows.persistence_c,
        source=windows.source,
        notes=windows.notes,
    )


# ---------------------------------------------------------------------------------------------------------------
# Over a saved model folder
# ---------------------------------------------------------------------------------------------------------------
def forecast_from(model_dir: Path, files: Sequence[Path | str] | None, data_dir: Path,
                  out_dir: Path) -> list[dict[str, Any]]:
    """The forecast of a saved model from station files (default the dataset it was trained on, as published in
    data_dir): one row per reading of the last 24 h, also written with the headline and notes to out_dir
    (predictions.csv, forecast.json, forecast.png).

    Raises:
        SettingsError: if no file is named and the model's dataset has not been ingested.
        PredictInputError: on readings that cannot be forecast from (too few, a gap, a missing reading), naming
            the file and the time.
    """
    from tasks.publish import plot_forecast

    model_dir = Path(model_dir)
    normalization = read_normalization(model_dir / runs.NORMALIZATION)
    settings = runs.read_settings(model_dir)
    if files:
        paths = [Path(f) for f in files]
    else:
        spec = settings.spec
        published = Path(data_dir) / "processed" / spec.name
        if not (published / spec.files[0]).is_file():
            raise SettingsError(f"no station files named and no {spec.name.capitalize()} dataset at {published}: "
                                f"name files with --files, or run `seqconv ingest {spec.name} --data-dir {data_dir}` "
                                "first")
        paths = [published]
    data = load_readings(paths, normalization.features, settings.spec.name)
    windows = forecast_windows(data.seconds, data.features, normalization, data.source, columns=data.columns,
                               notes=data.notes, interval_minutes=settings.spec.interval_minutes)
    result = forecast(load_model(model_dir / runs.MODEL), windows)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_predictions(result.rows, out_dir / PREDICTIONS)
    model_name = settings.model
    unit = settings.spec.record.unit  # the target's, from the dataset's spec
    headline = result.headline
    seen_seconds, seen_c = observed_temperature(data, normalization.target)
    plot_forecast(seen_seconds, seen_c, result.target_seconds, result.forecast_c, result.persistence_c,
                  out_dir / FORECAST_PLOT, model_name=model_name, unit=unit, quantity=normalization.target,
                  title=f"{model_name}: {headline['forecast_c']:.1f} {unit} at {headline['target_time']} "
                        f"(last reading {headline['reading_time']}, {data.source})")
    atomic.write_json(out_dir / FORECAST, {**result.to_json(), "model_dir": str(model_dir.resolve()),
                                           "model": model_name, "target": normalization.target, "unit": unit})
    return result.rows


def predict(model_dir: Path, inputs: Mapping[str, Any], data_dir: Path, out_dir: Path) -> list[dict[str, Any]]:
    """The forecast of a saved model from the station files a user gives (inputs: files; none: the published
    dataset in data_dir), written to out_dir."""
    return forecast_from(model_dir, inputs.get("files"), data_dir, out_dir)


# ---------------------------------------------------------------------------------------------------------------
# The serving model: raw readings in
# ---------------------------------------------------------------------------------------------------------------
def unservable(model_dir: Path) -> str | None:
    """Why a finished run gets no serving model: never (its normalization.json is all it needs)."""
    return None


def with_normalization(model: Any, normalization: NormalizationRecord, name: str) -> Any:
    """(batch, lookback, features) raw readings (float64, file units, newest last) -> (batch, 1) forecast in °C.

    The rows read are every `step`-th ending at the newest (forecast_windows' rows e - lookback + step, ..., e), in
    float64 as tasks.model.normalize computes, so the trained model gets the float32 windows of the Python path.
    """
    import keras

    lookback, step, n = normalization.lookback, normalization.step, len(normalization.features)
    readings = keras.Input(shape=(lookback, n), dtype="float64", name=SIGNATURE[0])  # (batch, lookback, n)
    # Every step-th reading ending at the newest: the last of each group of `step` (plain slicing, no arithmetic)
    x = keras.layers.Reshape((lookback // step, step, n), dtype="float64", name="groups_of_step")(readings)
    x = keras.layers.Cropping2D(((0, 0), (step - 1, 0)), dtype="float64", name="last_of_each")(x)
    x = keras.layers.Reshape((lookback // step, n), dtype="float64", name="every_step")(x)  # (batch, lookback//step, n)
    normalize = keras.layers.Normalization(dtype="float64", name="normalize")
    x = normalize(x)
    x = keras.layers.Identity(dtype="float32", name="as_float32")(x)  # the float32 windows training fed the model
    denormalize = keras.layers.Normalization(invert=True, dtype="float64", name="to_celsius")
    out = denormalize(model(x))  # (batch, 1) °C
    # Weights, not constructor arguments: Keras writes the latter to its config as JSON numbers read back as
    # float32, which would move the pressure's mean by 1e-5 mbar.
    for layer, mean, std in ((normalize, normalization.mean, normalization.std),
                             (denormalize, [normalization.target_mean], [normalization.target_std])):
        layer.adapt_mean.assign(np.asarray(mean, dtype=np.float64))
        layer.adapt_variance.assign(np.square(np.asarray(std, dtype=np.float64)))
        layer.finalize_state()
    return keras.Model(readings, out, name=name)


def build_serving(model: Any, model_dir: Path, settings: TrainSettings, name: str) -> tuple[Any, dict[str, Any]]:
    """The serving model of a run (with_normalization by its own training statistics), and what it was built from."""
    normalization = read_normalization(Path(model_dir) / runs.NORMALIZATION)
    return with_normalization(model, normalization, name), {"normalization": normalization.to_json()}


def input_spec(built: Any) -> Any:
    """The SavedModel signature's input: (batch, lookback, features) float64 readings."""
    import tensorflow as tf

    return tf.TensorSpec([None, *built.input_shape[1:]], tf.float64, name=SIGNATURE[0])
