"""Plots of a run: training curves, Jena forecasts, ROC curve, confusion matrix and MAE comparison.

Each function draws one PNG and returns its path; the PNG is written atomically (tasks.atomic), so a reader
never sees half a file. Figures are built with matplotlib's object-oriented API on the Agg canvas and never
through pyplot: pyplot keeps global state that is not thread-safe, and Prefect runs tasks in threads. A Figure
made this way is not registered anywhere, so it needs no plt.close; it is freed with its last reference.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from tasks import atomic
from tasks.errors import DataFormatError, SettingsError

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
        return times.astype(np.int64).astype("datetime64[s]")  # seconds since 1970, as tasks.windows' timestamps
    raise SettingsError(f"times of dtype {times.dtype}; expected datetime64 or seconds since 1970")


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
        SettingsError: if the arrays are empty or differ in length, or the times are neither dates nor seconds.
    """
    when = _as_datetimes(times).reshape(-1)
    series = [np.asarray(v, dtype=np.float64).reshape(-1) for v in (truth_c, model_c, baseline_c)]
    lengths = [when.size] + [s.size for s in series]
    if len(set(lengths)) > 1 or when.size == 0:
        raise SettingsError(
            f"times, truth, model and baseline have {lengths} values; expected the same non-zero number each"
        )
    truth, model, baseline = series

    fig = _new_figure(WIDE)
    ax = fig.subplots()
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
    # Above the axes: a temperature trace fills its whole box, so any legend inside would hide some of it.
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, frameon=False, fontsize="small")
    fig.suptitle(title)
    return _save(fig, out)


def plot_mae_comparison(mae_celsius: Mapping[str, Mapping[str, float]], out: Path, *, title: str) -> Path:
    """Grouped bars of MAE in °C: one group per split, one bar per model or baseline, each bar labelled.

    Args:
        mae_celsius: split -> name -> MAE in °C, e.g. {"val": {"jena_conv": 2.6, "persistence": 2.4, "mean": 7.4},
            "test": {...}}; names are ordered as first met.
        out: the PNG to write.
        title: figure title.

    Returns:
        `out`.

    Raises:
        SettingsError: if there are no values or one is not finite.
    """
    names = list(dict.fromkeys(name for split in mae_celsius.values() for name in split))
    if not names:
        raise SettingsError("no MAE values to compare; expected split -> name -> MAE in °C")
    for split, values in mae_celsius.items():
        for name, value in values.items():
            if not math.isfinite(value):
                raise SettingsError(f"MAE of {name!r} on {split!r} is {value}; expected a finite number of °C")

    fig = _new_figure(PANEL)
    ax = fig.subplots()
    width = 0.8 / len(names)
    groups = np.arange(len(mae_celsius))
    for i, name in enumerate(names):
        heights = [mae_celsius[split].get(name, np.nan) for split in mae_celsius]
        bars = ax.bar(groups + (i - (len(names) - 1) / 2) * width, heights, width, label=name, color=f"C{i}")
        ax.bar_label(bars, fmt="%.2f", fontsize="small", padding=2)
    ax.set_xticks(groups, list(mae_celsius))
    ax.set_xlabel("Split")
    ax.set_ylabel("MAE (°C)")
    ax.margins(y=0.12)  # room for the bar labels
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    ax.set_title(title)
    return _save(fig, out)


