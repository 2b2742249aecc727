"""The stage: judge any saved model folder (a fresh run, a champion, an old run) on a published dataset version.

`evaluate_model` has the model's kind of dataset judge it (EVALUATORS: tasks.judge.text, tasks.judge.series): predict on
every validation and test review or window, compute the metrics (tasks.judge.metrics) beside every baseline on the
same reviews or windows (tasks.judge.baselines); then blesses or not (tasks.judge.blessing), and writes
`metrics.json` (tasks.core.records.metrics: the model, the baselines, the blessing, the data judged on) and
`evaluation.npz` (what tasks.publish.plots draws). A series model is judged with its own training statistics and
split, never refitted.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from prefect import task

from tasks.core import atomic, runs
from tasks.core.config import FAMILIES
from tasks.core.errors import DataFormatError
from tasks.core.log import log
from tasks.core.records.metrics import Metrics
from tasks.judge.blessing import bless
from tasks.judge.series import evaluate_series
from tasks.judge.text import evaluate_text
from tasks.model import data_fingerprint, dataset_path

EVALUATORS = {"text": evaluate_text, "series": evaluate_series}  # kind (tasks.core.kinds.KINDS) -> how its models are
# judged: (model, settings, dataset, model folder, data sha256, artifacts folder) -> (results per split, baselines,
# arrays for the plots, facts about the splits, the kind's own fields of metrics.json: a text model's label names)


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
        model_dir: a finished run folder (model.keras, settings.json, normalization.json for a series).
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
    results, baselines, arrays, splits, own = EVALUATORS[spec.kind](model, s, path, model_dir, fingerprint["sha256"],
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
        **own,
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
