"""Train one model on published Parquet data and write everything a run leaves behind.

A run folder `artifacts/runs/<run-id>/<model>/` holds, once complete: `model.keras` (best validation weights),
`normalization.json` (Jena), `history.csv`, `metrics.json`, `settings.json`, plots, TensorBoard logs. While a
run is in progress it also holds `backup/`, the last finished epoch's snapshot (tasks.checkpoint): rerunning the
same run id after a crash resumes from there. `metrics.json` is written last, atomically: a run
folder without it is unfinished.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
from prefect import task

from tasks import atomic, checkpoint
from tasks.cache import content_key
from tasks.config import JENA_TARGET, TrainSettings
from tasks.errors import SettingsError
from tasks.normalize import read_imdb_split, read_jena, read_provenance

KERAS_IMDB_SEED = 113  # keras.datasets.imdb.load_data shuffles train, then test, with RandomState(113)
PACKAGES = ("tensorflow", "keras", "prefect", "numpy", "pandas", "pyarrow", "great-expectations", "matplotlib")
ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------------------
def dataset_path(data_dir: Path, family: str) -> Path:
    """The published dataset a model family trains on; a clear error if it has not been ingested."""
    path = Path(data_dir) / "processed" / family
    needed = ["train.parquet", "test.parquet"] if family == "imdb" else ["jena.parquet"]
    missing = [n for n in needed if not (path / n).is_file()]
    if missing:
        raise SettingsError(
            f"no {family} dataset at {path} (missing {', '.join(missing)}): "
            f"run `python -m flows.ingest {family} --data-dir {data_dir}` first"
        )
    return path


def data_fingerprint(path: Path, family: str) -> dict[str, Any]:
    """The sha256 of the sources behind a dataset, from its Parquet metadata, and of the Parquet itself."""
    files = ["train.parquet", "test.parquet"] if family == "imdb" else ["jena.parquet"]
    digest = hashlib.sha256()
    for name in files:
        with open(path / name, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    provenance = read_provenance(path / files[0])
    return {"path": str(path), "sha256": digest.hexdigest(), "sources": provenance["sources"]}


@dataclass
class ImdbData:
    x: dict[str, np.ndarray]  # split -> (reviews, maxlen) int32 ids
    y: dict[str, np.ndarray]  # split -> (reviews,) 0/1
    offset: dict[str, list[np.ndarray]]  # split -> unpadded ids (for the bag-of-words baseline)


def prepare_imdb(path: Path, s: TrainSettings) -> ImdbData:
    """Encode the reviews as the book did: Keras' load_data order and offsets, then the published 20% split.

    keras.datasets.imdb.load_data shuffles each split with RandomState(113) (train first, then test, one
    generator); `fit(validation_split=0.2)` then holds out the *last* 20% of that order. Our npz rows come
    sorted by label, so skipping the shuffle would make the validation set all negative.
    """
    from tasks.models import encode_reviews, offset_reviews

    rng = np.random.RandomState(KERAS_IMDB_SEED)
    reviews, labels = {}, {}
    for split in ("train", "test"):
        r, y = read_imdb_split(path, split)
        order = np.arange(len(r))
        rng.shuffle(order)
        reviews[split], labels[split] = [r[i] for i in order], y[order]
    split_at = int(np.ceil(len(reviews["train"]) * (1 - s.validation_split)))  # as keras' validation_split
    parts = {
        "train": (reviews["train"][:split_at], labels["train"][:split_at]),
        "val": (reviews["train"][split_at:], labels["train"][split_at:]),
        "test": (reviews["test"], labels["test"]),
    }
    limits = {"train": s.max_train_samples, "val": s.max_train_samples, "test": s.max_test_samples}
    data = ImdbData({}, {}, {})
    for split, (r, y) in parts.items():
        limit = limits[split] if split != "val" else int(np.ceil(limits[split] * s.validation_split))
        if limit:  # a subset for smoke runs: the first rows of an already shuffled order
            r, y = r[:limit], y[:limit]
        data.offset[split] = offset_reviews(r, s.num_words)
        data.x[split] = encode_reviews(r, s.num_words, s.maxlen)  # (reviews, maxlen)
        data.y[split] = y.astype(np.float32)
    return data


@dataclass
class JenaData:
    series: np.ndarray  # (rows, features) float32, normalized with the training rows' statistics
    seconds: np.ndarray  # (rows,) int64 timestamps
    normalizer: Any  # tasks.windows.Normalizer
    splits: dict[str, tuple[int, int]]  # inclusive row ranges
    rows: dict[str, np.ndarray]  # split -> anchor rows of every valid window
    target_col: int

    @property
    def target_std(self) -> float:
        return float(self.normalizer.std[self.target_col])

    @property
    def target_mean(self) -> float:
        return float(self.normalizer.mean[self.target_col])


def prepare_jena(path: Path, s: TrainSettings) -> JenaData:
    """Split by time, normalize with the training rows only, and find every window that crosses no gap."""
    from tasks.windows import JENA_TARGET_COL, fit_normalizer, normalize, split_rows, window_rows

    seconds, features = read_jena(path / "jena.parquet")  # (rows,), (rows, features)
    splits = split_rows(len(seconds))
    normalizer = fit_normalizer(features, splits["train"])
    rows = {
        split: window_rows(seconds, bounds, s.lookback, s.delay, s.max_gap_minutes) for split, bounds in splits.items()
    }
    empty = [split for split, r in rows.items() if not len(r)]
    if empty:
        raise SettingsError(
            f"no {'/'.join(empty)} windows in {path}: each split needs more than lookback + delay = "
            f"{s.lookback + s.delay} consecutive rows without a gap over {s.max_gap_minutes} min; "
            f"splits {splits}"
        )
    return JenaData(normalize(features, normalizer), seconds, normalizer, splits, rows, JENA_TARGET_COL)


def jena_dataset(data: JenaData, split: str, s: TrainSettings, *, shuffle: bool, limit_batches: int = 0):
    """The tf.data windows of one split; `limit_batches` > 0 keeps only the first batches (in time order)."""
    from tasks.windows import make_window_dataset

    rows = data.rows[split]
    if limit_batches:
        rows = rows[: limit_batches * s.batch_size]
    return rows, make_window_dataset(
        data.series, rows, lookback=s.lookback, step=s.step, delay=s.delay, target_col=data.target_col,
        batch_size=s.batch_size, shuffle=shuffle, seed=s.seed,
    )


# ---------------------------------------------------------------------------------------------------------------
# Training machinery
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Device:
    name: str  # e.g. "CPU (2 cores)", "GPU: NVIDIA H200", "2 x NVIDIA H200 (MirroredStrategy)"
    gpus: int
    strategy: Any  # tf.distribute strategy: default on one device, MirroredStrategy across several GPUs


def describe_device() -> Device:
    """Which device trains, and how (MirroredStrategy when there are several GPUs)."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return Device(f"CPU ({os.cpu_count()} cores)", 0, tf.distribute.get_strategy())
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    if len(gpus) > 1:
        return Device(f"{len(gpus)} x {name} (MirroredStrategy)", len(gpus), tf.distribute.MirroredStrategy())
    return Device(f"GPU: {name}", 1, tf.distribute.get_strategy())