# ---------------------------------------------------------------------------------------------------------------
# IMDB
# ---------------------------------------------------------------------------------------------------------------
def plot_roc(fpr: np.ndarray, tpr: np.ndarray, auc: float, out: Path, *, title: str, label: str = "model") -> Path:
    """The ROC curve with the chance diagonal; the legend gives the AUC.

    Args:
        fpr: (points,) false positive rates, from tasks.evaluate.roc_curve.
        tpr: (points,) true positive rates.
        auc: area under the curve, from tasks.evaluate.roc_auc.
        out: the PNG to write.
        title: figure title.
        label: legend name of the model.

    Returns:
        `out`.

    Raises:
        SettingsError: if fpr and tpr differ in length, are empty, or leave [0, 1].
    """
    fpr = np.asarray(fpr, dtype=np.float64).reshape(-1)
    tpr = np.asarray(tpr, dtype=np.float64).reshape(-1)
    if fpr.shape != tpr.shape or fpr.size == 0:
        raise SettingsError(f"{fpr.size} false and {tpr.size} true positive rates; expected the same number, > 0")
    if not (np.all((fpr >= 0) & (fpr <= 1)) and np.all((tpr >= 0) & (tpr <= 1))):
        raise SettingsError("false and true positive rates must lie in [0, 1]")

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
        SettingsError: if the matrix is not 2 x 2 of non-negative counts with at least one review.
    """
    counts = np.asarray(matrix)
    if counts.shape != (2, 2) or (counts < 0).any() or counts.sum() == 0:
        raise SettingsError(f"confusion matrix {counts.tolist()}: expected [[tn, fp], [fn, tp]] of counts >= 0")
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
# Prefect artifacts: content
# ---------------------------------------------------------------------------------------------------------------
# What the Prefect UI shows of a run: a metrics table, a markdown report with the verdicts, the validation results
# and the plots, and a progress bar per training. The functions below build the content (plain data, no Prefect);
# the publish_* functions further down send it. Keys are stable across runs, so each run adds a version of the
# same artifact and the UI's artifact page shows its history. Imports are local: this section was added after the
# plotting code, whose module header it leaves alone.
ARTIFACT_KEY_PATTERN = r"^[a-z0-9-]+$"  # Prefect's rule for artifact keys
METRICS_TABLE_KEY = "train-all-metrics"  # one row per model of a training run
REPORT_KEY = "train-all-report"  # verdicts of a training run, as markdown
PLOT_TITLES = {  # file stem -> heading, in the order the plots are shown; other PNGs follow, sorted by name
    "curves": "Training curves",
    "predictions": "Forecasts on the test set",
    "roc": "ROC curve on the test set",
    "confusion": "Confusion matrix on the test set",
    "mae": "MAE against the baselines",
}
MAX_EMBEDDED_PNG = 2_000_000  # bytes; a larger PNG is listed by path (our plots are 50-150 KB)
MAX_EXAMPLES_CHARS = 160  # of offending values shown per failed expectation


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key from readable parts: artifact_key("plots", "imdb_conv") -> "plots-imdb-conv".

    Lowercase letters and digits are kept; every other run of characters becomes one dash.

    Raises:
        SettingsError: if nothing usable is left.
    """
    import re

    key = re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")
    if not key:
        raise SettingsError(f"artifact key from {parts!r} is empty; expected letters or digits")
    return key


def validation_key(dataset: str) -> str:
    """"validation-imdb", "validation-jena"."""
    return artifact_key("validation", dataset)


def plots_key(model: str) -> str:
    """"plots-imdb-conv", "plots-jena-conv-gru"."""
    return artifact_key("plots", model)


def progress_key(model: str) -> str:
    """"training-progress-jena-conv"."""
    return artifact_key("training-progress", model)


def _round(value, digits: int = 4):
    return round(float(value), digits) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _cell(value) -> str:
    """A value as the text of a markdown table cell: pipes escaped, one line."""
    if value is None:
        text = "-"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _metric_of(metrics: Mapping) -> tuple[str, str, bool]:
    """(key in metrics["validation"], label, higher is better): accuracy for IMDB, MAE for Jena."""
    from tasks.registry import validation_metric

    return validation_metric(dict(metrics))


