"""The figures of an evaluation: forecasts against the measured temperature (a time series), ROC curve and
confusion matrix (text classification). Which of them a folder gets is its kind's (tasks.publish.kinds);
tasks.publish.figures draws them all, with the training curves (tasks.publish.curves).

Each function draws one PNG (tasks.publish.canvas: the Agg canvas, an atomic write) and returns its path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tasks.publish.canvas import BASELINE_COLOR, MODEL_COLOR, PANEL, TRUTH_COLOR, WIDE, axis_label, date_axis
from tasks.publish.canvas import new_figure as _new_figure, save_png as _save  # the names the figures below call


# ---------------------------------------------------------------------------------------------------------------
# A time series: forecasts against the measured temperature
# ---------------------------------------------------------------------------------------------------------------
def _as_datetimes(times: np.ndarray) -> np.ndarray:
    times = np.asarray(times)
    if np.issubdtype(times.dtype, np.datetime64):
        return times.astype("datetime64[s]")
    if np.issubdtype(times.dtype, np.number):
        return times.astype(np.int64).astype("datetime64[s]")  # seconds since 1970, as tasks.model.windows' timestamps
    raise ValueError(f"times of dtype {times.dtype}; expected datetime64 or seconds since 1970")


def plot_jena_predictions(
    times: np.ndarray,
    truth_c: np.ndarray,
    model_c: np.ndarray,
    baseline_c: np.ndarray,
    out: Path,
    *,
    title: str,
    model_name: str,
    baseline_name: str = "persistence",
) -> Path:
    """A stretch of forecasts: the measured temperature, the model's forecast and the baseline's, against time.

    Pass a short stretch (about 10 days of consecutive test windows); the legend gives each forecast's MAE over
    the stretch shown.

    Args:
        times: (n,) time of each target, datetime64 or int seconds since 1970.
        truth_c: (n,) measured temperature at that time, °C.
        model_c: (n,) or (n, 1) the model's forecast, °C.
        baseline_c: (n,) the baseline's forecast, °C.
        out: the PNG to write.
        title: figure title.
        unit: what the cells count, as the dataset's spec says it ([evaluation] unit: "reviews", "texts").
        model_name: legend name of the model.
        baseline_name: legend name of the baseline.

    Returns:
        `out`.

    Raises:
        ValueError: if the arrays are empty or differ in length, or the times are neither dates nor seconds.
    """
    when, truth, model, baseline = _forecast_arrays(times, truth_c, model_c, baseline_c)
    fig = _new_figure(WIDE)
    ax = fig.subplots()
    _draw_forecast(ax, when, truth, model, baseline, model_name, baseline_name)
    # Above the axes: a temperature trace fills its whole box, so any legend inside would hide some of it.
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, frameon=False, fontsize="small")
    fig.suptitle(title)
    return _save(fig, out)


def _forecast_arrays(times, truth_c, model_c, baseline_c) -> tuple[np.ndarray, ...]:
    """(when, truth, model, baseline) as (n,) arrays, after checking they pair up."""
    when = _as_datetimes(times).reshape(-1)
    series = [np.asarray(v, dtype=np.float64).reshape(-1) for v in (truth_c, model_c, baseline_c)]
    lengths = [when.size] + [s.size for s in series]
    if len(set(lengths)) > 1 or when.size == 0:
        raise ValueError(
            f"times, truth, model and baseline have {lengths} values; expected the same non-zero number each"
        )
    return (when, *series)


def _draw_forecast(ax, when, truth, model, baseline, model_name: str, baseline_name: str, unit: str = "°C",
                   quantity: str = "Temperature") -> None:
    """One stretch on `ax`: measured, forecast and baseline; the legend gives each forecast's MAE on it, in the
    target's unit."""
    ax.plot(when, truth, color=TRUTH_COLOR, linewidth=1.6, label="measured")
    ax.plot(when, model, color=MODEL_COLOR, linewidth=1.3,
            label=f"{model_name} (MAE {np.mean(np.abs(model - truth)):.2f} {unit})")  # fmt: skip
    ax.plot(when, baseline, color=BASELINE_COLOR, linewidth=1.2, linestyle="--",
            label=f"{baseline_name} (MAE {np.mean(np.abs(baseline - truth)):.2f} {unit})")  # fmt: skip
    date_axis(ax)
    ax.set_xlabel("Date of the forecast target")
    ax.set_ylabel(axis_label(quantity, unit))
    ax.grid(alpha=0.3)


def plot_jena_stretches(
    stretches: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    out: Path,
    *,
    title: str,
    model_name: str,
    baseline_name: str = "persistence",
    unit: str = "°C",
    quantity: str = "Temperature",
) -> Path:
    """Several stretches of forecasts (e.g. one per season), one panel each, stacked; figures in `unit`, the
    target's (`quantity`, the y axis's name).

    Each panel's title names the stretch and gives the MAE of the model and the baseline on exactly the windows
    it draws.

    Args:
        stretches: (label, times, truth °C, model °C, baseline °C) per panel, as for plot_jena_predictions.
        out: the PNG to write.
        title: figure title.
        model_name: legend name of the model.
        baseline_name: legend name of the baseline.

    Returns:
        `out`.

    Raises:
        ValueError: if there are no stretches, or one's arrays are empty or differ in length.
    """
    if not stretches:
        raise ValueError("no stretches to draw; expected at least one (label, times, truth, model, baseline)")
    checked = [(label, *_forecast_arrays(*arrays)) for label, *arrays in stretches]
    fig = _new_figure((WIDE[0], 1.0 + 3.0 * len(checked)))
    axes = fig.subplots(len(checked), 1, squeeze=False)[:, 0]
    for ax, (label, when, truth, model, baseline) in zip(axes, checked):
        _draw_forecast(ax, when, truth, model, baseline, model_name, baseline_name, unit, quantity)
        span = f"{str(when[0].astype('datetime64[D]'))} to {str(when[-1].astype('datetime64[D]'))}"
        ax.set_title(f"{label}, {span}: {model_name} MAE {np.mean(np.abs(model - truth)):.2f} {unit}, "
                     f"{baseline_name} {np.mean(np.abs(baseline - truth)):.2f} {unit} on {when.size:,} windows",
                     fontsize="medium")
        ax.legend(loc="upper right", fontsize="x-small", framealpha=0.8)
    fig.suptitle(title)
    return _save(fig, out)


