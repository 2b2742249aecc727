"""The series kind in the judge stage: a saved model's MAE (normalized and °C) on every validation and test
window, beside persistence and mean on the same windows (tasks.judge.evaluate looks this module up for every dataset
of kind "series").
"""

from __future__ import annotations

from pathlib import Path

from tasks.core import runs
from tasks.core.config import TrainSettings
from tasks.core.errors import DataFormatError
from tasks.core.records.normalization import NormalizationRecord
from tasks.judge.baselines import jena_baselines, persistence_predictions
from tasks.judge.metrics import mae, to_celsius
from tasks.model import EVAL_SPLITS, Normalizer, jena_dataset, jena_split_facts, prepare_jena, split_settings


def evaluate_series(model, s: TrainSettings, path: Path, model_dir: Path, data_sha256: str,
                    artifacts_dir: Path) -> tuple[dict, dict, dict, dict, dict]:
    """MAE (normalized and °C) on every validation and test window, beside persistence and mean on the same
    windows. The data is normalized with the model's own training statistics (its normalization.json), never
    refitted, so a model is judged on new data exactly as it would be used, and split as it was trained
    (the split settings of settings.json, which normalization.json must agree with).

    Returns:
        (results per split, baselines, arrays for the plots, facts about the splits, nothing more to record).
    """
    source = model_dir / runs.NORMALIZATION
    stored = NormalizationRecord.read(source)
    normalizer = Normalizer.from_record(stored)
    fitted_on = stored.split_settings
    differ = {key: (fitted_on[key], value) for key, value in split_settings(s).items()
              if key in fitted_on and fitted_on[key] != value}  # a file from before the blocked split has no such keys
    if differ:
        raise DataFormatError(
            f"{source} was fitted on another split than settings.json names: "
            + "; ".join(f"{key} {a!r} there, {b!r} in {'the spec' if key == 'stamped' else 'settings.json'}"
                        for key, (a, b) in differ.items())
        )
    data = prepare_jena(path, s, normalizer)
    results, arrays = {}, {}
    for split in EVAL_SPLITS:
        rows, ds = jena_dataset(data, split, s, shuffle=False)
        predictions = model.predict(ds, verbose=0).ravel()  # (windows,) normalized temperature
        truth = data.series[rows + s.delay, data.target_col]
        value = mae(truth, predictions)
        results[split] = {"mae": value, "mae_celsius": to_celsius(value, data.target_std), "windows": int(len(rows))}
        arrays.update({
            f"{split}_seconds": data.seconds[rows + s.delay],  # when each target was measured
            f"{split}_truth": data.celsius(truth),
            f"{split}_predictions": data.celsius(predictions),
            f"{split}_persistence": data.celsius(persistence_predictions(data.series, rows, s.step, data.target_col)),
        })
    baselines = jena_baselines(data.series, data.rows, step=s.step, delay=s.delay, target_col=data.target_col,
                               target_std=data.target_std)
    return results, baselines, arrays, jena_split_facts(data, s), {}
