"""Baselines, metrics and blessing: what a trained model must beat before it is registered.

Jena: two baselines computed on exactly the windows the models see (the anchor rows of tasks.model.windows.window_rows),
so their MAE and the models' are averages over the same targets:
- persistence, the book's "common-sense" baseline (Deep Learning with Python, listing 6.35): the temperature
  24 hours from now equals the temperature now;
- mean, the climatology floor: always predict the training mean of the temperature.
MAE is computed in normalized units, as the models' loss, and converted to °C with the training std.

IMDB: accuracy, exact ROC AUC and the confusion matrix in numpy; the majority-class baseline and the book's
bag-of-words network (chapter 3) as the baseline a convnet must beat.

Blessing: a model is blessed when it beats its strongest baseline by at least a margin. Losing is a result
(blessed False, with a reason to print), not an exception.

The stage itself, `evaluate_model`, judges any saved model folder (a fresh run, a champion, an old run) on a
published dataset version: it writes `metrics.json` (the model, every baseline on the same windows or reviews,
the blessing) and `evaluation.npz` (what tasks.publish.plots draws). The functions above it are plain functions on arrays.
Errors: a data problem (no windows, one class only, non-finite scores) is a DataFormatError; a bad margin is a
SettingsError; arguments that do not pair up are a ValueError (a caller's bug, not the user's).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from prefect import task

from tasks.core import atomic, runs
from tasks.core.cache import short_key
from tasks.core.config import FAMILIES, RMSPROP_LEARNING_RATE, TrainSettings
from tasks.core.sources import IMDB_MAX_FEATURES
from tasks.model import EVAL_SPLITS, data_fingerprint, dataset_path, in_order, jena_dataset, normalizer_from_json
from tasks.model import jena_split_facts, prepare_imdb, prepare_jena, split_settings
from tasks.core.errors import DataFormatError, SettingsError
from tasks.core.log import log

if TYPE_CHECKING:  # annotations only: Keras is imported where a model is built or loaded
    import keras

JENA_EVAL_SPLITS = EVAL_SPLITS  # the splits jena_baselines reports; training windows are not a fair test


# ---------------------------------------------------------------------------------------------------------------
# Jena baselines
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
            training statistics (tasks.model.windows.normalize).

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


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error, accumulated in float64.

    Args:
        y_true: (n,) or (n, 1) targets.
        y_pred: predictions of the same length, e.g. model.predict's (n, 1).

    Returns:
        The MAE, in the inputs' units.

    Raises:
        ValueError: if the lengths differ.
        DataFormatError: if there are no values.
    """
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{y_true.size} targets and {y_pred.size} predictions; expected one prediction each")
    if y_true.size == 0:
        raise DataFormatError("no targets: the MAE of zero windows is undefined")
    return float(np.mean(np.abs(y_true - y_pred)))