def monitor_for(s: TrainSettings) -> tuple[str, str]:
    """The validation metric that picks the best epoch, and whether higher is better ("max") or not."""
    return ("val_accuracy", "max") if s.family == "imdb" else ("val_loss", "min")


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


def make_callbacks(run_dir: Path, s: TrainSettings, restored: checkpoint.Snapshot | None) -> list:
    """History CSV, TensorBoard, one log line per epoch, and last: the crash-safe snapshot with the best epoch
    and early stopping (tasks.checkpoint), so it saves after the others have logged."""
    monitor, mode = monitor_for(s)
    callbacks = [
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True),
        EpochLog(s.model, s.epochs),
        checkpoint.Checkpoints(run_dir / "backup", monitor, mode, s.early_stopping_patience, restored),
    ]
    if s.tensorboard:
        callbacks.insert(0, keras.callbacks.TensorBoard(str(run_dir / "tensorboard")))
    return callbacks


class EpochLog(keras.callbacks.Callback):
    """Per epoch: one log line (epoch, loss, metrics, seconds) through Prefect's logger inside a run, and the
    run's progress artifact updated (nothing of the kind outside a Prefect run)."""

    def __init__(self, model_name: str, epochs: int):
        from tasks.report import ProgressReporter, progress_key

        super().__init__()
        self.epochs, self.seconds, self._start = epochs, [], 0.0
        self.progress = ProgressReporter(progress_key(model_name), total=epochs)

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        from tasks.report import epoch_description

        self.seconds.append(time.perf_counter() - self._start)
        description = epoch_description(epoch + 1, self.epochs, logs)
        _log(f"{description} ({self.seconds[-1]:.1f} s)")
        self.progress.update(epoch + 1, description)


