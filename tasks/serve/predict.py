"""Predictions of a saved model folder: the reviews or station files a user gives, through the IMDB text path
(tasks.serve.text) or the Jena forecast path (tasks.serve.forecasting), written to the predictions folder.

The plain functions first (one per dataset: read the model folder, predict, write), then the Prefect task that
runs them; the flow and the CLI are flows/predict.py. Nothing heavy is imported at module level.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prefect import task

from tasks.core import atomic
from tasks.core.errors import SettingsError
from tasks.core.log import log
from tasks.serve.common import OUTPUT_SUFFIXES, load_model, write_predictions
from tasks.serve.forecasting import (
    forecast,
    forecast_windows,
    load_station_frames,
    observed_temperature,
    read_normalization,
)
from tasks.serve.serving import run_word_index
from tasks.serve.text import gather_reviews, predict_reviews

PREDICTIONS = "predictions.csv"  # in artifacts/predictions/<id>/<model>/: one row per review or forecast
FORECAST = "forecast.json"  # Jena: the headline, every forecast of the last 24 h, notes
FORECAST_PLOT = "forecast.png"


# ---------------------------------------------------------------------------------------------------------------
# Over a saved model folder
# ---------------------------------------------------------------------------------------------------------------
def predict_reviews_from(model_dir: Path, texts: list[str], out_dir: Path) -> list[dict[str, Any]]:
    """predict_reviews with a saved IMDB model and the word index it was trained with (the run's own copy, never
    the data folder's: tasks.serve.serving.run_word_index); the rows, also written to out_dir/predictions.csv.

    Raises:
        SettingsError: if the run has no word index of its own and the dataset version it trained on is gone.
        DataFormatError: if the run's copy does not match its recorded sha256.
    """
    from tasks.core import runs

    index = run_word_index(model_dir)
    log(index.note, logging.INFO if index.own else logging.WARNING)  # a fallback is said where it is seen
    settings = runs.read_settings(model_dir)
    model = load_model(Path(model_dir) / runs.MODEL)
    rows = predict_reviews(model, texts, index.words, num_words=settings.num_words, maxlen=settings.maxlen)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    write_predictions(rows, Path(out_dir) / PREDICTIONS)
    return rows


def forecast_from(model_dir: Path, files: Sequence[Path | str] | None, data_dir: Path,
                  out_dir: Path) -> list[dict[str, Any]]:
    """The forecast of a saved Jena model from station files (default the published dataset): one row per
    reading of the last 24 h, also written with the headline and notes to out_dir (predictions.csv,
    forecast.json, forecast.png).

    Raises:
        SettingsError: if no file is named and no Jena dataset has been ingested.
        PredictInputError: on readings that cannot be forecast from (too few, a gap, a missing reading), naming
            the file and the time.
    """
    from tasks.core import runs
    from tasks.publish import plot_forecast

    model_dir = Path(model_dir)
    normalization = read_normalization(model_dir / runs.NORMALIZATION)
    if files:
        paths = [Path(f) for f in files]
    else:
        published = Path(data_dir) / "processed" / "jena"
        if not (published / "jena.parquet").is_file():
            raise SettingsError(f"no station files named and no Jena dataset at {published}: name files with "
                                f"--files, or run `seqconv ingest jena --data-dir {data_dir}` first")
        paths = [published]
    data = load_station_frames(paths, normalization.features)
    windows = forecast_windows(data.seconds, data.features, normalization, data.source, columns=data.columns,
                               notes=data.notes)
    result = forecast(load_model(model_dir / runs.MODEL), windows)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_predictions(result.rows, out_dir / PREDICTIONS)
    model_name = runs.read_settings(model_dir).model
    headline = result.headline
    seen_seconds, seen_c = observed_temperature(data)
    plot_forecast(seen_seconds, seen_c, result.target_seconds, result.forecast_c, result.persistence_c,
                  out_dir / FORECAST_PLOT, model_name=model_name,
                  title=f"{model_name}: {headline['forecast_c']:.1f} °C at {headline['target_time']} "
                        f"(last reading {headline['reading_time']}, {data.source})")
    atomic.write_json(out_dir / FORECAST, {**result.to_json(), "model_dir": str(model_dir.resolve()),
                                           "model": model_name})
    return result.rows


# ---------------------------------------------------------------------------------------------------------------
# The Prefect task
# ---------------------------------------------------------------------------------------------------------------
PREDICTORS = {  # dataset -> how its predictions are made from the inputs a user gives
    "imdb": lambda model_dir, inputs, data_dir, out_dir: predict_reviews_from(
        model_dir, gather_reviews(inputs.get("texts"), inputs.get("file"), inputs.get("csv_file"),
                                  inputs.get("column") or "text"), out_dir),  # the run holds its word index
    "jena": lambda model_dir, inputs, data_dir, out_dir: forecast_from(model_dir, inputs.get("files"), data_dir,
                                                                       out_dir),
}


@task(task_run_name="predict {dataset} with {model_dir.name}")
def predict_task(dataset: str, model_dir: Path, inputs: dict, data_dir: Path, out_dir: Path,
                 out: str | None = None) -> str:
    """Predictions of a saved model in out_dir (and a copy in `out`, .csv or .jsonl); returns predictions.csv."""
    if out and Path(out).suffix.lower() not in OUTPUT_SUFFIXES:  # before any work
        raise SettingsError(f"--out {out}: expected a file ending in {' or '.join(OUTPUT_SUFFIXES)}")
    rows = PREDICTORS[dataset](Path(model_dir), inputs, Path(data_dir), Path(out_dir))
    if out:
        write_predictions(rows, Path(out))
    return str(Path(out_dir) / PREDICTIONS)