def to_celsius(mae_normalized: float, target_std: float) -> float:
    """An MAE in normalized units to °C: normalization shifts then scales, so an error only scales by the std.

    Args:
        mae_normalized: MAE in units of the training std.
        target_std: training std of the temperature in °C (Normalizer.std[JENA_TARGET_COL]).

    Returns:
        The MAE in °C.

    Raises:
        DataFormatError: if target_std is not positive.
    """
    if not target_std > 0:
        raise DataFormatError(f"target_std {target_std}: expected the positive training std of the target in °C")
    return float(mae_normalized) * float(target_std)


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
        train_mean: training mean of the target in normalized units (0 after tasks.model.windows.normalize).

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
# IMDB metrics
# ---------------------------------------------------------------------------------------------------------------
def _check_binary(y_true: np.ndarray, y_prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels as int64 0/1 and scores as float64, both (n,), after checking they pair up and are usable."""
    y_true = np.asarray(y_true).reshape(-1)
    y_prob = np.asarray(y_prob, dtype=np.float64).reshape(-1)
    if y_true.shape != y_prob.shape:
        raise ValueError(f"{y_true.size} labels and {y_prob.size} scores; expected one score per label")
    if y_true.size == 0:
        raise DataFormatError("no labels: metrics of zero reviews are undefined")
    if not np.isin(y_true, (0, 1)).all():
        bad = y_true[~np.isin(y_true, (0, 1))][0].item()
        raise DataFormatError(f"label {bad!r} found; expected binary labels 0 (negative) and 1 (positive)")
    if not np.isfinite(y_prob).all():
        bad = int(np.argmax(~np.isfinite(y_prob)))
        raise DataFormatError(f"score {y_prob[bad]} at review {bad}; expected finite scores (did training diverge?)")
    return y_true.astype(np.int64), y_prob


def roc_auc(y_true: np.ndarray, y_prob: np.ndarray) -> float:
    """Exact area under the ROC curve: the Mann-Whitney U statistic over n_pos * n_neg.

    The chance that a random positive scores above a random negative, a tie counting one half; ties get the
    average of the ranks they span. Unlike keras.metrics.AUC, no thresholds are binned, so nothing is approximated.

    Args:
        y_true: (n,) labels 0/1.
        y_prob: (n,) scores; only their order matters.

    Returns:
        AUC in [0, 1].

    Raises:
        DataFormatError: if only one class is present (the AUC is undefined), or on bad labels or scores.
    """
    y_true, y_prob = _check_binary(y_true, y_prob)
    n_pos = int(y_true.sum())
    n_neg = y_true.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise DataFormatError(
            f"{n_pos} positive and {n_neg} negative labels: ROC AUC needs at least one of each class"
        )
    _, group, counts = np.unique(y_prob, return_inverse=True, return_counts=True)
    last_rank = np.cumsum(counts)  # 1-based rank of the last score of each group of equal scores
    ranks = (last_rank - (counts - 1) / 2.0)[group]  # (n,) average rank within each tie group
    u = ranks[y_true == 1].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def roc_curve(y_true: np.ndarray, y_prob: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ROC curve at every distinct score, a review predicted positive when its score >= the threshold.

    The first point is (0, 0) at threshold +inf; the last is (1, 1) at the lowest score. The trapezoidal area
    under (fpr, tpr) equals roc_auc, ties included.

    Args:
        y_true: (n,) labels 0/1, both classes present.
        y_prob: (n,) scores.

    Returns:
        (fpr, tpr, thresholds), each (distinct scores + 1,) float64, thresholds decreasing.

    Raises:
        DataFormatError: if only one class is present, or on bad labels or scores.
    """
    y_true, y_prob = _check_binary(y_true, y_prob)
    n_pos = int(y_true.sum())
    n_neg = y_true.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise DataFormatError(f"{n_pos} positive and {n_neg} negative labels: a ROC curve needs both classes")
    order = np.argsort(-y_prob, kind="stable")
    scores = y_prob[order]
    last_of_group = np.r_[np.flatnonzero(np.diff(scores)), scores.size - 1]  # index of each distinct score's last
    tps = np.cumsum(y_true[order])[last_of_group]
    fps = last_of_group + 1 - tps
    fpr = np.r_[0.0, fps / n_neg]
    tpr = np.r_[0.0, tps / n_pos]
    thresholds = np.r_[np.inf, scores[last_of_group]]
    return fpr, tpr, thresholds


def binary_metrics(y_true: np.ndarray, y_prob: np.ndarray, threshold: float = 0.5) -> dict:
    """Accuracy, exact ROC AUC and confusion matrix of predicted probabilities.

    A review is predicted positive when its probability is strictly above the threshold, as Keras' "accuracy"
    for a sigmoid output (keras.metrics.binary_accuracy), so this accuracy matches the one logged in training.

    Args:
        y_true: (n,) labels 0/1.
        y_prob: (n,) or (n, 1) probabilities of the positive class, e.g. model.predict's output.
        threshold: decision threshold.

    Returns:
        A JSON-ready dict: {"reviews": n, "threshold": t, "accuracy": a, "roc_auc": auc,
        "confusion_matrix": [[tn, fp], [fn, tp]]} (rows true class, columns predicted class).

    Raises:
        DataFormatError: on labels other than 0/1, non-finite scores or a single class.
        ValueError: on mismatched lengths.
    """
    y_true, y_prob = _check_binary(y_true, y_prob)
    y_pred = (y_prob > threshold).astype(np.int64)
    # Index 2 * true + predicted counts tn, fp, fn, tp in one pass.
    tn, fp, fn, tp = np.bincount(2 * y_true + y_pred, minlength=4).tolist()
    return {
        "reviews": int(y_true.size),
        "threshold": float(threshold),
        "accuracy": (tn + tp) / y_true.size,
        "roc_auc": roc_auc(y_true, y_prob),
        "confusion_matrix": [[tn, fp], [fn, tp]],
    }


def majority_baseline(train_labels: np.ndarray, eval_labels: np.ndarray) -> dict:
    """Predict the training set's most common class for every review.

    A constant score ranks every review equal, so its AUC is exactly 0.5. On a tie (IMDB's training set is
    exactly balanced) the class is 0, negative, as numpy's argmax picks the first maximum.

    Args:
        train_labels: (n_train,) labels 0/1 the majority is taken from.
        eval_labels: (n_eval,) labels 0/1 it is scored on, both classes present.

    Returns:
        binary_metrics' dict plus "predicted_class".

    Raises:
        DataFormatError: on empty or non-binary labels.
    """
    train_labels = np.asarray(train_labels).reshape(-1)
    if train_labels.size == 0 or not np.isin(train_labels, (0, 1)).all():
        raise DataFormatError(f"{train_labels.size} training labels; expected at least one, each 0 or 1")
    majority = int(np.argmax(np.bincount(train_labels.astype(np.int64), minlength=2)))
    eval_labels = np.asarray(eval_labels).reshape(-1)
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
) -> keras.Model:
    """Train the bag-of-words baseline (tasks.model.architectures.build_bag_of_words) on multi-hot reviews.

    The multi-hot rows are built one batch at a time (tasks.model.architectures.multi_hot_batches), not for the whole set at
    once as the book did (20,000 reviews x 10,000 words of float32 is 800 MB, and as much again inside fit):
    what is held is the reviews' ids. The reviews are shuffled every epoch in an order drawn from `seed`.

    Args:
        train_reviews: one int array of ids per review, unpadded, already offset by tasks.model.architectures.offset_reviews
            (START_CHAR first, OOV_CHAR for rare words, every id < num_words); padding would count as a word.
        train_labels: (n_train,) labels 0/1.
        val_reviews: reviews encoded the same way, for the validation curves in model.history; None for none.
        val_labels: (n_val,) labels 0/1, or None.
        epochs: passes over the training reviews.
        batch_size: reviews per gradient step.
        seed: seeds Python, numpy and the backend (weights, shuffling) through keras.utils.set_random_seed.
        num_words: vocabulary size, the width of the multi-hot vectors.
        learning_rate: RMSprop step size.

    Returns:
        The trained model; its History is `model.history`.

    Raises:
        SettingsError: on non-positive epochs or batch size, mismatched lengths, or an id >= num_words.
    """
    import keras

    from tasks.model import build_bag_of_words, multi_hot_batches

    if epochs < 1 or batch_size < 1:
        raise SettingsError(f"epochs {epochs} and batch_size {batch_size}: expected both at least 1")
    train_labels = np.asarray(train_labels, dtype=np.float32).reshape(-1)
    if len(train_reviews) != train_labels.size or train_labels.size == 0:
        raise SettingsError(
            f"{len(train_reviews)} training reviews and {train_labels.size} labels; expected one label each, "
            "at least one review"
        )
    validation_data = None
    if val_reviews is not None:
        val_labels = np.asarray(val_labels, dtype=np.float32).reshape(-1)
        if len(val_reviews) != val_labels.size:
            raise SettingsError(f"{len(val_reviews)} validation reviews and {val_labels.size} labels")
        validation_data = multi_hot_batches(val_reviews, val_labels, batch_size=batch_size, num_words=num_words)

    keras.utils.set_random_seed(seed)  # first: the shuffle's seeds are the global seed and `seed`
    train_batches = multi_hot_batches(train_reviews, train_labels, batch_size=batch_size, num_words=num_words,
                                      shuffle=True, seed=seed)  # ((batch, num_words), (batch,)), new order each epoch
    model = build_bag_of_words(num_words, learning_rate=learning_rate)
    model.fit(train_batches, epochs=epochs, validation_data=validation_data, shuffle=False, verbose=0)
    return model