def _log(message: str) -> None:
    try:
        from prefect.logging import get_run_logger

        get_run_logger().info(message)
    except Exception:  # outside a Prefect run
        print(message, flush=True)


def package_versions() -> dict[str, str]:
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


def build_model(s: TrainSettings, strategy, n_features: int, on_gpu: bool) -> keras.Model:
    """The settings' architecture, built in the strategy's scope (float16 compute if asked and on a GPU)."""
    from tasks.models import build_imdb_conv, build_jena_conv, build_jena_conv_gru

    previous = keras.mixed_precision.global_policy()
    if s.mixed_precision and on_gpu:
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        with strategy.scope():
            if s.model == "imdb_conv":
                return build_imdb_conv(s.num_words, s.maxlen, dropout=s.dropout, learning_rate=s.learning_rate)
            if s.model == "jena_conv":
                return build_jena_conv(n_features, learning_rate=s.learning_rate)
            return build_jena_conv_gru(n_features, recurrent_dropout=s.recurrent_dropout,
                                       learning_rate=s.learning_rate)
    finally:  # layers keep the policy they were built with; later models in this process get the old one
        keras.mixed_precision.set_global_policy(previous)


# ---------------------------------------------------------------------------------------------------------------
# One run
# ---------------------------------------------------------------------------------------------------------------
def train_model(s: TrainSettings, profile: str, data_dir: Path, run_dir: Path, run_id: str = "") -> dict[str, Any]:
    """Train, evaluate against the baselines, plot, and write every output of one model run.

    Args:
        s: resolved settings (tasks.config.resolve_settings).
        profile: the profile name, recorded in metrics.json.
        data_dir: holds processed/imdb or processed/jena from the ingest flows.
        run_dir: artifacts/runs/<run-id>/<model>; an unfinished run there is resumed.
        run_id: recorded in metrics.json.

    Returns:
        The metrics written to run_dir/metrics.json.
    """
    import tensorflow as tf

    path = dataset_path(data_dir, s.family)  # fail before any work if the data is missing
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic.write_json(run_dir / "settings.json", {"profile": profile, **asdict(s)})
    keras.utils.set_random_seed(s.seed)
    if s.deterministic:
        tf.config.experimental.enable_op_determinism()
    device = describe_device()
    _log(f"training {s.model} ({profile}) on {device.name} -> {run_dir}")

    if s.family == "imdb":
        data = prepare_imdb(path, s)
        train_args = dict(x=data.x["train"], y=data.y["train"], validation_data=(data.x["val"], data.y["val"]),
                          batch_size=s.batch_size)
        n_features = 0
    else:
        data = prepare_jena(path, s)
        atomic.write_json(run_dir / "normalization.json", {
            **data.normalizer.to_json(), "target": JENA_TARGET, "target_col": data.target_col,
            "lookback": s.lookback, "step": s.step, "delay": s.delay,
        })
        _, train_ds = jena_dataset(data, "train", s, shuffle=True)
        _, val_ds = jena_dataset(data, "val", s, shuffle=False, limit_batches=s.validation_steps)
        train_args = dict(x=train_ds.repeat(), validation_data=val_ds, steps_per_epoch=s.steps_per_epoch,
                          shuffle=False)  # the dataset shuffles itself
        n_features = data.series.shape[1]

    model = build_model(s, device.strategy, n_features, on_gpu=device.gpus > 0)
    restored = checkpoint.latest_snapshot(run_dir / "backup")
    epochs_done = restored.epochs_done if restored else 0
    if restored:
        with device.strategy.scope():
            checkpoint.restore(model, restored)
        _log(f"resuming {s.model} after epoch {epochs_done} from {restored.path}")
    keep_history(run_dir / "history.csv", epochs_done)
    callbacks = make_callbacks(run_dir, s, restored)
    started = time.perf_counter()
    if epochs_done < s.epochs and not (restored and restored.stopped_early(s.early_stopping_patience)):
        model.fit(initial_epoch=epochs_done, epochs=s.epochs, callbacks=callbacks, verbose=0, **train_args)
    training_seconds = time.perf_counter() - started
    epoch_seconds = next(c for c in callbacks if isinstance(c, EpochLog)).seconds

    monitor, mode = monitor_for(s)
    last = callbacks[-1].snapshot
    if last is not None and last.best_weights.is_file():
        model.load_weights(last.best_weights)

    evaluation = evaluate_imdb(model, data, s, run_dir) if s.family == "imdb" else evaluate_jena(model, data, s,
                                                                                                  run_dir)
    tmp_model = run_dir / f".model.{os.getpid()}.keras"
    model.save(tmp_model)
    os.replace(tmp_model, run_dir / "model.keras")

    from tasks.report import plot_training_curves

    metric, label = ("accuracy", "Accuracy") if s.family == "imdb" else ("loss", "MAE (normalized)")
    plot_training_curves(run_dir / "history.csv", run_dir / "curves.png", title=f"{s.model}: training curves",
                         metric=metric, metric_label=label, higher_is_better=(mode == "max"))
    metrics = {
        "model": s.model,
        "profile": profile,
        "run_id": run_id,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "epochs_planned": s.epochs,
        "epochs_run": last.epochs_done if last else 0,
        "resumed_from_epoch": epochs_done,
        "best_epoch": last.best_epoch if last else None,
        "monitor": monitor,
        **evaluation,
        "device": device.name,
        "training_seconds": round(training_seconds, 2),
        "seconds_per_epoch": round(float(np.mean(epoch_seconds)), 3) if epoch_seconds else None,
        "data": data_fingerprint(path, s.family),
        "settings": asdict(s),
        "versions": package_versions(),
        "git_commit": git_commit(),
    }
    atomic.write_json(run_dir / "metrics.json", metrics)
    shutil.rmtree(run_dir / "backup", ignore_errors=True)  # only now: a kill while evaluating resumes, too
    return metrics


