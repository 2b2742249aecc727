"""Figures: training curves, Jena forecasts, ROC curve and confusion matrix; `plot_evaluation` draws a run's.

Each function draws one PNG and returns its path; the PNG is written atomically (tasks.core.atomic), so a reader
never sees half a file. Figures are built with matplotlib's object-oriented API on the Agg canvas and never
through pyplot: pyplot keeps global state that is not thread-safe, and Prefect runs tasks in threads. A Figure
made this way is not registered anywhere, so it needs no plt.close; it is freed with its last reference.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from tasks.core import atomic
from tasks.core.errors import DataFormatError

DPI = 110  # sharp on a laptop screen, small enough for a Prefect artifact
PANEL = (5.5, 4.0)  # inches, one panel; 605 x 440 pixels at DPI
WIDE = (11.0, 4.4)  # inches, two panels side by side or one long time series
TRAIN_COLOR, VAL_COLOR, BEST_COLOR = "tab:blue", "tab:orange", "tab:green"
TRUTH_COLOR, MODEL_COLOR, BASELINE_COLOR = "black", "tab:blue", "tab:orange"

History = Mapping[str, Sequence[float]] | str | Path


def _new_figure(size: tuple[float, float]) -> Figure:
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, out: Path) -> Path:
    """Render `fig` to PNG bytes in memory, then write them atomically to `out`."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return atomic.write_bytes(Path(out), buffer.getvalue())


# ---------------------------------------------------------------------------------------------------------------
# Training curves
# ---------------------------------------------------------------------------------------------------------------
def read_history(history: History) -> dict[str, np.ndarray]:
    """A training history as float64 columns, from Keras' History.history or a CSVLogger file.

    Args:
        history: {"loss": [...], "val_loss": [...], ...} (History.history), or the path of the CSV a
            keras.callbacks.CSVLogger wrote (an "epoch" column counted from 0, then one column per metric).

    Returns:
        Column name -> (epochs,) float64 values; "epoch" is kept if present.

    Raises:
        DataFormatError: if the file is missing, empty or holds a non-numeric cell, or the columns differ in length.
    """
    if isinstance(history, (str, Path)):
        path = Path(history)
        try:
            with path.open(newline="") as f:
                records = list(csv.DictReader(f))
        except OSError as error:
            raise DataFormatError(f"cannot read training history {path}: {error}") from error
        if not records:
            raise DataFormatError(f"training history {path} holds no epochs; expected a CSVLogger header and rows")
        columns: dict[str, list] = {name: [] for name in records[0]}
        for line, record in enumerate(records, start=2):
            for name, cell in record.items():
                try:
                    columns[name].append(float(cell))
                except (TypeError, ValueError):
                    raise DataFormatError(
                        f"training history {path} line {line}, column {name!r}: {cell!r} is not a number"
                    ) from None
        source = str(path)
    else:
        columns = dict(history)
        source = "the training history"
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise DataFormatError(f"columns of {source} differ in length: {lengths}; expected one value per epoch")
    return {name: np.asarray(values, dtype=np.float64) for name, values in columns.items()}


def _require(columns: Mapping[str, np.ndarray], names: Sequence[str], history: History) -> None:
    missing = [name for name in names if name not in columns]
    if missing:
        source = history if isinstance(history, (str, Path)) else "the training history"
        raise DataFormatError(
            f"{source} has no column {', '.join(repr(m) for m in missing)}; it has {sorted(columns)} "
            "(was the model fitted with validation data and this metric?)"
        )


def best_epoch(history: History, metric: str, higher_is_better: bool) -> int:
    """The epoch, counted from 1, with the best validation value of `metric`; the first on a tie.

    Args:
        history: as for read_history.
        metric: metric name without the "val_" prefix, e.g. "accuracy" or "loss".
        higher_is_better: True for accuracy or AUC, False for a loss or MAE.

    Returns:
        The 1-based epoch.

    Raises:
        DataFormatError: if f"val_{metric}" is missing, empty or entirely NaN.
    """
    columns = read_history(history)
    _require(columns, [f"val_{metric}"], history)
    values = columns[f"val_{metric}"]
    if values.size == 0 or np.isnan(values).all():
        raise DataFormatError(f"val_{metric} holds no numbers; expected one value per epoch")
    index = int(np.nanargmax(values) if higher_is_better else np.nanargmin(values))
    return int(_epochs(columns)[index])