# ---------------------------------------------------------------------------------------------------------------
# Text classification: ROC curve and confusion matrix
# ---------------------------------------------------------------------------------------------------------------
def plot_roc(fpr: np.ndarray, tpr: np.ndarray, auc: float, out: Path, *, title: str, label: str = "model",
             labels: tuple[str, str] = ("negative", "positive")) -> Path:
    """The ROC curve with the chance diagonal; the legend gives the AUC.

    Args:
        fpr: (points,) false positive rates, from tasks.judge.metrics.roc_curve.
        tpr: (points,) true positive rates.
        auc: area under the curve, from tasks.judge.metrics.roc_auc.
        out: the PNG to write.
        title: figure title.
        label: legend name of the model.
        labels: the names of label 0 and label 1 (the positive class), as the data names them.

    Returns:
        `out`.

    Raises:
        ValueError: if fpr and tpr differ in length, are empty, or leave [0, 1].
    """
    fpr = np.asarray(fpr, dtype=np.float64).reshape(-1)
    tpr = np.asarray(tpr, dtype=np.float64).reshape(-1)
    if fpr.shape != tpr.shape or fpr.size == 0:
        raise ValueError(f"{fpr.size} false and {tpr.size} true positive rates; expected the same number, > 0")
    if not (np.all((fpr >= 0) & (fpr <= 1)) and np.all((tpr >= 0) & (tpr <= 1))):
        raise ValueError("false and true positive rates must lie in [0, 1]")

    fig = _new_figure((PANEL[1] + 0.6, PANEL[1] + 0.4))
    ax = fig.subplots()
    ax.plot(fpr, tpr, color=MODEL_COLOR, linewidth=2, label=f"{label} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="chance (AUC 0.500)")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    if tuple(labels) == ("negative", "positive"):  # IMDB's, in the words its figures have always used
        ax.set_xlabel("False positive rate (negatives called positive)")
        ax.set_ylabel("True positive rate (positives found)")
    else:
        ax.set_xlabel(f"False positive rate ({labels[0]} called {labels[1]})")
        ax.set_ylabel(f"True positive rate ({labels[1]} found)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    ax.set_title(title)
    return _save(fig, out)


def plot_confusion_matrix(
    matrix: Sequence[Sequence[int]] | np.ndarray,
    out: Path,
    *,
    title: str,
    labels: tuple[str, ...] = ("negative", "positive"),
    unit: str = "reviews",
) -> Path:
    """The k x k confusion matrix (2 x 2 for two labels) as a heat map, each cell with its count and share of all
    texts.

    Args:
        matrix: rows the true label and columns the predicted one (binary_metrics' [[tn, fp], [fn, tp]] for two).
        out: the PNG to write.
        title: figure title.
        labels: the labels' names, by label number.

    Returns:
        `out`.

    Raises:
        ValueError: if the matrix is not k x k (k the labels) of non-negative counts with at least one text.
    """
    counts = np.asarray(matrix)
    k = len(labels)
    if counts.shape != (k, k) or (counts < 0).any() or counts.sum() == 0:
        raise ValueError(f"confusion matrix {counts.tolist()}: expected {k} x {k} counts >= 0, rows the true labels ([[tn, fp], [fn, tp]] for two)")
    counts = counts.astype(np.int64)
    total = int(counts.sum())

    side = PANEL[1] + 0.6 * max(k - 2, 0)  # room for each further label
    fig = _new_figure((side + 0.6, side + 0.2))
    ax = fig.subplots()
    image = ax.imshow(counts, cmap="Blues", vmin=0)
    for (row, col), count in np.ndenumerate(counts):
        dark = count > counts.max() / 2  # white text on the dark cells, black on the light ones
        ax.text(col, row, f"{count:,}\n{count / total:.1%}", ha="center", va="center",
                color="white" if dark else "black", fontsize="large" if k <= 3 else "small")  # fmt: skip
    names = [f"{name} ({i})" for i, name in enumerate(labels)]
    ax.set_xticks(range(k), names, rotation=0 if k <= 2 else 30, ha="center" if k <= 2 else "right")
    ax.set_yticks(range(k), names, rotation=90 if k <= 2 else 0, va="center")
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    fig.colorbar(image, ax=ax, label=unit.capitalize(), shrink=0.8)
    accuracy = np.trace(counts) / total
    ax.set_title(f"{title}\naccuracy {accuracy:.1%} of {total:,} {unit}", fontsize="medium")
    return _save(fig, out)