def metrics_table_rows(results: Sequence[Mapping]) -> list[dict]:
    """One row per model for the run's metrics table artifact.

    Args:
        results: {"metrics": a metrics.json dict, "promotion": tasks.registry.promote_model's result or None}.

    Returns:
        Rows with the same keys, in the same order: model, run_id, metric ("accuracy" or "MAE"), val, test,
        val_celsius and test_celsius (Jena MAE in °C, None for IMDB), val_<baseline> for every baseline of any
        row (None where a model has no such baseline), blessed, promoted, champion_run_id, champion_val (the
        champion after the decision), best_epoch, epochs_run, seconds_per_epoch, device. Metrics are rounded to
        4 decimals.
    """
    head, baselines, tail = [], [], []
    for item in results:
        m, p = item["metrics"], item.get("promotion") or {}
        key, label, _ = _metric_of(m)
        head.append({
            "model": m["model"],
            "run_id": m.get("run_id"),
            "metric": label.removeprefix("val "),
            "val": _round(m["validation"][key]),
            "test": _round((m.get("test") or {}).get(key)),
            "val_celsius": _round(m["validation"].get("mae_celsius")),
            "test_celsius": _round((m.get("test") or {}).get("mae_celsius")),
        })
        baselines.append({f"val_{name}": _round(b.get("val", {}).get(key))
                          for name, b in (m.get("baselines") or {}).items()})
        tail.append({
            "blessed": m.get("blessed"),
            "promoted": p.get("promoted"),
            "champion_run_id": p.get("champion_run_id"),
            "champion_val": _round(p.get("champion_value")),
            "best_epoch": m.get("best_epoch"),
            "epochs_run": m.get("epochs_run"),
            "seconds_per_epoch": m.get("seconds_per_epoch"),
            "device": m.get("device"),
        })
    baseline_columns = list(dict.fromkeys(name for row in baselines for name in row))
    return [{**h, **{c: b.get(c) for c in baseline_columns}, **t} for h, b, t in zip(head, baselines, tail)]


def _verdicts(m: Mapping, p: Mapping | None) -> tuple[str, str]:
    """("Blessed: yes. <reason>", "Promoted: no. <reason>") of one model."""
    blessing = (m.get("blessing") or {}).get("reason") or "no blessing recorded"
    blessed = f"**Blessed: {'yes' if m.get('blessed') else 'no'}.** {blessing}"
    if not p:
        return blessed, "**Promoted: not decided.** No registry step ran for this model."
    return blessed, f"**Promoted: {'yes' if p.get('promoted') else 'no'}.** {p.get('reason')}"


def report_markdown(results: Sequence[Mapping], run_id: str, profile: str) -> str:
    """The training run's report: a summary table, then per model whether it was blessed and promoted, and why.

    Args:
        results: as for metrics_table_rows.
        run_id: the training run's id.
        profile: the settings profile (smoke, quick, seed).

    Returns:
        Markdown.
    """
    blessed = sum(bool(r["metrics"].get("blessed")) for r in results)
    promoted = sum(bool((r.get("promotion") or {}).get("promoted")) for r in results)
    lines = [
        f"# Training run {run_id}",
        "",
        f"Run id `{run_id}`, profile `{profile}`: {len(results)} model{'s' * (len(results) != 1)} trained, "
        f"{blessed} blessed (beat their strongest baseline), {promoted} promoted to champion.",
        "",
    ]
    summary = []
    for r in results:
        m, p = r["metrics"], r.get("promotion") or {}
        key, label, _ = _metric_of(m)
        b = m.get("blessing") or {}
        strongest = f"{b['baseline']} {b['baseline_value']:.4g}" if "baseline" in b else None
        champion = f"{p['champion_run_id']} ({p['champion_value']:.4g})" if p.get("champion_run_id") else None
        summary.append([m["model"], label, m["validation"][key], (m.get("test") or {}).get(key), strongest,
                        m.get("blessed"), p.get("promoted"), champion])
    lines += _table(["model", "metric", "validation", "test", "strongest baseline", "blessed", "promoted",
                     "champion"], summary)
    for r in results:
        m, p = r["metrics"], r.get("promotion")
        key, _, _ = _metric_of(m)
        blessed_line, promoted_line = _verdicts(m, p)
        test = m.get("test") or {}
        if "mae_celsius" in test:
            test_line = (f"Test MAE {test[key]:.4g} ({test['mae_celsius']:.2f} °C) "
                         f"over {test.get('windows', '?')} windows.")
        else:
            auc = f", ROC AUC {test['roc_auc']:.4g}" if "roc_auc" in test else ""
            test_line = f"Test accuracy {test.get(key, float('nan')):.4g}{auc} on {test.get('reviews', '?')} reviews."
        spe = m.get("seconds_per_epoch")
        lines += [
            "",
            f"## {m['model']}",
            "",
            f"- {blessed_line}",
            f"- {promoted_line}",
            f"- {test_line}",
            f"- Best epoch {m.get('best_epoch')} of {m.get('epochs_run')} run ({m.get('epochs_planned')} planned)"
            + (f", {spe:.3g} s per epoch" if spe else "") + f" on {m.get('device', 'an unknown device')}.",
            f"- Data sha256 `{str((m.get('data') or {}).get('sha256'))[:16]}…`, code `{m.get('git_commit')}`.",
        ]
    return "\n".join(lines) + "\n"