def _epochs(columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """Epoch numbers from 1; CSVLogger's own column (from 0) where present, so a resumed log keeps its count."""
    if "epoch" in columns:
        return columns["epoch"].astype(np.int64) + 1
    return np.arange(1, len(next(iter(columns.values()), [])) + 1)


def _training_curves_figure(
    history: History,
    *,
    title: str,
    metric: str,
    metric_label: str,
    higher_is_better: bool,
    loss_label: str,
) -> Figure:
    columns = read_history(history)
    only_loss = metric == "loss"
    _require(columns, ["loss", "val_loss"] if only_loss else [metric, f"val_{metric}", "loss", "val_loss"], history)
    epochs = _epochs(columns)
    best = best_epoch(columns, metric, higher_is_better)
    best_value = columns[f"val_{metric}"][np.flatnonzero(epochs == best)[0]]

    fig = _new_figure(PANEL if only_loss else WIDE)
    axes = fig.subplots(1, 1 if only_loss else 2, squeeze=False)[0]
    panels = [("loss", metric_label)] if only_loss else [(metric, metric_label), ("loss", loss_label)]
    for ax, (name, label) in zip(axes, panels):
        ax.plot(epochs, columns[name], "o-", color=TRAIN_COLOR, markersize=4, linewidth=1, alpha=0.8,
                label="training")  # fmt: skip
        ax.plot(epochs, columns[f"val_{name}"], "s-", color=VAL_COLOR, markersize=4, linewidth=2,
                label="validation")  # fmt: skip
        ax.axvline(best, color=BEST_COLOR, linestyle=":", linewidth=1.5, label=f"best epoch {best}")
        ax.set_xlabel("Epoch")
        ax.set_ylabel(label)
        if not only_loss:  # one panel needs no title of its own under the figure's
            ax.set_title(label.split(" (")[0])  # the quantity without its unit, e.g. "Accuracy"
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0].plot([best], [best_value], "*", color=BEST_COLOR, markersize=14, zorder=5,
                 label=f"best validation {best_value:.4g}")  # fmt: skip
    for ax in axes:
        ax.legend(loc="best", fontsize="small")
    fig.suptitle(title)
    return fig


def plot_training_curves(
    history: History,
    out: Path,
    *,
    title: str,
    metric: str,
    metric_label: str,
    higher_is_better: bool = True,
    loss_label: str = "Loss",
) -> Path:
    """The book's figures: training and validation metric, and training and validation loss, per epoch.

    The best epoch (by the validation metric) is marked on both panels. With metric "loss" (the Jena models,
    whose only metric is their MAE loss) there is one panel, labelled `metric_label`.

    Args:
        history: History.history or the path of a CSVLogger history.csv.
        out: the PNG to write.
        title: figure title, e.g. "IMDB 1D convnet".
        metric: metric name as logged, e.g. "accuracy" or "loss".
        metric_label: axis label with its unit, e.g. "Accuracy" or "MAE (normalized)".
        higher_is_better: direction of the metric, to pick the best epoch (False for a loss).
        loss_label: axis label of the loss panel, e.g. "Binary cross-entropy".

    Returns:
        `out`.

    Raises:
        DataFormatError: if the history cannot be read or lacks the metric, the loss or their "val_" columns.
    """
    return _save(
        _training_curves_figure(
            history,
            title=title,
            metric=metric,
            metric_label=metric_label,
            higher_is_better=higher_is_better,
            loss_label=loss_label,
        ),
        out,
    )


# ---------------------------------------------------------------------------------------------------------------
# Jena
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


def _draw_forecast(ax, when, truth, model, baseline, model_name: str, baseline_name: str) -> None:
    """One stretch on `ax`: measured, forecast and baseline; the legend gives each forecast's MAE on it."""
    ax.plot(when, truth, color=TRUTH_COLOR, linewidth=1.6, label="measured")
    ax.plot(when, model, color=MODEL_COLOR, linewidth=1.3,
            label=f"{model_name} (MAE {np.mean(np.abs(model - truth)):.2f} °C)")  # fmt: skip
    ax.plot(when, baseline, color=BASELINE_COLOR, linewidth=1.2, linestyle="--",
            label=f"{baseline_name} (MAE {np.mean(np.abs(baseline - truth)):.2f} °C)")  # fmt: skip
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("Date of the forecast target")
    ax.set_ylabel("Temperature (°C)")
    ax.grid(alpha=0.3)