def bag_of_words_metrics(model: keras.Model, reviews: Sequence[np.ndarray], labels: np.ndarray) -> dict:
    """binary_metrics of a bag-of-words model on reviews encoded as for fit_bag_of_words.

    Args:
        model: from fit_bag_of_words; its input width is the vocabulary size.
        reviews: unpadded, offset reviews (tasks.model.architectures.offset_reviews).
        labels: (n,) labels 0/1.

    Returns:
        binary_metrics' dict.
    """
    from tasks.model import multi_hot_batches

    num_words = int(model.input_shape[-1])
    if len(reviews) == 0:
        return binary_metrics(labels, np.zeros(0))  # refuses zero reviews with its own message
    # Encoded a batch at a time: 512 reviews x 10,000 words of float32 is 20 MB, not 1 GB for 25,000 reviews.
    batches = multi_hot_batches(reviews, batch_size=512, num_words=num_words)
    return binary_metrics(labels, model.predict(batches, verbose=0).reshape(-1))


# ---------------------------------------------------------------------------------------------------------------
# Blessing
# ---------------------------------------------------------------------------------------------------------------
def strongest_baseline(baselines: Mapping[str, float], higher_is_better: bool) -> tuple[str, float]:
    """The baseline hardest to beat: the highest score or the lowest error; the first listed on a tie.

    Args:
        baselines: name -> value of the same metric, e.g. {"persistence": 0.29, "mean": 0.88}.
        higher_is_better: True for accuracy or AUC, False for MAE.

    Returns:
        (name, value).

    Raises:
        ValueError: if there are no baselines.
        DataFormatError: if a value is not a finite number.
    """
    if not baselines:
        raise ValueError("no baselines to compare with; expected at least one name -> value")
    for name, value in baselines.items():
        if not math.isfinite(value):
            raise DataFormatError(f"baseline {name!r} has value {value}; expected a finite number")
    pick = max if higher_is_better else min
    name = pick(baselines, key=lambda key: baselines[key])  # max/min keep the first of equal values
    return name, float(baselines[name])


