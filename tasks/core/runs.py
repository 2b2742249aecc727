"""The run folder's layout, reuse and provenance: one module owns where a run's files live.

    artifacts/
      runs/<run-id>/<model>/      one training run: model.keras, history.csv, settings.json, data_version.json,
                                  training.json, normalization.json (Jena), word_index.json and .sha256 (IMDB),
                                  data_profile.json, then metrics.json, evaluation.npz, plots and serving/
      runs/<run-id>/report.md     train-all's report
      evaluations/<eval-id>/<model>/   a saved model judged again (flows.evaluate): metrics.json, plots
      predictions/<id>/<model>/   predictions with a saved model (flows.predict): predictions.csv, forecast
      baselines/<dataset>-<key>/  baselines trained once per dataset version (the IMDB bag of words)
      registry/<model>.json       champions (tasks.judge.registry)
      tunes/<tune-id>/            a search over settings (flows.tune): tune.json (every trial's settings and
                                  figures, the winner), tune.md, tune.png; its trials are runs/<tune-id>-tNN/

A folder is finished when its last file is there: `training.json` for training (written last by tasks.model.train),
`metrics.json` for an evaluation (written last by tasks.judge.evaluate).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

from tasks.core import atomic
from tasks.core.config import TrainSettings, settings_from_json
from tasks.core.errors import DataFormatError, SettingsError

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("tensorflow", "keras", "prefect", "numpy", "pandas", "pyarrow", "great-expectations", "matplotlib")

MODEL = "model.keras"  # the best epoch's model
SETTINGS = "settings.json"  # the resolved TrainSettings, profile included
DATA_VERSION = "data_version.json"  # the dataset version a run trains on, written before its first epoch (a resumed
# run goes on with it; tasks.core.retention keeps it)
TRAINING = "training.json"  # what training measured; written last, so its presence means training finished
NORMALIZATION = "normalization.json"  # Jena: the training rows' mean and std, and the window shape
DATA_PROFILE = "data_profile.json"  # what the training rows looked like (tasks.ingest.drift): the drift reference
WORD_INDEX = "word_index.json"  # IMDB: the run's own copy of the word index it was trained with
WORD_INDEX_SHA256 = "word_index.sha256"  # its sha256, as `sha256sum` writes it (sha256sum -c checks it)
VOCABULARY = "vocabulary.json"  # a user's texts: the run's own copy of its dataset version's vocabulary
VOCABULARY_SHA256 = "vocabulary.sha256"  # its sha256, as `sha256sum` writes it
TEXTS = "texts.parquet"  # a user's texts: a dataset version's texts, labels and splits (tasks.ingest.text_files)
SERVING = "serving"  # the model with its preprocessing inside: model.keras, saved_model/ (tasks.serve.serving)
HISTORY = "history.csv"  # one row per epoch
METRICS = "metrics.json"  # the evaluation: model, baselines, blessing; written last by tasks.judge.evaluate
EVALUATION_ARRAYS = "evaluation.npz"  # what the plots draw: scores and labels, or forecasts and targets
REUSED = "reused.json"  # in a run folder whose model was not trained again: where the reused run lives
REPORT = "report.md"
TUNE = "tune.json"  # a tune's table and winner (tasks.tune.summary), written last
TUNE_REPORT = "tune.md"  # the same as markdown
TUNE_PLOT = "tune.png"  # val and test per trial


def new_run_id() -> str:
    """A sortable, unique id: UTC time plus a few random hex digits."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S-") + os.urandom(2).hex()


def run_dir(artifacts_dir: Path | str, run_id: str, model: str) -> Path:
    """artifacts/runs/<run-id>/<model>: one model's training run."""
    return Path(artifacts_dir) / "runs" / run_id / model


def artifacts_dir_of(model_dir: Path | str) -> Path:
    """The artifacts folder a run or evaluation folder lives in (<artifacts>/<runs|evaluations>/<id>/<model>)."""
    return Path(model_dir).resolve().parents[2]


def report_path(artifacts_dir: Path | str, run_id: str) -> Path:
    """artifacts/runs/<run-id>/report.md."""
    return Path(artifacts_dir) / "runs" / run_id / REPORT


def evaluation_dir(artifacts_dir: Path | str, eval_id: str, model: str) -> Path:
    """artifacts/evaluations/<eval-id>/<model>: a saved model judged again, never over its run's own metrics."""
    return Path(artifacts_dir) / "evaluations" / eval_id / model


