"""Metrics: the figures a model and its baselines are judged on, plain functions on arrays.

Jena: the mean absolute error, computed in normalized units as the models' loss, and converted to °C with the
training std. IMDB: accuracy, exact ROC AUC (and the ROC curve the plots draw) and the confusion matrix, in numpy.

Errors: a data problem (no values, one class only, non-finite scores) is a DataFormatError; arguments that do not
pair up are a ValueError (a caller's bug, not the user's).
"""

from __future__ import annotations

import numpy as np

from tasks.core.errors import DataFormatError


# ---------------------------------------------------------------------------------------------------------------
# Jena
# ---------------------------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------------------------
# IMDB
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


# ---------------------------------------------------------------------------------------------------------------
# More than two labels
# ---------------------------------------------------------------------------------------------------------------
def multiclass_metrics(y_true: np.ndarray, y_prob: np.ndarray) -> dict:
    """Accuracy, macro-F1 and the confusion matrix of a softmax output: a text gets its most probable label.

    Macro-F1 is the mean over labels of each label's F1 (2 precision recall / (precision + recall)), every label
    weighing the same however many texts it has; a label never predicted nor present scores 0 (sklearn's
    zero_division=0).

    Args:
        y_true: (n,) label numbers 0..k-1.
        y_prob: (n, k) probabilities (or any scores: only their argmax counts).

    Returns:
        {"reviews": n, "accuracy": a, "macro_f1": f, "f1": [per label], "confusion_matrix": k x k} (rows true
        label, columns predicted), JSON-ready.

    Raises:
        DataFormatError: no labels, a label outside 0..k-1, or non-finite scores.
        ValueError: lengths that do not pair up.
    """
    y_prob = np.asarray(y_prob, dtype=np.float64)
    y_true = np.asarray(y_true).reshape(-1)
    if y_prob.ndim != 2 or y_prob.shape[0] != y_true.size:
        raise ValueError(f"{y_true.size} labels and scores of shape {y_prob.shape}; expected (labels, classes)")
    if y_true.size == 0:
        raise DataFormatError("no labels: metrics of zero texts are undefined")
    k = y_prob.shape[1]
    if not np.isin(y_true, np.arange(k)).all():
        bad = y_true[~np.isin(y_true, np.arange(k))][0].item()
        raise DataFormatError(f"label {bad!r} found; expected label numbers 0..{k - 1}")
    if not np.isfinite(y_prob).all():
        raise DataFormatError("non-finite scores; expected finite probabilities (did training diverge?)")
    y_true = y_true.astype(np.int64)
    y_pred = np.argmax(y_prob, axis=1)
    confusion = np.bincount(k * y_true + y_pred, minlength=k * k).reshape(k, k)
    tp = np.diag(confusion).astype(np.float64)
    denominator = confusion.sum(axis=0) + confusion.sum(axis=1)  # predicted + true = 2tp + fp + fn
    f1 = np.divide(2 * tp, denominator, out=np.zeros(k), where=denominator > 0)
    return {
        "reviews": int(y_true.size),
        "accuracy": float(tp.sum() / y_true.size),
        "macro_f1": float(f1.mean()),
        "f1": [float(v) for v in f1],
        "confusion_matrix": confusion.tolist(),
    }


def label_metrics(y_true: np.ndarray, y_prob: np.ndarray) -> dict:
    """binary_metrics for a sigmoid output ((n,) or (n, 1)), multiclass_metrics for a softmax one ((n, k>2))."""
    y_prob = np.asarray(y_prob)
    if y_prob.ndim == 2 and y_prob.shape[1] > 2:
        return multiclass_metrics(y_true, y_prob)
    return binary_metrics(y_true, y_prob)
