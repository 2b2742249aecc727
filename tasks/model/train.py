"""Fit, resume, save: one model run, nothing else.

A run folder `artifacts/runs/<run-id>/<model>/` (tasks.core.runs) holds, once training is done: `model.keras` (the
best validation epoch), `history.csv`, `settings.json`, what its kind of dataset keeps (tasks.model.kinds: a series'
`normalization.json`, a text's `word_index.json` and `word_index.sha256`), `data_profile.json` (the training rows,
the drift reference), TensorBoard logs, and last `training.json`: what training measured (epochs, best epoch,
seconds, device, data, code). While a run is in progress it also holds `backup/`, the last finished epoch's snapshot
(tasks.model.checkpoint): rerunning the same run id after a crash resumes from there. Judging the model is
tasks.judge.evaluate's job, drawing it tasks.publish.plots'.

TensorFlow is imported inside the functions that build or fit a model, so importing this module (every flow and
every `--help` does) stays cheap.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

from prefect import task

from tasks.core import atomic, runs
from tasks.core.cache import Content, training_key
from tasks.core.config import TrainSettings
from tasks.core.errors import with_path
from tasks.core.log import log
from tasks.model.dataset import data_fingerprint, dataset_path, record_run_dataset, run_dataset_path
from tasks.model.device import check_gpu_pool, describe_device
from tasks.model.kinds import KINDS, settings_for_data


# ---------------------------------------------------------------------------------------------------------------
# Training machinery
# ---------------------------------------------------------------------------------------------------------------
def keep_history(path: Path, epochs_done: int) -> None:
    """Cut a CSVLogger history back to the epochs a resumed run keeps (rows of later epochs, and a row torn by a
    kill, belong to work that is about to be redone); no snapshot to resume from means no history."""
    path = Path(path)
    if not path.is_file():
        return
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if epochs_done == 0 or not rows:
        path.unlink()
        return
    header, kept = rows[0], []
    for row in rows[1:]:
        if len(row) == len(header) and row[0].isdigit() and int(row[0]) < epochs_done:
            kept.append(row)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *kept])
    atomic.write_text(path, out.getvalue())


def time_left(seconds: list[float], epochs_done: int, epochs: int) -> float:
    """Seconds the rest of the run should take at the mean pace of the epochs timed so far."""
    return (sum(seconds) / len(seconds)) * max(epochs - epochs_done, 0) if seconds else 0.0


def learning_rate_at(s: TrainSettings, epoch: int) -> float:
    """The learning rate of epoch `epoch` (0-based) under the settings' schedule."""
    if s.lr_schedule == "cosine":
        return s.learning_rate * 0.5 * (1 + math.cos(math.pi * epoch / s.epochs))
    return s.learning_rate


def make_callbacks(run_dir: Path, s: TrainSettings, restored) -> list:
    """History CSV, TensorBoard, one log line per epoch, and last: the crash-safe snapshot with the best epoch
    and early stopping (tasks.model.checkpoint), so it saves after the others have logged."""
    import keras

    import tasks.model.checkpoint as checkpoint
    from tasks.model.progress import ProgressReporter, epoch_description, progress_key

    class EpochLog(keras.callbacks.Callback):
        """Per epoch: one log line (metrics, seconds, time left for the run) and the progress artifact."""

        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []
            self._start = 0.0
            self.progress = ProgressReporter(progress_key(s.model), total=s.epochs)

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)
            description = epoch_description(epoch + 1, s.epochs, logs)
            left = time_left(self.seconds, epoch + 1, s.epochs)
            log(f"{s.model} {description} ({self.seconds[-1]:.1f} s; about {left:.0f} s left at most)")
            self.progress.update(epoch + 1, description)

    callbacks = [
        keras.callbacks.CSVLogger(str(run_dir / runs.HISTORY), append=True),
        EpochLog(),
        checkpoint.Checkpoints(run_dir / "backup", s.spec.monitor, s.spec.mode, s.early_stopping_patience, restored),
    ]
    if s.tensorboard:
        callbacks.insert(0, keras.callbacks.TensorBoard(str(run_dir / "tensorboard")))
    if s.weight_averaging:  # before Checkpoints, so the snapshot's best weights are the averaged ones
        callbacks.insert(0, checkpoint.AveragedWeights(resumed=restored is not None))
    if s.lr_schedule != "constant":  # set from the epoch number, so a resumed run continues on schedule
        callbacks.insert(0, keras.callbacks.LearningRateScheduler(lambda epoch: learning_rate_at(s, epoch)))
    return callbacks


def build_model(s: TrainSettings, strategy, n_features: int, on_gpu: bool):
    """The settings' architecture, built in the strategy's scope (float16 compute if asked and on a GPU)."""
    import keras

    from tasks.model.architectures import build_model as build

    previous = keras.mixed_precision.global_policy()
    if s.mixed_precision and on_gpu:
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        with strategy.scope():
            return build(s, n_features)
    finally:  # layers keep the policy they were built with; later models in this process get the old one
        keras.mixed_precision.set_global_policy(previous)