def bless(
    model_value: float,
    baselines: Mapping[str, float],
    *,
    higher_is_better: bool,
    margin: float,
    metric: str = "score",
) -> dict:
    """Whether a model beats its strongest baseline by at least `margin`.

    Lower is better (MAE): blessed iff model <= baseline - margin. Higher is better (accuracy): blessed iff
    model >= baseline + margin. The boundary itself is blessed, up to float rounding (0.2 beats 0.3 by 0.1
    although 0.3 - 0.1 is 0.19999999999999998 in binary). A NaN model value is not blessed.

    Args:
        model_value: the model's metric on the evaluation split.
        baselines: name -> the same metric for each baseline, on the same split.
        higher_is_better: True for accuracy or AUC, False for MAE.
        margin: the least improvement that counts, in the metric's units; 0 asks only to match the baseline.
        metric: how the reason names the value, e.g. "val MAE" or "test accuracy".

    Returns:
        A JSON-ready dict: blessed, baseline (name), baseline_value, margin, model_value, higher_is_better and
        reason, a sentence such as "val MAE 0.452 does not beat persistence 0.29 by 0.005: not blessed".

    Raises:
        SettingsError: on a negative or non-finite margin.
        ValueError: if there are no baselines.
    """
    if not (math.isfinite(margin) and margin >= 0):
        raise SettingsError(f"margin {margin}: expected a finite number >= 0 in the metric's units")
    name, baseline_value = strongest_baseline(baselines, higher_is_better)
    model_value = float(model_value)
    improvement = model_value - baseline_value if higher_is_better else baseline_value - model_value
    blessed = bool(improvement >= margin or math.isclose(improvement, margin, rel_tol=1e-9, abs_tol=1e-12))
    verb = "beats" if blessed else "does not beat"
    reason = (
        f"{metric} {model_value:.4g} {verb} {name} {baseline_value:.4g} by {margin:.4g}: "
        f"{'blessed' if blessed else 'not blessed'}"
    )
    return {
        "blessed": blessed,
        "baseline": name,
        "baseline_value": baseline_value,
        "margin": float(margin),
        "model_value": model_value,
        "higher_is_better": bool(higher_is_better),
        "reason": reason,
    }