def champion_evaluation_dir(artifacts_dir: Path | str, run_id: str, model: str) -> Path:
    """artifacts/evaluations/<run-id>-champion/<model>: the champion judged on the data run <run-id> trained on."""
    return evaluation_dir(artifacts_dir, f"{run_id}-champion", model)


def prediction_dir(artifacts_dir: Path | str, prediction_id: str, model: str) -> Path:
    """artifacts/predictions/<id>/<model>: what one prediction run produced (rows, forecast, plot)."""
    return Path(artifacts_dir) / "predictions" / prediction_id / model


def baselines_dir(artifacts_dir: Path | str, dataset: str, key: str) -> Path:
    """artifacts/baselines/<dataset>-<key>: baselines shared by every run on one dataset version."""
    return Path(artifacts_dir) / "baselines" / f"{dataset}-{key}"


def tune_dir(artifacts_dir: Path | str, tune_id: str) -> Path:
    """artifacts/tunes/<tune-id>: one search over settings (its trials are runs of their own)."""
    return Path(artifacts_dir) / "tunes" / tune_id


def trial_run_id(tune_id: str, trial: int, seed: int | None = None) -> str:
    """The run id of a tune's trial (1-based): "<tune-id>-t01", or "<tune-id>-t01-s7" for one seed of a tune run
    over several; the tune id is part of every trial's run id."""
    return f"{tune_id}-t{trial:02d}" + ("" if seed is None else f"-s{seed}")


def new_data_dir(artifacts_dir: Path | str) -> Path:
    """artifacts/new-data: the plots of the champions judged on new data (tasks.publish.new_data)."""
    return Path(artifacts_dir) / "new-data"


def registry_dir(artifacts_dir: Path | str) -> Path:
    """artifacts/registry: one <model>.json per champion."""
    return Path(artifacts_dir) / "registry"


def record_reuse(run_dir: Path, reused_dir: Path) -> None:
    """Note in this run's folder that its model is the earlier run `reused_dir` (same data, code, settings)."""
    atomic.write_json(Path(run_dir) / REUSED, {"run_dir": str(Path(reused_dir).resolve())})


def resolve_run_dir(run_dir: Path) -> Path:
    """The folder holding a run's model and metrics: itself, or the earlier run it reused."""
    run_dir = Path(run_dir)
    if (run_dir / METRICS).is_file():
        return run_dir
    if (run_dir / REUSED).is_file():
        return Path(json.loads((run_dir / REUSED).read_text())["run_dir"])
    raise DataFormatError(f"{run_dir} holds neither {METRICS} nor {REUSED}: the run did not finish")


def check_model_dir(model_dir: Path | str) -> Path:
    """A saved model folder that can be judged or used: model.keras, settings.json (and normalization.json for
    Jena) present; a clear error naming what is missing otherwise."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise SettingsError(f"model folder {model_dir} does not exist; expected artifacts/runs/<run-id>/<model>")
    if not (model_dir / MODEL).is_file() and (model_dir / REUSED).is_file():
        model_dir = resolve_run_dir(model_dir)
    missing = [name for name in (MODEL, SETTINGS) if not (model_dir / name).is_file()]
    if not missing and read_settings(model_dir).spec.kind == "series" and not (model_dir / NORMALIZATION).is_file():
        missing.append(NORMALIZATION)
    if missing:
        raise SettingsError(
            f"{model_dir} is not a finished model folder: {', '.join(missing)} missing "
            "(a run that did not finish training, or not a run folder)"
        )
    return model_dir


def read_settings(model_dir: Path | str) -> TrainSettings:
    """The TrainSettings a run was trained with (its settings.json)."""
    path = Path(model_dir) / SETTINGS
    data = atomic.read_json(path, "every finished run folder has one")
    try:
        return settings_from_json(data)
    except (SettingsError, TypeError) as error:
        raise DataFormatError(f"{path}: {error}") from None


def package_versions() -> dict[str, str]:
    """The installed versions of the packages that can change a result."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str:
    """The code's commit, with "+dirty" when the tree has uncommitted changes; "unknown" outside git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def where() -> dict[str, Any]:
    """Which machine, process and GPU(s) made a result, and the Prefect worker that started it, if any."""
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),  # None: every GPU the host has
        "worker": os.environ.get("PREFECT__WORKER_NAME"),  # set by Prefect 3's workers in the runs they start
        "container": os.path.exists("/.dockerenv"),  # Docker's mark in every container it runs (a Docker pool's run)
    }


def provenance() -> dict[str, Any]:
    """Where a result came from: the package versions, the code's commit, and the machine that made it."""
    return {"versions": package_versions(), "git_commit": git_commit(), "ran_on": where()}
