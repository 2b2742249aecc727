"""Figures of the other stages' results, each drawn from what that stage wrote: a tune's trials (tasks.tune), a
forecast of new data (tasks.serve), the drift of a new data version (tasks.ingest).

Each function draws one PNG (tasks.publish.canvas: the Agg canvas, an atomic write) and returns its path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from tasks.core.tables import describe_months
from tasks.publish.canvas import BASELINE_COLOR, BEST_COLOR, MODEL_COLOR, PANEL, TRAIN_COLOR, TRUTH_COLOR, VAL_COLOR
from tasks.publish.canvas import WIDE, axis_label, date_axis, new_figure, save_png


# ---------------------------------------------------------------------------------------------------------------
# A tune's trials (tasks.tune.summary)
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
    fig = new_figure((max(PANEL[0], 1.2 + 0.9 * val.size), PANEL[1] + 0.6))
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
    return save_png(fig, out)


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
    unit: str = "°C",
    quantity: str = "Temperature",
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
        unit, quantity: the target's unit and name (the dataset's spec), for the axis and the annotation.
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

    fig = new_figure(WIDE)
    ax = fig.subplots()
    ax.plot(as_dates(seen[shown]), seen_c[shown], color=TRUTH_COLOR, linewidth=1.4, label="measured")
    ax.plot(as_dates(when), model, color=MODEL_COLOR, linewidth=1.6, label=f"{model_name} forecast")
    ax.plot(as_dates(when), baseline, color=BASELINE_COLOR, linewidth=1.2, linestyle="--",
            label="persistence (temperature at the reading)")  # fmt: skip
    ax.axvline(as_dates(seen[-1:])[0], color="gray", linewidth=1.0, linestyle=":", label="last reading")
    ax.plot(as_dates(when[-1:]), model[-1:], "o", color="tab:blue")
    ax.annotate(f"{model[-1]:.1f} {unit}", (as_dates(when[-1:])[0], model[-1]), textcoords="offset points",
                xytext=(-4, 8), ha="right", color="tab:blue", fontsize="small")  # fmt: skip
    date_axis(ax)
    ax.set_xlabel("Time (station time); forecasts drawn at the time they are for")
    ax.set_ylabel(axis_label(quantity, unit))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=4, frameon=False, fontsize="small")
    fig.suptitle(title)
    return save_png(fig, out)


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
    fig = new_figure((WIDE[0], 0.6 + 2.6 * ((len(shown) + 1) // 2)))
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
    ref, new = report.get("reference") or {}, report.get("new") or {}
    span = lambda side: describe_months(side["months"]) if side.get("months") else f"{side.get('rows', '?'):,} rows"  # noqa: E731
    fig.suptitle(f"{report.get('dataset')}: reference ({ref.get('kind')}, {span(ref)}) vs new ({span(new)}), "
                 "the most moved first")
    return save_png(fig, out)


# ---------------------------------------------------------------------------------------------------------------
# The champion on new data (tasks.judge.new_data)
# ---------------------------------------------------------------------------------------------------------------
def plot_new_data(model: str, records: Sequence[Mapping], out: Path) -> Path | None:
    """The champion's metric over its strongest baseline's on the new rows of each version it was judged on, in
    order; the line at 1 is the baseline itself (for an error, above it the baseline wins; for a score, below).

    Returns:
        `out`, or None when there is no record.
    """
    if not records:
        return None
    fig = new_figure(WIDE)
    ax = fig.subplots()
    x = np.arange(len(records))
    ratios = [float(r["ratio"]) for r in records]
    colors = [MODEL_COLOR if r.get("beats") else BASELINE_COLOR for r in records]
    ax.bar(x, ratios, color=colors, width=0.5)
    ax.set_xlim(-0.75, len(records) - 0.25)
    ax.set_ylim(0, max(ratios + [1.0]) * 1.25)
    ax.axhline(1.0, color=TRUTH_COLOR, linewidth=1, linestyle="--", label="the strongest baseline")
    for i, r in enumerate(records):
        ax.annotate(f"{r['ratio']:.2f}x {r['baseline']}\n{r['windows']:,} {r.get('unit', 'windows')}", (i, ratios[i]),
                    ha="center", va="bottom", fontsize="x-small")
    ax.set_xticks(x, [f"{r['version']}\n{r['champion_run_id']}" for r in records], fontsize="x-small")
    worse = "above 1: the baseline wins" if not records[-1].get("higher_is_better") else "below 1: the baseline wins"
    ax.set_ylabel(f"{records[-1]['label']} / baseline's ({worse})")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize="x-small")
    ax.set_title(f"{model}: the champion on the rows it never saw, per new data version")
    return save_png(fig, out)