# ---------------------------------------------------------------------------------------------------------------
# The stage: judge a saved model folder on a published dataset version
# ---------------------------------------------------------------------------------------------------------------
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
                                                    "max_test_samples", "bow_epochs", "seed")}
    key = short_key("bag-of-words", data_sha256, settings)
    folder = runs.baselines_dir(artifacts_dir, "imdb", key)
    cached = folder / BAG_OF_WORDS
    if cached.is_file():
        stored = runs.read_json(cached, "a bag-of-words baseline written by tasks.judge.evaluate")
        if all(split in stored for split in EVAL_SPLITS):
            log(f"bag-of-words baseline reused from {folder}")
            return {split: stored[split] for split in EVAL_SPLITS}
    log(f"training the bag-of-words baseline once for this dataset version -> {folder}")
    bow = fit_bag_of_words(data.offset["train"], data.y["train"], data.offset["val"], data.y["val"],
                           epochs=s.bow_epochs, batch_size=BOW_BATCH_SIZE, seed=s.seed, num_words=s.num_words)
    metrics = {split: bag_of_words_metrics(bow, data.offset[split], data.y[split]) for split in EVAL_SPLITS}
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".bag_of_words.{os.getpid()}.keras"
    bow.save(tmp)
    os.replace(tmp, folder / "bag_of_words.keras")
    atomic.write_json(cached, {"data_sha256": data_sha256, "settings": settings, **metrics})
    return metrics


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
    stored = runs.read_json(source, "every Jena run folder has one")
    normalizer = normalizer_from_json(stored, source)
    differ = {key: (stored[key], value) for key, value in split_settings(s).items()
              if key in stored and stored[key] != value}  # a file from before the blocked split has no such keys
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
    training = runs.read_json(training_file, "written when training finished") if training_file.is_file() else {}
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
        "settings": asdict(s),
        **runs.provenance(),
    }
    save_arrays(out_dir / runs.EVALUATION_ARRAYS, arrays)
    atomic.write_json(out_dir / runs.METRICS, metrics)  # last: its presence means the evaluation finished
    return metrics


def _evaluate_run_name() -> str:
    from prefect.runtime import task_run

    return f"evaluate {Path(task_run.parameters['model_dir']).name}"


@task(task_run_name=_evaluate_run_name)
def evaluate_model_task(model_dir: Path, data_dir: Path, out_dir: Path, artifacts_dir: Path | None = None) -> str:
    """Judge a saved model against its baselines on the published data; returns out_dir/metrics.json.

    A finished evaluation of the same model on the same data (a run resumed after a crash, or a reused run) is
    kept as it is."""
    metrics_path = Path(out_dir) / runs.METRICS
    if metrics_path.is_file():
        done = runs.read_metrics(out_dir)
        model_dir = runs.check_model_dir(model_dir)
        family = runs.read_settings(model_dir).family
        current = data_fingerprint(dataset_path(Path(data_dir), family), family)["sha256"]
        if (done.get("data") or {}).get("sha256") == current and done.get("model_dir") == str(model_dir.resolve()):
            return str(metrics_path)
    evaluate_model(Path(model_dir), Path(data_dir), Path(out_dir), Path(artifacts_dir) if artifacts_dir else None)
    return str(metrics_path)