def evaluate_imdb(model, data: ImdbData, s: TrainSettings, run_dir: Path) -> dict[str, Any]:
    """Accuracy and ROC AUC on validation and test, beside the majority and bag-of-words baselines."""
    from tasks.evaluate import (
        bag_of_words_metrics, binary_metrics, bless, fit_bag_of_words, majority_baseline, roc_curve,
    )
    from tasks.report import plot_confusion_matrix, plot_roc

    scores = {split: model.predict(data.x[split], batch_size=512, verbose=0).ravel() for split in ("val", "test")}
    results = {split: binary_metrics(data.y[split], scores[split]) for split in ("val", "test")}
    bow = fit_bag_of_words(data.offset["train"], data.y["train"], data.offset["val"], data.y["val"],
                           epochs=s.bow_epochs, batch_size=512, seed=s.seed, num_words=s.num_words)
    baselines = {
        "majority": {split: majority_baseline(data.y["train"], data.y[split]) for split in ("val", "test")},
        "bag_of_words": {split: bag_of_words_metrics(bow, data.offset[split], data.y[split])
                         for split in ("val", "test")},
    }
    blessing = bless(results["val"]["accuracy"], {k: v["val"]["accuracy"] for k, v in baselines.items()},
                     higher_is_better=True, margin=s.blessing_margin, metric="val accuracy")
    fpr, tpr, _ = roc_curve(data.y["test"], scores["test"])
    plot_roc(fpr, tpr, results["test"]["roc_auc"], run_dir / "roc.png", title=f"{s.model}: ROC on the test set")
    plot_confusion_matrix(results["test"]["confusion_matrix"], run_dir / "confusion.png",
                          title=f"{s.model}: test confusion matrix (threshold 0.5)")
    return {"validation": results["val"], "test": results["test"], "baselines": baselines,
            "blessing": blessing, "blessed": blessing["blessed"]}