def plot_jena_stretches(
    stretches: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    out: Path,
    *,
    title: str,
    model_name: str,
    baseline_name: str = "persistence",
) -> Path:
    """Several stretches of forecasts (e.g. one per season), one panel each, stacked.

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
        _draw_forecast(ax, when, truth, model, baseline, model_name, baseline_name)
        span = f"{str(when[0].astype('datetime64[D]'))} to {str(when[-1].astype('datetime64[D]'))}"
        ax.set_title(f"{label}, {span}: {model_name} MAE {np.mean(np.abs(model - truth)):.2f} °C, "
                     f"{baseline_name} {np.mean(np.abs(baseline - truth)):.2f} °C on {when.size:,} windows",
                     fontsize="medium")
        ax.legend(loc="upper right", fontsize="x-small", framealpha=0.8)
    fig.suptitle(title)
    return _save(fig, out)


def plot_roc(fpr: np.ndarray, tpr: np.ndarray, auc: float, out: Path, *, title: str, label: str = "model") -> Path:
    """The ROC curve with the chance diagonal; the legend gives the AUC.

    Args:
        fpr: (points,) false positive rates, from tasks.judge.evaluate.roc_curve.
        tpr: (points,) true positive rates.
        auc: area under the curve, from tasks.judge.evaluate.roc_auc.
        out: the PNG to write.
        title: figure title.
        label: legend name of the model.

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
    ax.set_xlabel("False positive rate (negatives called positive)")
    ax.set_ylabel("True positive rate (positives found)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    ax.set_title(title)
    return _save(fig, out)


def plot_confusion_matrix(
    matrix: Sequence[Sequence[int]] | np.ndarray,
    out: Path,
    *,
    title: str,
    labels: tuple[str, str] = ("negative", "positive"),
) -> Path:
    """The 2 x 2 confusion matrix as a heat map, each cell with its count and share of all reviews.

    Args:
        matrix: [[tn, fp], [fn, tp]], rows the true class and columns the predicted one (binary_metrics' layout).
        out: the PNG to write.
        title: figure title.
        labels: names of class 0 and class 1.

    Returns:
        `out`.

    Raises:
        ValueError: if the matrix is not 2 x 2 of non-negative counts with at least one review.
    """
    counts = np.asarray(matrix)
    if counts.shape != (2, 2) or (counts < 0).any() or counts.sum() == 0:
        raise ValueError(f"confusion matrix {counts.tolist()}: expected [[tn, fp], [fn, tp]] of counts >= 0")
    counts = counts.astype(np.int64)
    total = int(counts.sum())

    fig = _new_figure((PANEL[1] + 0.6, PANEL[1] + 0.2))
    ax = fig.subplots()
    image = ax.imshow(counts, cmap="Blues", vmin=0)
    for (row, col), count in np.ndenumerate(counts):
        dark = count > counts.max() / 2  # white text on the dark cells, black on the light ones
        ax.text(col, row, f"{count:,}\n{count / total:.1%}", ha="center", va="center",
                color="white" if dark else "black", fontsize="large")  # fmt: skip
    ax.set_xticks([0, 1], [f"{labels[0]} (0)", f"{labels[1]} (1)"])
    ax.set_yticks([0, 1], [f"{labels[0]} (0)", f"{labels[1]} (1)"], rotation=90, va="center")
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    fig.colorbar(image, ax=ax, label="Reviews", shrink=0.8)
    accuracy = (counts[0, 0] + counts[1, 1]) / total
    ax.set_title(f"{title}\naccuracy {accuracy:.1%} of {total:,} reviews", fontsize="medium")
    return _save(fig, out)


# ---------------------------------------------------------------------------------------------------------------
# A tune's trials (tasks.tune.trials)
# ---------------------------------------------------------------------------------------------------------------
def plot_tune(
    labels: Sequence[str],
    val: Sequence[float],
    test: Sequence[float],
    out: Path,
    *,
    winner: int,
    title: str,
    metric_label: str,
    val_range: Sequence[Sequence[float]] | None = None,
    test_range: Sequence[Sequence[float]] | None = None,
) -> Path:
    """Validation and test figures per trial, the winner (chosen on validation alone) marked; for a tune over
    seeds, the figures are means and the ranges over the seeds are drawn as bars.

    Args:
        labels: (trials,) each trial's settings, short ("lr=0.001 dropout=0.5").
        val: (trials,) the validation metric of each trial; NaN for one that diverged.
        test: (trials,) the test metric, shown for information only.
        out: the PNG to write.
        winner: index of the winning trial in the lists.
        title: figure title.
        metric_label: y-axis label, e.g. "Accuracy" or "MAE (°C)".
        val_range, test_range: (trials, 2) each trial's [min, max] over seeds, or None.

    Returns:
        `out`.

    Raises:
        ValueError: if the lists differ in length or are empty, or `winner` is not one of them.
    """
    val = np.asarray(val, dtype=np.float64).reshape(-1)
    test = np.asarray(test, dtype=np.float64).reshape(-1)
    if not len(labels) == val.size == test.size or val.size == 0:
        raise ValueError(f"{len(labels)} labels, {val.size} val and {test.size} test figures; expected the same "
                         "number, > 0")
    if not 0 <= winner < val.size:
        raise ValueError(f"winner={winner}: expected an index below {val.size}")

    x = np.arange(1, val.size + 1)
    fig = _new_figure((max(PANEL[0], 1.2 + 0.9 * val.size), PANEL[1] + 0.6))
    ax = fig.subplots()
    ax.axvspan(winner + 0.6, winner + 1.4, color=BEST_COLOR, alpha=0.15, label="winner (on validation)")
    for points, bounds, marker, color, size, label, shift in (
            (val, val_range, "o", VAL_COLOR, 8, "validation (judges)", -0.08),
            (test, test_range, "s", TRAIN_COLOR, 6, "test (for information)", 0.08)):
        if bounds is None:
            ax.plot(x, points, marker, color=color, markersize=size, label=label)
            continue
        bounds = np.asarray(bounds, dtype=np.float64).reshape(val.size, 2)
        ax.errorbar(x + shift, points, yerr=[points - bounds[:, 0], bounds[:, 1] - points], fmt=marker, color=color,
                    markersize=size, capsize=3, label=f"{label}: mean, range over seeds")
    ax.set_xticks(x, [f"{i}\n{label}" for i, label in zip(x, labels)], fontsize="x-small")
    ax.set_xlim(0.4, val.size + 0.6)
    ax.set_xlabel("Trial")
    ax.set_ylabel(metric_label)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(loc="best", fontsize="small")
    ax.set_title(title)
    return _save(fig, out)


# ---------------------------------------------------------------------------------------------------------------
# Forecasts of new data (tasks.serve.predict)
# ---------------------------------------------------------------------------------------------------------------
def plot_forecast(
    observed_seconds: np.ndarray,
    observed_c: np.ndarray,
    target_seconds: np.ndarray,
    forecast_c: np.ndarray,
    persistence_c: np.ndarray,
    out: Path,
    *,
    title: str,
    model_name: str = "model",
    days: float = 3.0,
) -> Path:
    """The last days of measured temperature and the forecasts made from the last 24 hours of readings.

    Each forecast is drawn at the time it is for (up to a day beyond the last reading), persistence (the
    temperature at the forecast's reading) beside it; a vertical line marks the last reading, a dot and a label
    the headline forecast (the newest).

    Args:
        observed_seconds: (rows,) seconds since 1970 of each reading (station time).
        observed_c: (rows,) measured temperature, °C; NaN where none was read (drawn as a hole).
        target_seconds: (anchors,) the time each forecast is for, in time order.
        forecast_c: (anchors,) the model's forecasts, °C.
        persistence_c: (anchors,) persistence's forecasts for the same times, °C.
        out: the PNG to write.
        title: the figure title; say what is shown (model, source, last reading).
        model_name: legend name of the model.
        days: days of measurements shown before the last reading.

    Returns:
        `out`.

    Raises:
        ValueError: if there is no reading or no forecast, or the arrays of one kind differ in length.
    """
    seen = np.asarray(observed_seconds, dtype=np.int64).reshape(-1)
    seen_c = np.asarray(observed_c, dtype=np.float64).reshape(-1)
    when = np.asarray(target_seconds, dtype=np.int64).reshape(-1)
    model, baseline = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (forecast_c, persistence_c))
    if seen.size == 0 or seen.size != seen_c.size or when.size == 0 or not when.size == model.size == baseline.size:
        raise ValueError(
            f"{seen.size} reading times for {seen_c.size} temperatures, {when.size} forecast times for "
            f"{model.size} forecasts and {baseline.size} persistence values; expected matching, non-zero counts"
        )
    shown = seen >= seen[-1] - days * 86_400
    as_dates = lambda s: s.astype("datetime64[s]")  # noqa: E731 - seconds since 1970 to matplotlib's dates

    fig = _new_figure(WIDE)
    ax = fig.subplots()
    ax.plot(as_dates(seen[shown]), seen_c[shown], color=TRUTH_COLOR, linewidth=1.4, label="measured")
    ax.plot(as_dates(when), model, color=MODEL_COLOR, linewidth=1.6, label=f"{model_name} forecast")
    ax.plot(as_dates(when), baseline, color=BASELINE_COLOR, linewidth=1.2, linestyle="--",
            label="persistence (temperature at the reading)")  # fmt: skip
    ax.axvline(as_dates(seen[-1:])[0], color="gray", linewidth=1.0, linestyle=":", label="last reading")
    ax.plot(as_dates(when[-1:]), model[-1:], "o", color="tab:blue")
    ax.annotate(f"{model[-1]:.1f} °C", (as_dates(when[-1:])[0], model[-1]), textcoords="offset points",
                xytext=(-4, 8), ha="right", color="tab:blue", fontsize="small")  # fmt: skip
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("Time (station time); forecasts drawn at the time they are for")
    ax.set_ylabel("Temperature (°C)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=4, frameon=False, fontsize="small")
    fig.suptitle(title)
    return _save(fig, out)


# ---------------------------------------------------------------------------------------------------------------
# A run's or an evaluation's figures, from the files the train and evaluate stages wrote
# ---------------------------------------------------------------------------------------------------------------
FORECAST_DAYS = 10  # consecutive test windows per panel of the forecast plot: days show, and stay readable
SEASON_NAMES = {"DJF": "Winter (DJF)", "MAM": "Spring (MAM)", "JJA": "Summer (JJA)", "SON": "Autumn (SON)"}


def season_stretches(seconds: np.ndarray, days: int = FORECAST_DAYS) -> list[tuple[str, np.ndarray]]:
    """For each season among the targets, in the order they first appear: the first `days` days of its windows.

    Args:
        seconds: (windows,) time of each window's target, in time order.
        days: length of each stretch.

    Returns:
        [(season, mask (windows,) bool), ...]: windows whose target is in that season and within `days` days of
        the season's first target.
    """
    from tasks.model import season_of

    seconds = np.asarray(seconds, dtype=np.int64)
    seasons = season_of(seconds)  # (windows,)
    order = [seasons[i] for i in sorted(np.unique(seasons, return_index=True)[1])]
    stretches = []
    for season in order:
        start = seconds[seasons == season][0]
        stretches.append((str(season), (seasons == season) & (seconds >= start) & (seconds < start + days * 86_400)))
    return stretches


def plot_imdb_evaluation(arrays: Mapping[str, np.ndarray], metrics: Mapping, out_dir: Path) -> list[Path]:
    """roc.png and confusion.png of the test split."""
    from tasks.judge import roc_curve

    model, test = metrics["model"], metrics["test"]
    fpr, tpr, _ = roc_curve(arrays["test_labels"], arrays["test_scores"])
    return [
        plot_roc(fpr, tpr, test["roc_auc"], out_dir / "roc.png",
                 title=f"{model}: ROC on the test set ({test['reviews']:,} reviews)"),
        plot_confusion_matrix(test["confusion_matrix"], out_dir / "confusion.png",
                              title=f"{model}: test confusion matrix (threshold 0.5)"),
    ]


def plot_jena_evaluation(arrays: Mapping[str, np.ndarray], metrics: Mapping, out_dir: Path) -> list[Path]:
    """predictions.png: for each season present in the test split, its first FORECAST_DAYS days of test windows,
    one panel each; a panel's title gives the MAE of exactly the windows it draws, the figure's the whole test
    split's, so the figures are never confused."""
    model, test = metrics["model"], metrics["test"]
    seconds = arrays["test_seconds"]
    stretches = [(SEASON_NAMES[season], seconds[shown], arrays["test_truth"][shown],
                  arrays["test_predictions"][shown], arrays["test_persistence"][shown])
                 for season, shown in season_stretches(seconds)]
    title = (f"{model}: temperature 24 h ahead, the first {FORECAST_DAYS} days of test windows in each season — "
             f"test MAE {test['mae_celsius']:.2f} °C on all {test['windows']:,} windows")
    return [plot_jena_stretches(stretches, out_dir / "predictions.png", title=title, model_name=model)]


EVALUATION_PLOTS = {"imdb": plot_imdb_evaluation, "jena": plot_jena_evaluation}  # family -> its figures


def plot_evaluation(out_dir: Path, history_dir: Path | None = None) -> list[Path]:
    """Every figure of an evaluated model folder: the training curves (from history.csv in `history_dir`, the run
    folder, when there is one) and the family's figures from evaluation.npz and metrics.json.

    Args:
        out_dir: a run or evaluation folder holding metrics.json and evaluation.npz; the PNGs go there.
        history_dir: the folder with the run's history.csv; default out_dir.

    Returns:
        The PNGs written.
    """
    import json

    from tasks.core.config import family_of
    from tasks.judge import load_arrays

    out_dir = Path(out_dir)
    metrics = json.loads((out_dir / "metrics.json").read_text(encoding="utf-8"))
    spec = family_of(metrics["model"])
    written = []
    history = Path(history_dir or out_dir) / "history.csv"
    if history.is_file():
        written.append(plot_training_curves(history, out_dir / "curves.png", title=f"{metrics['model']}: training curves",
                                            metric=spec.curve, metric_label=spec.curve_label,
                                            higher_is_better=spec.higher_is_better))
    arrays = load_arrays(out_dir / "evaluation.npz")
    return written + EVALUATION_PLOTS[spec.name](arrays, metrics, out_dir)


# ---------------------------------------------------------------------------------------------------------------
# Drift (tasks.ingest.drift): the reference's histogram against the new data's, on the reference's bins
# ---------------------------------------------------------------------------------------------------------------
REFERENCE_COLOR, NEW_COLOR = "tab:blue", "tab:red"


def plot_drift(report: Mapping, out: Path, most: int = 4) -> Path | None:
    """Old vs new histograms of the `most` most-moved features of a drift report (tasks.ingest.drift), one panel each.

    Everything drawn is in the report: the reference's partition weights and the new data's shares on the same
    bins (and beyond them, in the titles), so no data is read. The partition's floor (a small share spread over
    every bin) is left in the reference's bars: it is what the KL divergence was measured against.

    Returns:
        `out`, or None when the report has no feature with a histogram (a first ingestion, an error).
    """
    shown = [f for f in report.get("features") or []
             if "bins" in (f.get("reference") or {}) and "weights" in (f.get("new") or {})][:most]
    if not shown:
        return None
    fig = _new_figure((WIDE[0], 0.6 + 2.6 * ((len(shown) + 1) // 2)))
    axes = fig.subplots((len(shown) + 1) // 2, 2 if len(shown) > 1 else 1, squeeze=False).reshape(-1)
    for ax, feature in zip(axes, shown):
        edges = np.asarray(feature["reference"]["bins"], dtype=np.float64)
        widths = np.diff(edges)
        ax.bar(edges[:-1], feature["reference"]["weights"], width=widths, align="edge", color=REFERENCE_COLOR,
               alpha=0.45, label="reference")
        ax.stairs(feature["new"]["weights"], edges, color=NEW_COLOR, linewidth=1.8, label="new")
        below, above = feature["new"].get("tail_weights", [0.0, 0.0])
        moved = f"KL {feature['kl']:.3g}" if feature.get("kl") is not None else (
            f"change {feature['change']:.3g}" if feature.get("change") is not None else "KL inf")
        tails = f"\nnew rows outside the reference range: {below:.0%} below, {above:.0%} above" if below or above else ""
        ax.set_title(f"{feature['name']}: {moved}{' (flagged)' if feature.get('flagged') else ''}{tails}",
                     fontsize="small")
        ax.set_ylabel("Share of rows")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small")
    for ax in axes[len(shown):]:
        ax.set_visible(False)
    from tasks.core.tables import describe_months

    ref, new = report.get("reference") or {}, report.get("new") or {}
    span = lambda side: describe_months(side["months"]) if side.get("months") else f"{side.get('rows', '?'):,} rows"  # noqa: E731
    fig.suptitle(f"{report.get('dataset')}: reference ({ref.get('kind')}, {span(ref)}) vs new ({span(new)}), "
                 "the most moved first")
    return _save(fig, out)
