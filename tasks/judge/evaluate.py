"""The stage: judge any saved model folder (a fresh run, a champion, an old run) on a published dataset version.

`evaluate_model` predicts on every validation and test review or window, computes the metrics (tasks.judge.metrics)
beside every baseline on the same reviews or windows (tasks.judge.baselines), blesses or not (tasks.judge.blessing),
and writes `metrics.json` (tasks.core.records.metrics: the model, the baselines, the blessing, the data judged on)
and `evaluation.npz` (what tasks.publish.plots draws). A Jena model is judged with its own training statistics and
split, never refitted.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from prefect import task

from tasks.core import atomic, runs
from tasks.core.config import FAMILIES, TrainSettings
from tasks.core.errors import DataFormatError
from tasks.core.log import log
from tasks.core.records.metrics import Metrics
from tasks.core.records.normalization import NormalizationRecord
from tasks.judge.baselines import bag_of_words_baseline, jena_baselines, majority_baseline, persistence_predictions
from tasks.judge.blessing import bless
from tasks.judge.metrics import binary_metrics, mae, to_celsius
from tasks.model import EVAL_SPLITS, data_fingerprint, dataset_path, in_order, jena_dataset, Normalizer
from tasks.model import jena_split_facts, prepare_imdb, prepare_jena, split_settings


def evaluate_imdb(model, s: TrainSettings, path: Path, model_dir: Path, data_sha256: str,
                  artifacts_dir: Path) -> tuple[dict, dict, dict, dict]:
    """Accuracy and ROC AUC on every validation and test review, beside the majority and bag-of-words baselines.

    Returns:
        (results per split, baselines, arrays for the plots, facts about the splits).
    """
    data = prepare_imdb(path, s)
    # 128 reviews a batch: the Embedding's output alone is batch x 500 x 128 float32 (131 MB at 512)
    scores = {split: model.predict(in_order(data.x[split], batch_size=128), verbose=0).ravel()
              for split in EVAL_SPLITS}
    results = {split: binary_metrics(data.y[split], scores[split]) for split in EVAL_SPLITS}
    baselines = {
        "majority": {split: majority_baseline(data.y["train"], data.y[split]) for split in EVAL_SPLITS},
        "bag_of_words": bag_of_words_baseline(data, s, data_sha256, artifacts_dir),
    }
    arrays = {f"{split}_{name}": values for split in EVAL_SPLITS
              for name, values in (("scores", scores[split]), ("labels", data.y[split]))}
    splits = {split: {"reviews": int(len(data.y[split]))} for split in ("train", *EVAL_SPLITS)}
    return results, baselines, arrays, splits


def evaluate_jena(model, s: TrainSettings, path: Path, model_dir: Path, data_sha256: str,
                  artifacts_dir: Path) -> tuple[dict, dict, dict, dict]:
    """MAE (normalized and °C) on every validation and test window, beside persistence and mean on the same
    windows. The data is normalized with the model's own training statistics (its normalization.json), never
    refitted, so a model is judged on new data exactly as it would be used, and split as it was trained
    (the split settings of settings.json, which normalization.json must agree with).

    Returns:
        (results per split, baselines, arrays for the plots, facts about the splits).
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
            + "; ".join(f"{key} {a!r} there, {b!r} in settings.json" for key, (a, b) in differ.items())
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
    return results, baselines, arrays, jena_split_facts(data, s)


EVALUATORS = {"imdb": evaluate_imdb, "jena": evaluate_jena}  # family -> how its models are judged


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """The arrays the plots draw, as one .npz written to a temporary name and renamed into place."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return path


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """evaluation.npz back as arrays; numeric arrays only, never pickled objects."""
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def evaluate_model(model_dir: Path, data_dir: Path, out_dir: Path, artifacts_dir: Path | None = None) -> dict[str, Any]:
    """Judge a saved model folder on the published data: metrics, every baseline on the same reviews or
    windows, and the blessing; written to out_dir/metrics.json (last) and out_dir/evaluation.npz.

    Args:
        model_dir: a finished run folder (model.keras, settings.json, normalization.json for Jena).
        data_dir: holds processed/<dataset>, the published version to judge on.
        out_dir: where the results go: the run folder itself after training, or a new
            artifacts/evaluations/<eval-id>/<model> folder for a saved model judged again.
        artifacts_dir: holds baselines/ (shared baselines); default the model folder's artifacts folder.

    Returns:
        The metrics written to out_dir/metrics.json: what training measured (when out_dir is the run folder's
        own training.json is there), the validation and test results, the baselines, the blessing, the data
        judged on and the data the model was trained on.
    """
    import keras

    model_dir = runs.check_model_dir(model_dir)
    s = runs.read_settings(model_dir)
    spec = FAMILIES[s.family]
    path = dataset_path(Path(data_dir), s.family)
    fingerprint = data_fingerprint(path, s.family)
    artifacts_dir = Path(artifacts_dir) if artifacts_dir else runs.artifacts_dir_of(model_dir)
    keras.utils.set_random_seed(s.seed)
    if s.deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    try:
        model = keras.models.load_model(model_dir / runs.MODEL, compile=False)
    except (OSError, ValueError) as error:
        raise DataFormatError(f"{model_dir / runs.MODEL}: cannot be loaded as a Keras model ({error})") from None
    log(f"evaluating {s.model} from {model_dir} on {path}")
    results, baselines, arrays, splits = EVALUATORS[s.family](model, s, path, model_dir, fingerprint["sha256"],
                                                              artifacts_dir)
    blessing = bless(results["val"][spec.metric], {name: b["val"][spec.metric] for name, b in baselines.items()},
                     higher_is_better=spec.higher_is_better, margin=s.blessing_margin, metric=spec.label)
    training_file = model_dir / runs.TRAINING
    training = atomic.read_json(training_file, "written when training finished") if training_file.is_file() else {}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = {
        **training,
        "model": s.model,
        "profile": s.profile,
        "monitor": spec.monitor,
        "validation": results["val"],
        "test": results["test"],
        "baselines": baselines,
        "blessing": blessing,
        "blessed": blessing["blessed"],
        "splits": splits,
        "data": fingerprint,
        "trained_on": training.get("data"),
        "model_dir": str(model_dir.resolve()),
        "settings": s.as_record(),
        **runs.provenance(),
    }
    save_arrays(out_dir / runs.EVALUATION_ARRAYS, arrays)
    Metrics(metrics).write(out_dir)  # last: its presence means the evaluation finished
    return metrics


def _evaluate_run_name() -> str:
    from prefect.runtime import task_run

    return f"evaluate {Path(task_run.parameters['model_dir']).name}"


@task(task_run_name=_evaluate_run_name)
def evaluate_model_task(model_dir: Path, data_dir: Path, out_dir: Path, artifacts_dir: Path | None = None) -> str:
    """Judge a saved model against its baselines on the published data; returns out_dir/metrics.json.

    A finished evaluation of the same model on the same data (a run resumed after a crash, or a reused run) is
    kept as it is."""
    metrics_path = Metrics.path_in(out_dir)
    if metrics_path.is_file():
        done = Metrics.read(out_dir)
        model_dir = runs.check_model_dir(model_dir)
        family = runs.read_settings(model_dir).family
        current = data_fingerprint(dataset_path(Path(data_dir), family), family)["sha256"]
        if done.data_sha256 == current and done.model_dir == str(model_dir.resolve()):
            return str(metrics_path)
    evaluate_model(Path(model_dir), Path(data_dir), Path(out_dir), Path(artifacts_dir) if artifacts_dir else None)