def evaluate_jena(model, data: JenaData, s: TrainSettings, run_dir: Path) -> dict[str, Any]:
    """MAE (normalized and °C) on validation and test windows, beside persistence and mean on the same windows."""
    from tasks.evaluate import bless, jena_baselines, mae, persistence_predictions, to_celsius
    from tasks.report import plot_jena_predictions

    results, used_rows, predictions = {}, {}, {}
    for split, limit in (("val", s.validation_steps), ("test", s.test_steps)):
        rows, ds = jena_dataset(data, split, s, shuffle=False, limit_batches=limit)
        preds = model.predict(ds, verbose=0).ravel()  # (windows,) normalized temperature
        truth = data.series[rows + s.delay, data.target_col]
        value = mae(truth, preds)
        results[split] = {"mae": value, "mae_celsius": to_celsius(value, data.target_std), "windows": int(len(rows))}
        used_rows[split], predictions[split] = rows, preds
    baselines = jena_baselines(data.series, used_rows, step=s.step, delay=s.delay, target_col=data.target_col,
                               target_std=data.target_std)
    blessing = bless(results["val"]["mae"], {name: b["val"]["mae"] for name, b in baselines.items()},
                     higher_is_better=False, margin=s.blessing_margin, metric="val MAE")

    rows = used_rows["test"][: 10 * 24 * 6]  # ten days of consecutive test windows
    celsius = lambda v: v * data.target_std + data.target_mean  # noqa: E731
    plot_jena_predictions(
        data.seconds[rows + s.delay].astype("datetime64[s]"),
        celsius(data.series[rows + s.delay, data.target_col]),
        celsius(predictions["test"][: len(rows)]),
        celsius(persistence_predictions(data.series, rows, s.step, data.target_col)),
        run_dir / "predictions.png",
        title=f"{s.model}: temperature 24 h ahead on the test set",
        model_name=s.model,
    )
    return {"validation": results["val"], "test": results["test"], "baselines": baselines, "blessing": blessing,
            "blessed": blessing["blessed"], "windows": {k: int(len(v)) for k, v in data.rows.items()},
            "splits": data.splits}


REUSED = "reused.json"  # in a run folder whose model was not trained again: where the reused run lives


def record_reuse(run_dir: Path, reused_dir: Path) -> None:
    """Note in this run's folder that its model is the earlier run `reused_dir` (same data, code, settings)."""
    atomic.write_json(Path(run_dir) / REUSED, {"run_dir": str(Path(reused_dir).resolve())})


def resolve_run_dir(run_dir: Path) -> Path:
    """The folder holding a run's model and metrics: itself, or the earlier run it reused."""
    run_dir = Path(run_dir)
    if (run_dir / "metrics.json").is_file():
        return run_dir
    if (run_dir / REUSED).is_file():
        return Path(json.loads((run_dir / REUSED).read_text())["run_dir"])
    raise FileNotFoundError(f"{run_dir} holds neither metrics.json nor {REUSED}: the run did not finish")


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus a few random hex digits."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S-") + os.urandom(2).hex()


# ---------------------------------------------------------------------------------------------------------------
# Prefect tasks
# ---------------------------------------------------------------------------------------------------------------


def _training_cache_key(context, parameters: dict) -> str:
    """Same settings, same data (sha256 of its Parquet), same code, same artifacts folder: the same model; run ids
    do not count."""
    artifacts_dir = Path(parameters["run_dir"]).resolve().parents[2]  # <artifacts>/runs/<run-id>/<model>
    return content_key("train", parameters["settings"], parameters["data_sha256"], str(artifacts_dir))


@task(task_run_name="train {settings.model}", cache_key_fn=_training_cache_key, persist_result=True)
def train_model_task(settings: TrainSettings, profile: str, data_dir: Path, run_dir: Path, run_id: str,
                     data_sha256: str) -> str:
    """Train one model and write its run folder; returns its metrics.json. Cached by data, code and settings."""
    metrics_path = Path(run_dir) / "metrics.json"
    if not metrics_path.is_file():  # a finished run folder (same run id) is kept as it is
        train_model(settings, profile, Path(data_dir), Path(run_dir), run_id)
    return str(metrics_path)


@task(task_run_name="fingerprint {family} data")
def fingerprint_data(data_dir: Path, family: str) -> str:
    """sha256 of the published Parquet a model family trains on (what the training cache is keyed by)."""
    return data_fingerprint(dataset_path(Path(data_dir), family), family)["sha256"]