# ---------------------------------------------------------------------------------------------------------------
# One run
# ---------------------------------------------------------------------------------------------------------------
def train_model(s: TrainSettings, data_dir: Path, run_dir: Path, run_id: str = "") -> dict[str, Any]:
    """Train one model and save it with what training measured; a finished run folder is returned as it is.

    Args:
        s: resolved settings (tasks.core.profiles.resolve_settings), profile included; a Jena split "auto" is
            resolved on the data (tasks.model.kinds.settings_for_data), and settings.json records the result.
        data_dir: holds processed/<dataset> from the ingest flows.
        run_dir: artifacts/runs/<run-id>/<model>; an unfinished run there is resumed from its last epoch.
        run_id: recorded in training.json.

    Returns:
        The content of run_dir/training.json.
    """
    run_dir = Path(run_dir)
    if (run_dir / runs.TRAINING).is_file():  # trained already (a crash came later, e.g. while evaluating)
        return atomic.read_json(run_dir / runs.TRAINING, "written when training finished")
    import keras
    import tensorflow as tf

    import tasks.model.checkpoint as checkpoint

    device = describe_device()
    check_gpu_pool(device)  # a GPU pool's run on a host whose TensorFlow sees no GPU: refused, before any work
    path = run_dataset_path(data_dir, s.family, run_dir)  # fail before any work if the data is missing
    s = settings_for_data(path, s)  # a series: the split "auto" resolves to on this data, and why
    run_dir.mkdir(parents=True, exist_ok=True)
    record_run_dataset(run_dir, s.family, path)
    atomic.write_json(run_dir / runs.SETTINGS, s.as_record())
    keras.utils.set_random_seed(s.seed)
    if s.deterministic:
        tf.config.experimental.enable_op_determinism()
    log(f"training {s.model} ({s.profile}) on {device.name} -> {run_dir}")

    fit_args, n_features = KINDS[s.spec.kind].fit_arguments(s, path, run_dir)
    model = build_model(s, device.strategy, n_features, on_gpu=device.gpus > 0)
    restored = checkpoint.latest_snapshot(run_dir / "backup")
    epochs_done = restored.epochs_done if restored else 0
    if restored:
        with device.strategy.scope():
            checkpoint.restore(model, restored)
        log(f"resuming {s.model} after epoch {epochs_done} from {restored.path}")
    keep_history(run_dir / runs.HISTORY, epochs_done)
    callbacks = make_callbacks(run_dir, s, restored)
    started = time.perf_counter()
    if epochs_done < s.epochs and not (restored and restored.stopped_early(s.early_stopping_patience)):
        # Keras' own bar (steps of the epoch, its time left) only on a terminal without the live view's epoch bar
        # (tasks.model.progress); logs get one line an epoch.
        from tasks.model.progress import keras_verbose

        verbose = keras_verbose()
        model.fit(initial_epoch=epochs_done, epochs=s.epochs, callbacks=callbacks, verbose=verbose, **fit_args)
    training_seconds = time.perf_counter() - started
    epoch_seconds = callbacks[-2].seconds

    last = callbacks[-1].snapshot
    if last is not None and last.best_weights.is_file():
        model.load_weights(last.best_weights)
    tmp_model = run_dir / f".model.{os.getpid()}.keras"
    try:
        model.save(tmp_model)
        os.replace(tmp_model, run_dir / runs.MODEL)
    except OSError as error:  # a full disk: no half-written model left behind, and the error names the file
        tmp_model.unlink(missing_ok=True)
        raise with_path(error, run_dir / runs.MODEL) from error

    training = {
        "model": s.model,
        "profile": s.profile,
        "run_id": run_id,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "epochs_planned": s.epochs,
        "epochs_run": last.epochs_done if last else 0,
        "resumed_from_epoch": epochs_done,
        "best_epoch": last.best_epoch if last else None,
        "monitor": s.spec.monitor,
        "device": device.name,
        "training_seconds": round(training_seconds, 2),
        "seconds_per_epoch": round(sum(epoch_seconds) / len(epoch_seconds), 3) if epoch_seconds else None,
        "data": data_fingerprint(path, s.family),
        "settings": s.as_record(),
        **runs.provenance(),
    }
    atomic.write_json(run_dir / runs.TRAINING, training)  # last: its presence means training finished
    shutil.rmtree(run_dir / "backup", ignore_errors=True)
    return training


# ---------------------------------------------------------------------------------------------------------------
# Prefect tasks
# ---------------------------------------------------------------------------------------------------------------
TRAINING_CACHE = Content(
    kind="train",
    # Same settings, same data (sha256 of its Parquet), same code, same artifacts folder: the same model. Run ids
    # do not count.
    parts=lambda inputs: (inputs["settings"], inputs["data_sha256"], str(runs.artifacts_dir_of(inputs["run_dir"]))),
    key=training_key,  # the code of its own architecture, never another's
)


@task(task_run_name="train {settings.model}", cache_policy=TRAINING_CACHE, persist_result=True)
def train_model_task(settings: TrainSettings, data_dir: Path, run_dir: Path, run_id: str, data_sha256: str) -> str:
    """Train one model and save it in its run folder; returns the folder. Cached by data, code and settings."""
    train_model(settings, Path(data_dir), Path(run_dir), run_id)
    return str(run_dir)


@task(task_run_name="fingerprint {family} data")
def fingerprint_data(data_dir: Path, family: str, run_dir: Path | None = None) -> str:
    """sha256 of the Parquet a model family trains on (what the training cache is keyed by): the published
    version's, or the one an unfinished run in `run_dir` started on (run_dataset_path)."""
    data = Path(data_dir)
    path = run_dataset_path(data, family, Path(run_dir)) if run_dir else dataset_path(data, family)
    return data_fingerprint(path, family)["sha256"]
