"""What every kind's predictions share: which saved model predicts, loading it, and writing the rows it gives.

Each kind of dataset predicts in its own module (tasks.serve.kinds: text, series); tasks.serve.predict runs the
dataset's kind over a saved model folder. Keras is imported only inside load_model: importing this module costs
no seconds.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tasks.core import atomic
from tasks.core.config import FAMILIES
from tasks.core.errors import PredictInputError, SettingsError


# ---------------------------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------------------------
def load_model(path: Path) -> Any:
    """A saved model (`model.keras` of a run) ready to predict: loaded without its optimizer and metrics.

    compile=False: prediction needs neither, and it loads in about half the time (bench/predict.py) without
    Keras' warning about optimizer variables it skips.

    Args:
        path: the .keras file.

    Returns:
        The keras.Model.

    Raises:
        PredictInputError: if the file is missing or not a Keras model file.
    """
    import keras

    path = Path(path)
    if not path.is_file():
        raise PredictInputError(f"{path}: no such model file; expected a run's model.keras")
    try:
        return keras.models.load_model(path, compile=False)
    except (ValueError, OSError) as e:
        raise PredictInputError(f"{path}: not a Keras model file ({type(e).__name__}: {e})") from e


# ---------------------------------------------------------------------------------------------------------------
# Output files
# ---------------------------------------------------------------------------------------------------------------
OUTPUT_SUFFIXES = (".csv", ".jsonl")
PREDICTIONS = "predictions.csv"  # in artifacts/predictions/<id>/<model>/: one row per review or forecast


def write_predictions(rows: Sequence[Mapping[str, Any]], out_path: Path) -> Path:
    """Write prediction rows as CSV or JSON Lines, chosen by the extension, atomically (temporary file + rename).

    Args:
        rows: dicts with the same keys (predict_reviews or Forecast.rows); the first row's keys are the columns.
        out_path: ends in .csv (a header, then one line per row) or .jsonl (one JSON object per line).

    Returns:
        `out_path`.

    Raises:
        SettingsError: on any other extension.
    """
    out_path = Path(out_path)
    suffix = out_path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise SettingsError(f"{out_path}: cannot write predictions as {suffix or 'a file without extension'!r}; "
                            f"expected one of {list(OUTPUT_SUFFIXES)}")
    buffer = io.StringIO(newline="")
    if suffix == ".csv":
        columns = list(rows[0]) if rows else []
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="raise")
        writer.writeheader()
        writer.writerows(rows)
    else:
        for row in rows:
            buffer.write(json.dumps(dict(row), ensure_ascii=False) + "\n")
    return atomic.write_text(out_path, buffer.getvalue())


# ---------------------------------------------------------------------------------------------------------------
# Which model
# ---------------------------------------------------------------------------------------------------------------
def choose_model(dataset: str, model: str | None, model_dir: Path | str | None, registry_dir: Path) -> Path:
    """The model folder to predict with: `model_dir` if given, else the champion of `model` (default the model the
    dataset's row of FAMILIES predicts with); it must be a finished run of the dataset's family.

    Raises:
        SettingsError: on an unknown dataset, no champion yet (saying how to get one), or a folder of another family.
    """
    from tasks.core import runs
    from tasks.judge import champion_model_dir

    if dataset not in FAMILIES:
        raise SettingsError(f"unknown dataset {dataset!r}; allowed: {', '.join(FAMILIES)}")
    default = FAMILIES[dataset].predicts_with
    if model_dir is None:
        model_dir = champion_model_dir(Path(registry_dir), model or default)
    model_dir = runs.check_model_dir(model_dir)
    settings = runs.read_settings(model_dir)
    if settings.family != dataset:
        raise SettingsError(f"{model_dir} holds a {settings.model} model ({settings.family}); `predict {dataset}` "
                            f"needs a {dataset} model, e.g. {default}")
    return model_dir