def _read_validation(path: Path) -> dict | None:
    """A validation JSON (tasks.validate.results_to_json), or None if the file does not exist."""
    import json

    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as error:
        raise DataFormatError(f"validation report {path} is not valid JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("batches"), list):
        raise DataFormatError(f"validation report {path} has no list of batches; expected results_to_json's layout")
    return document


def _finding_row(level: str, batch: Mapping, finding: Mapping) -> list:
    import json

    count, percent = finding.get("unexpected_count"), finding.get("unexpected_percent")
    if count is not None:
        found = f"{count:,} of {batch.get('rows', 0):,} rows" + (f" ({percent:.3g}%)" if percent is not None else "")
    else:
        found = f"observed {json.dumps(finding.get('observed'), default=str)}"
    if finding.get("error"):
        found += f"; error: {finding['error']}"
    examples = json.dumps(finding.get("examples") or [], default=str)
    if len(examples) > MAX_EXAMPLES_CHARS:
        examples = examples[: MAX_EXAMPLES_CHARS - 1] + "…"
    return [level, batch.get("batch"), finding.get("column"), finding.get("expectation"), finding.get("why"),
            found[:MAX_EXAMPLES_CHARS], examples if finding.get("examples") else None]


def validation_markdown(dataset: str, report_paths: Sequence[Path]) -> str:
    """The validation results of one dataset (raw and normalized stages) as markdown, with a PASS/FAIL headline.

    Args:
        dataset: "imdb" or "jena".
        report_paths: the stages' JSON files (tasks.validate.results_to_json), in stage order; a file that does
            not exist is a stage that did not run (e.g. normalization after a failed raw stage).

    Returns:
        Markdown: the headline (FAIL if any hard expectation failed, PASS if every stage ran and passed,
        INCOMPLETE otherwise), then per stage one row per batch (file or split) and every failed expectation.

    Raises:
        DataFormatError: if a report exists but is not a validation JSON.
    """
    documents = [(Path(p), _read_validation(Path(p))) for p in report_paths]
    ran = [d for _, d in documents if d is not None]

    def passed(d: Mapping) -> bool:
        return bool(d.get("success", True)) and not any(b.get("failed_hard") for b in d["batches"])

    if any(not passed(d) for d in ran):
        verdict = "FAIL"
    elif ran and len(ran) == len(documents):
        verdict = "PASS"
    else:
        verdict = "INCOMPLETE"
    hard = sum(len(b.get("failed_hard") or []) for d in ran for b in d["batches"])
    soft = sum(len(b.get("failed_soft") or []) for d in ran for b in d["batches"])
    evaluated = sum(int(b.get("evaluated") or 0) for d in ran for b in d["batches"])
    lines = [
        f"# Validation of {dataset}: {verdict}",
        "",
        f"**{verdict}**: {len(ran)} of {len(documents)} stage{'s' * (len(documents) != 1)} ran; "
        f"{evaluated:,} expectations evaluated, {hard} failed hard (each fails the flow), {soft} failed soft "
        "(reported; repaired by normalization).",
    ]
    for path, d in documents:
        stage = path.name.split(".")[-2] if path.name.count(".") >= 2 else path.stem  # imdb.raw.json -> raw
        if d is None:
            lines += ["", f"## {stage}: not run", "", f"No report at `{path}`."]
            continue
        lines += ["", f"## {d.get('stage') or stage}: {'PASS' if passed(d) else 'FAIL'}", "", f"Report: `{path}`", ""]
        lines += _table(
            ["batch", "suite", "rows", "expectations", "failed hard", "failed soft", "result"],
            [[b.get("batch"), b.get("suite"), b.get("rows"), b.get("evaluated"), len(b.get("failed_hard") or []),
              len(b.get("failed_soft") or []), "FAIL" if b.get("failed_hard") else "PASS"] for b in d["batches"]],
        )
        findings = [_finding_row(level, b, f) for b in d["batches"]
                    for level, key in (("**hard**", "failed_hard"), ("soft", "failed_soft"))
                    for f in (b.get(key) or [])]
        if findings:
            lines += ["", "### Failed expectations", ""]
            lines += _table(["level", "batch", "column", "expectation", "why", "found", "examples"], findings)
    return "\n".join(lines) + "\n"


def plots_markdown(run_dir: Path, model: str) -> str:
    """Every PNG of a run folder, embedded in markdown as a data URI, so the pictures show in the Prefect UI.

    Prefect's image artifact only takes a URL, which the browser must be able to reach; a `data:image/png;base64`
    URI carries the picture inside the artifact itself. Both Prefect UIs (v1 and the default v2, Prefect 3.9)
    render it: checked with a real server and headless Chromium (docs/ui-plots-artifact.png).

    Args:
        run_dir: artifacts/runs/<run-id>/<model>.
        model: the model's name, for the heading.

    Returns:
        Markdown with one section per PNG (known plots first, in PLOT_TITLES' order); a PNG over
        MAX_EMBEDDED_PNG bytes, or a file that is not a PNG, is named by its path instead.
    """
    import base64

    run_dir = Path(run_dir)
    order = {stem: i for i, stem in enumerate(PLOT_TITLES)}
    pngs = sorted(run_dir.glob("*.png"), key=lambda p: (order.get(p.stem, len(order)), p.name))
    lines = [f"# Plots of {model}", "", f"Run folder `{run_dir}`."]
    if not pngs:
        lines += ["", "No plots in this run folder."]
    for path in pngs:
        data = path.read_bytes()
        lines += ["", f"## {PLOT_TITLES.get(path.stem, path.stem)}", ""]
        if not data.startswith(b"\x89PNG\r\n\x1a\n"):
            lines.append(f"`{path.name}` is not a PNG; not shown.")
        elif len(data) > MAX_EMBEDDED_PNG:
            lines.append(f"`{path}` ({len(data) / 1e6:.1f} MB) is too large to embed; open it from the run folder.")
        else:
            lines.append(f"![{path.stem}](data:image/png;base64,{base64.b64encode(data).decode('ascii')})")
    return "\n".join(lines) + "\n"


def epoch_description(epoch: int, epochs: int, logs: Mapping[str, float] | None = None) -> str:
    """"epoch 3/10 loss=0.25 val_loss=0.31": a progress artifact's description after an epoch (1-based)."""
    metrics = " ".join(f"{k}={v:.4g}" for k, v in sorted((logs or {}).items())
                       if isinstance(v, (int, float)) and not isinstance(v, bool))
    return f"epoch {epoch}/{epochs}" + (f" {metrics}" if metrics else "")


# ---------------------------------------------------------------------------------------------------------------
# Prefect artifacts: publishing
# ---------------------------------------------------------------------------------------------------------------
# Thin: each sends content built above. Outside a flow or task run they do nothing and return None (Prefect would
# otherwise attach the artifact to no run, and warns that this is deprecated). `_sync=True` makes Prefect's
# dispatching helpers run synchronously even when called from async code, where they would return a coroutine.
def in_prefect_run() -> bool:
    """True inside a Prefect flow or task run."""
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def publish_metrics_table(rows: list[dict], key: str = METRICS_TABLE_KEY):
    """The metrics table (metrics_table_rows) as a table artifact; its id, or None outside a run."""
    if not in_prefect_run():
        return None
    from prefect.artifacts import create_table_artifact

    return create_table_artifact(table=rows, key=key, description="Validation and test metrics, baselines, "
                                 "verdicts and timings: one row per model.", _sync=True)


def publish_report(markdown: str, key: str = REPORT_KEY):
    """The training report (report_markdown) as a markdown artifact; its id, or None outside a run."""
    if not in_prefect_run():
        return None
    from prefect.artifacts import create_markdown_artifact

    return create_markdown_artifact(markdown=markdown, key=key, description="Blessed and promoted, and why.",
                                    _sync=True)


def publish_validation(dataset: str, markdown: str):
    """A dataset's validation results (validation_markdown) under "validation-<dataset>"; id or None."""
    if not in_prefect_run():
        return None
    from prefect.artifacts import create_markdown_artifact

    return create_markdown_artifact(markdown=markdown, key=validation_key(dataset),
                                    description=f"Great Expectations results of {dataset}, raw and normalized.",
                                    _sync=True)


def publish_plots(model: str, markdown: str):
    """A run's plots (plots_markdown) under "plots-<model>"; id or None."""
    if not in_prefect_run():
        return None
    from prefect.artifacts import create_markdown_artifact

    return create_markdown_artifact(markdown=markdown, key=plots_key(model),
                                    description=f"Plots of the latest {model} run.", _sync=True)


class ProgressReporter:
    """A progress artifact for a long loop (e.g. epochs): created at 0% on first use, then updated.

    Outside a Prefect run it does nothing. Inside one, a failure to reach the API is logged once and stops
    further updates: a progress bar is never worth failing a training run for.

        progress = ProgressReporter(progress_key("jena_conv"), total=settings.epochs)
        progress.update(3, epoch_description(3, 10, logs))  # 30%, "epoch 3/10 loss=0.28 val_loss=0.31"
    """

    def __init__(self, key: str, total: int, description: str = "starting"):
        self.key, self.total, self.description = key, max(int(total), 1), description
        self.artifact_id = None  # set once the artifact exists
        self.enabled = True  # False outside a run, or after a failure

    def start(self) -> None:
        """Create the artifact at 0% (done by the first update if not called)."""
        if self.artifact_id is not None or not self.enabled:
            return
        if not in_prefect_run():
            self.enabled = False
            return
        from prefect.artifacts import create_progress_artifact

        self._safely(lambda: setattr(self, "artifact_id", create_progress_artifact(
            progress=0.0, key=self.key, description=self.description, _sync=True)))

    def update(self, done: int, description: str | None = None) -> None:
        """Set the progress to done/total (as a percentage, clamped to 0-100) and the description."""
        self.start()
        if self.artifact_id is None or not self.enabled:
            return
        from prefect.artifacts import update_progress_artifact

        percent = min(max(100.0 * done / self.total, 0.0), 100.0)
        self._safely(lambda: update_progress_artifact(artifact_id=self.artifact_id, progress=percent,
                                                      description=description, _sync=True))

    def _safely(self, call) -> None:
        try:
            call()
        except Exception as error:  # noqa: BLE001 - the server is down or refused: stop, say so once
            self.enabled = False
            try:
                from prefect.logging import get_run_logger

                get_run_logger().warning(f"progress artifact {self.key!r} not updated any more: {error}")
            except Exception:  # noqa: BLE001
                pass
