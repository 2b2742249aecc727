"""Predictions of a saved model folder: the reviews or station files a user gives, through the module of the
dataset's kind (tasks.serve.kinds: text, series), written to the predictions folder.

The Prefect task; the flow and the CLI are flows/predict.py. Nothing heavy is imported at module level.
"""

from __future__ import annotations

from pathlib import Path

from collections.abc import Mapping
from typing import Any

from prefect import task

from tasks.core import atomic, runs
from tasks.core.errors import SettingsError
from tasks.core.records.metrics import Metrics, label_names
from tasks.core.records.registry import RegistryEntry, current_records
from tasks.serve.common import OUTPUT_SUFFIXES, PREDICTIONS, write_predictions
from tasks.serve.kinds import kind_of
from tasks.serve.series import FORECAST


def decayed_record(model_dir: Path, registry_dir: Path) -> dict | None:
    """The newest new-data record (tasks.judge.new_data) of the champion in `model_dir` when it says a baseline
    beats the model on the newest data; None when it does not, or the folder is no champion's."""
    model = runs.read_settings(model_dir).model
    entry = RegistryEntry.read(Path(registry_dir), model)
    if entry is None or entry.model_dir.resolve() != Path(model_dir).resolve():
        return None
    records = current_records(entry)
    return records[-1] if records and not records[-1].get("beats") else None


def baseline_answer(row: Mapping[str, Any], record: Mapping[str, Any], model_dir: Path) -> Any:
    """The strongest baseline's answer to the input of one prediction row: persistence's temperature, the
    training mean in °C, or the majority class."""
    name = record["baseline"]
    if name == "persistence":
        return row["persistence_c"]
    if name == "mean":
        n = atomic.read_json(Path(model_dir) / runs.NORMALIZATION, "the model's training statistics")
        return round(float(n["mean"][int(n["target_col"])]), 3)
    if name == "majority":  # its label named as the model's metrics.json names the data's labels
        predicted = int(record["baselines"]["majority"].get("predicted_class") or 0)
        recorded = Metrics.read(model_dir).data if Metrics.path_in(model_dir).is_file() else {}
        names = label_names(recorded)
        return names[predicted] if predicted < len(names) else str(predicted)
    return None


def with_warning(rows: list[dict], record: Mapping[str, Any], model_dir: Path, out_dir: Path) -> list[dict]:
    """Every prediction row with the strongest baseline's answer and a warning beside it, written back to the
    predictions folder (predictions.csv, and forecast.json for a series)."""
    warning = f"{record['baseline']} beats this model on the newest data ({record['ratio']:.2f}x)"
    rows = [{**row, "baseline": record["baseline"], "baseline_answer": baseline_answer(row, record, model_dir),
             "warning": warning} for row in rows]
    write_predictions(rows, Path(out_dir) / PREDICTIONS)
    forecast = Path(out_dir) / FORECAST
    if forecast.is_file():
        document = atomic.read_json(forecast, "the forecast just written")
        atomic.write_json(forecast, {**document, "warning": record["reason"], "rows": rows,
                                     "headline": {**document["headline"], **rows[-1]}})
    return rows


@task(task_run_name="predict {dataset} with {model_dir.name}")
def predict_task(dataset: str, model_dir: Path, inputs: dict, data_dir: Path, out_dir: Path,
                 out: str | None = None, artifacts_dir: Path | None = None) -> str:
    """Predictions of a saved model in out_dir (and a copy in `out`, .csv or .jsonl); returns predictions.csv.

    When the model is a champion whose newest judgement on new data (in the registry of `artifacts_dir`) says its
    strongest baseline beats it, every row carries the baseline's answer and a warning beside the model's."""
    if out and Path(out).suffix.lower() not in OUTPUT_SUFFIXES:  # before any work
        raise SettingsError(f"--out {out}: expected a file ending in {' or '.join(OUTPUT_SUFFIXES)}")
    rows = kind_of(dataset).predict(Path(model_dir), inputs, Path(data_dir), Path(out_dir))
    record = decayed_record(Path(model_dir), runs.registry_dir(artifacts_dir)) if artifacts_dir else None
    if record is not None:
        rows = with_warning(rows, record, Path(model_dir), Path(out_dir))
    if out:
        write_predictions(rows, Path(out))
    return str(Path(out_dir) / PREDICTIONS)
