"""Training curves: a run's history (Keras' History or its CSVLogger file) read back, its best epoch, the book's figures.

Each plot function draws one PNG (tasks.publish.canvas) and returns its path.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from tasks.core.errors import DataFormatError
from tasks.publish.canvas import BEST_COLOR, PANEL, TRAIN_COLOR, VAL_COLOR, WIDE, new_figure, save_png

History = Mapping[str, Sequence[float]] | str | Path


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

    fig = new_figure(PANEL if only_loss else WIDE)
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
    return save_png(
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
