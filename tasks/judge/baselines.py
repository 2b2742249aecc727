"""Baselines: what a trained model must beat before it is blessed, on exactly the windows or reviews it is judged on.

Jena: two baselines computed on exactly the windows the models see (the anchor rows of
tasks.model.windows.window_rows), so their MAE and the models' are averages over the same targets:
- persistence, the book's "common-sense" baseline (Deep Learning with Python, listing 6.35): the temperature
  24 hours from now equals the temperature now;
- mean, the climatology floor: always predict the training mean of the temperature.

IMDB: the majority class, and the book's bag-of-words network (chapter 3), trained once per dataset version and
reused (`bag_of_words_baseline`, cached under artifacts/baselines/ with a key from tasks.core.cache).

Errors: a data problem (no windows, non-binary labels) is a DataFormatError; bad settings (step, delay, epochs) a
SettingsError; arguments that do not pair up are a ValueError.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tasks.core import atomic, runs
from tasks.core.cache import short_key
from tasks.core.config import RMSPROP_LEARNING_RATE, TrainSettings
from tasks.core.errors import DataFormatError, SettingsError
from tasks.core.log import log
from tasks.core.sources import IMDB_MAX_FEATURES
from tasks.judge.metrics import binary_metrics, label_metrics, mae, multiclass_metrics, to_celsius
from tasks.model import EVAL_SPLITS

if TYPE_CHECKING:  # annotations only: Keras is imported where a model is built or loaded
    import keras

JENA_EVAL_SPLITS = EVAL_SPLITS  # the splits jena_baselines reports; training windows are not a fair test


# ---------------------------------------------------------------------------------------------------------------
# Jena
# ---------------------------------------------------------------------------------------------------------------
def _check_rows(series: np.ndarray, rows: np.ndarray, *, before: int, after: int, target_col: int) -> np.ndarray:
    """`rows` as int64, after checking rows - before and rows + after stay inside the series."""
    rows = np.asarray(rows, dtype=np.int64)
    if series.ndim != 2:
        raise ValueError(f"series has shape {series.shape}; expected (rows, features)")
    if not 0 <= target_col < series.shape[1]:
        raise ValueError(f"target_col {target_col} is not a column of a series with {series.shape[1]} columns")
    if rows.ndim != 1:
        raise ValueError(f"anchor rows have shape {rows.shape}; expected (windows,)")
    if rows.size and (rows.min() - before < 0 or rows.max() + after >= len(series)):
        raise ValueError(
            f"anchor rows {rows.min()}..{rows.max()} reach rows {rows.min() - before}..{rows.max() + after}, "
            f"outside the series' rows 0..{len(series) - 1}"
        )
    return rows


def persistence_predictions(series: np.ndarray, rows: np.ndarray, step: int, target_col: int) -> np.ndarray:
    """The book's common-sense forecast: the target equals the last temperature the window shows.

    "Now" is row r - step, the last reading inside the window, exactly as the book's `evaluate_naive_method`
    (`preds = samples[:, -1, 1]`). Rows r - step + 1 .. r are not in the window, so the baseline sees what the
    models see and nothing more; its forecast horizon is therefore delay + step rows, not delay.

    Args:
        series: (rows, features) normalized measurements, the same array the models' windows are gathered from.
        rows: (windows,) anchor rows from tasks.model.windows.window_rows.
        step: rows between two sampled readings of a window (6 = one per hour).
        target_col: column of the target (JENA_TARGET_COL for temperature).

    Returns:
        (windows,) float64 predictions, in the series' units.

    Raises:
        SettingsError: on a non-positive step.
        ValueError: on a bad target column, or a window reaching before row 0.
    """
    if step < 1:
        raise SettingsError(f"step {step}: expected at least 1 row")
    rows = _check_rows(series, rows, before=step, after=0, target_col=target_col)
    return series[rows - step, target_col].astype(np.float64)


def mean_predictions(rows: np.ndarray, train_mean: float = 0.0) -> np.ndarray:
    """Always the training mean of the target: the floor any forecast must clear.

    Args:
        rows: (windows,) anchor rows; only their number matters.
        train_mean: training mean of the target in the series' units; 0 for a series normalized with the
            training statistics (tasks.model.normalizer.normalize).

    Returns:
        (windows,) float64, every value `train_mean`.
    """
    return np.full(len(np.asarray(rows)), float(train_mean), dtype=np.float64)


def targets(series: np.ndarray, rows: np.ndarray, delay: int, target_col: int) -> np.ndarray:
    """The target of each window: series[r + delay, target_col], as make_window_dataset gathers it.

    Args:
        series: (rows, features) normalized measurements.
        rows: (windows,) anchor rows.
        delay: rows from the anchor to the target (144 = 24 hours).
        target_col: column of the target.

    Returns:
        (windows,) float64 targets.

    Raises:
        SettingsError: on a negative delay.
        ValueError: on a bad target column, or a target past the last row.
    """
    if delay < 0:
        raise SettingsError(f"delay {delay}: expected at least 0 rows")
    rows = _check_rows(series, rows, before=0, after=delay, target_col=target_col)
    return series[rows + delay, target_col].astype(np.float64)


def jena_baselines(
    series: np.ndarray,
    rows_by_split: Mapping[str, np.ndarray],
    *,
    step: int,
    delay: int,
    target_col: int,
    target_std: float,
    train_mean: float = 0.0,
) -> dict:
    """Persistence and mean MAE on the validation and test windows, normalized and in °C.

    Args:
        series: (rows, features) normalized measurements.
        rows_by_split: anchor rows per split; must hold "val" and "test" (others are ignored).
        step: rows between sampled readings (persistence reads row r - step).
        delay: rows from the anchor to the target.
        target_col: column of the target.
        target_std: training std of the target in °C.
        train_mean: training mean of the target in normalized units (0 after tasks.model.normalizer.normalize).

    Returns:
        A JSON-ready dict, baseline -> split -> metrics, the layout of the IMDB baselines and of a model's results:
        {"persistence": {"val": {"mae": x, "mae_celsius": x_c, "windows": n}, "test": {...}}, "mean": {...}}.
        `{name: b["val"]["mae"] for name, b in out.items()}` is the `baselines` argument of `bless`.

    Raises:
        DataFormatError: if a split has no windows.
        ValueError: if a split is missing, or an argument of the functions above is bad.
    """
    out: dict[str, dict] = {"persistence": {}, "mean": {}}
    for split in JENA_EVAL_SPLITS:
        if split not in rows_by_split:
            raise ValueError(f"no anchor rows for split {split!r}; got splits {sorted(rows_by_split)}")
        rows = np.asarray(rows_by_split[split], dtype=np.int64)
        if rows.size == 0:
            raise DataFormatError(f"split {split!r} has no windows; expected at least one anchor row")
        truth = targets(series, rows, delay, target_col)
        predictions = {
            "persistence": persistence_predictions(series, rows, step, target_col),
            "mean": mean_predictions(rows, train_mean),
        }
        for name, prediction in predictions.items():
            error = mae(truth, prediction)
            out[name][split] = {"mae": error, "mae_celsius": to_celsius(error, target_std), "windows": int(rows.size)}
    return out


# ---------------------------------------------------------------------------------------------------------------
# IMDB
# ---------------------------------------------------------------------------------------------------------------
def majority_baseline(train_labels: np.ndarray, eval_labels: np.ndarray, labels: int = 2) -> dict:
    """Predict the training set's most common label for every text.

    A constant score ranks every review equal, so its AUC is exactly 0.5. On a tie (IMDB's training set is
    exactly balanced) the label is the first, 0 (negative), as numpy's argmax picks the first maximum.

    Args:
        train_labels: (n_train,) label numbers the majority is taken from.
        eval_labels: (n_eval,) label numbers it is scored on (two labels: both present).
        labels: how many labels the dataset has.

    Returns:
        binary_metrics' dict (two labels) or multiclass_metrics' (more), plus "predicted_class".

    Raises:
        DataFormatError: on empty labels or a label number outside 0..labels-1.
    """
    train_labels = np.asarray(train_labels).reshape(-1)
    if train_labels.size == 0 or not np.isin(train_labels, np.arange(labels)).all():
        raise DataFormatError(f"{train_labels.size} training labels; expected at least one, each in 0..{labels - 1}")
    majority = int(np.argmax(np.bincount(train_labels.astype(np.int64), minlength=labels)))
    eval_labels = np.asarray(eval_labels).reshape(-1)
    if labels > 2:
        metrics = multiclass_metrics(eval_labels, np.eye(labels)[np.full(eval_labels.shape, majority)])
    else:
        metrics = binary_metrics(eval_labels, np.full(eval_labels.shape, float(majority)))
    return {"predicted_class": majority, **metrics}


def fit_bag_of_words(
    train_reviews: Sequence[np.ndarray],
    train_labels: np.ndarray,
    val_reviews: Sequence[np.ndarray] | None,
    val_labels: np.ndarray | None,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    num_words: int = IMDB_MAX_FEATURES,
    learning_rate: float = RMSPROP_LEARNING_RATE,
    labels: int = 2,
) -> keras.Model:
    """Train the bag-of-words baseline (tasks.model.architectures.build_bag_of_words) on multi-hot reviews.

    The multi-hot rows are built one batch at a time (tasks.model.encoding.multi_hot_batches), not for the whole set at
    once as the book did (20,000 reviews x 10,000 words of float32 is 800 MB, and as much again inside fit):
    what is held is the reviews' ids. The reviews are shuffled every epoch in an order drawn from `seed`.

    Args:
        train_reviews: one int array of ids per review, unpadded, already offset by tasks.model.encoding.offset_reviews
            (START_CHAR first, OOV_CHAR for rare words, every id < num_words); padding would count as a word.
        train_labels: (n_train,) labels 0/1.
        val_reviews: reviews encoded the same way, for the validation curves in model.history; None for none.
        val_labels: (n_val,) labels 0/1, or None.
        epochs: passes over the training reviews.
        batch_size: reviews per gradient step.
        seed: seeds Python, numpy and the backend (weights, shuffling) through keras.utils.set_random_seed.
        num_words: vocabulary size, the width of the multi-hot vectors.
        learning_rate: RMSprop step size.
        labels: the dataset's labels (a sigmoid for two, a softmax for more).

    Returns:
        The trained model; its History is `model.history`.

    Raises:
        SettingsError: on non-positive epochs or batch size, mismatched lengths, or an id >= num_words.
    """
    import keras

    from tasks.model import build_bag_of_words, multi_hot_batches, own_default_seeds

    if epochs < 1 or batch_size < 1:
        raise SettingsError(f"epochs {epochs} and batch_size {batch_size}: expected both at least 1")
    label_type = np.float32 if labels <= 2 else np.int32
    train_labels = np.asarray(train_labels, dtype=label_type).reshape(-1)
    if len(train_reviews) != train_labels.size or train_labels.size == 0:
        raise SettingsError(
            f"{len(train_reviews)} training reviews and {train_labels.size} labels; expected one label each, "
            "at least one review"
        )
    validation_data = None
    if val_reviews is not None:
        val_labels = np.asarray(val_labels, dtype=label_type).reshape(-1)
        if len(val_reviews) != val_labels.size:
            raise SettingsError(f"{len(val_reviews)} validation reviews and {val_labels.size} labels")
        validation_data = multi_hot_batches(val_reviews, val_labels, batch_size=batch_size, num_words=num_words)

    keras.utils.set_random_seed(seed)  # first: the shuffle's seeds are the global seed and `seed`
    train_batches = multi_hot_batches(train_reviews, train_labels, batch_size=batch_size, num_words=num_words,
                                      shuffle=True, seed=seed)  # ((batch, num_words), (batch,)), new order each epoch
    with own_default_seeds(seed):  # the same seed builds the same weights, whatever else the process does
        model = build_bag_of_words(num_words, learning_rate=learning_rate, labels=labels)
    model.fit(train_batches, epochs=epochs, validation_data=validation_data, shuffle=False, verbose=0)
    return model


def bag_of_words_metrics(model: keras.Model, reviews: Sequence[np.ndarray], labels: np.ndarray) -> dict:
    """label_metrics of a bag-of-words model on reviews encoded as for fit_bag_of_words.

    Args:
        model: from fit_bag_of_words; its input width is the vocabulary size.
        reviews: unpadded, offset reviews (tasks.model.encoding.offset_reviews).
        labels: (n,) label numbers.

    Returns:
        binary_metrics' dict (a sigmoid output) or multiclass_metrics' (a softmax).
    """
    from tasks.model import multi_hot_batches

    num_words = int(model.input_shape[-1])
    if len(reviews) == 0:
        return binary_metrics(labels, np.zeros(0))  # refuses zero reviews with its own message
    # Encoded a batch at a time: 512 reviews x 10,000 words of float32 is 20 MB, not 1 GB for 25,000 reviews.
    batches = multi_hot_batches(reviews, batch_size=512, num_words=num_words)
    scores = model.predict(batches, verbose=0)
    return label_metrics(labels, scores.reshape(-1) if scores.shape[-1] == 1 else scores)


BOW_BATCH_SIZE = 512  # reviews per step of the bag-of-words baseline: a small dense model, big batches train fast
BAG_OF_WORDS = "bag_of_words.json"


def bag_of_words_baseline(data, s: TrainSettings, data_sha256: str, artifacts_dir: Path) -> dict:
    """The bag-of-words baseline's validation and test metrics, trained once per dataset version and reused.

    The key holds everything that changes the baseline's result: the data (sha256 of its Parquet), the settings
    it reads (vocabulary, validation split, subsets, epochs, seed) and the code (tasks.core.cache.CODE).

    Returns:
        {"val": binary_metrics, "test": binary_metrics}.
    """
    settings = {name: getattr(s, name) for name in ("num_words", "validation_split", "max_train_samples",
                                                    "max_test_samples", "bow_epochs", "seed", "labels")}
    key = short_key("bag-of-words", data_sha256, settings)
    folder = runs.baselines_dir(artifacts_dir, s.family, key)
    cached = folder / BAG_OF_WORDS
    if cached.is_file():
        stored = atomic.read_json(cached, "a bag-of-words baseline written by tasks.judge.baselines")
        if all(split in stored for split in EVAL_SPLITS):
            log(f"bag-of-words baseline reused from {folder}")
            return {split: stored[split] for split in EVAL_SPLITS}
    log(f"training the bag-of-words baseline once for this dataset version -> {folder}")
    bow = fit_bag_of_words(data.offset["train"], data.y["train"], data.offset["val"], data.y["val"],
                           epochs=s.bow_epochs, batch_size=BOW_BATCH_SIZE, seed=s.seed, num_words=s.num_words,
                           labels=s.labels)
    metrics = {split: bag_of_words_metrics(bow, data.offset[split], data.y[split]) for split in EVAL_SPLITS}
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".bag_of_words.{os.getpid()}.keras"
    bow.save(tmp)
    os.replace(tmp, folder / "bag_of_words.keras")
    atomic.write_json(cached, {"data_sha256": data_sha256, "settings": settings, **metrics})
    return metrics
