"""Predictions of a saved model folder: the reviews or station files a user gives, through the module of the
dataset's kind (tasks.serve.kinds: text, series), written to the predictions folder.

The Prefect task; the flow and the CLI are flows/predict.py. Nothing heavy is imported at module level.
"""

from __future__ import annotations

from pathlib import Path

from prefect import task

from tasks.core.errors import SettingsError
from tasks.serve.common import OUTPUT_SUFFIXES, PREDICTIONS, write_predictions
from tasks.serve.kinds import kind_of


@task(task_run_name="predict {dataset} with {model_dir.name}")
def predict_task(dataset: str, model_dir: Path, inputs: dict, data_dir: Path, out_dir: Path,
                 out: str | None = None) -> str:
    """Predictions of a saved model in out_dir (and a copy in `out`, .csv or .jsonl); returns predictions.csv."""
    if out and Path(out).suffix.lower() not in OUTPUT_SUFFIXES:  # before any work
        raise SettingsError(f"--out {out}: expected a file ending in {' or '.join(OUTPUT_SUFFIXES)}")
    rows = kind_of(dataset).predict(Path(model_dir), inputs, Path(data_dir), Path(out_dir))
    if out:
        write_predictions(rows, Path(out))
    return str(Path(out_dir) / PREDICTIONS)
