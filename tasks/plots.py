"""Figures. For now the forecast plot of tasks/predict.py; the run plots of tasks/report.py are to move here.

Same conventions as tasks/report.py: matplotlib's object-oriented API on the Agg canvas, never pyplot (global
state, not thread-safe; Prefect runs tasks in threads), so a Figure needs no close; PNGs written atomically.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from tasks import atomic
from tasks.errors import SettingsError


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
        SettingsError: if there is no reading or no forecast, or the arrays of one kind differ in length.
    """
    from matplotlib import dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    seen = np.asarray(observed_seconds, dtype=np.int64).reshape(-1)
    seen_c = np.asarray(observed_c, dtype=np.float64).reshape(-1)
    when = np.asarray(target_seconds, dtype=np.int64).reshape(-1)
    model, baseline = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (forecast_c, persistence_c))
    if seen.size == 0 or seen.size != seen_c.size or when.size == 0 or not when.size == model.size == baseline.size:
        raise SettingsError(
            f"{seen.size} reading times for {seen_c.size} temperatures, {when.size} forecast times for "
            f"{model.size} forecasts and {baseline.size} persistence values; expected matching, non-zero counts"
        )
    shown = seen >= seen[-1] - days * 86_400
    as_dates = lambda s: s.astype("datetime64[s]")  # noqa: E731 - seconds since 1970 to matplotlib's dates

    fig = Figure(figsize=(11.0, 4.4), dpi=110, layout="constrained")  # tasks.report's WIDE at its DPI
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.plot(as_dates(seen[shown]), seen_c[shown], color="black", linewidth=1.4, label="measured")
    ax.plot(as_dates(when), model, color="tab:blue", linewidth=1.6, label=f"{model_name} forecast")
    ax.plot(as_dates(when), baseline, color="tab:orange", linewidth=1.2, linestyle="--",
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
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return atomic.write_bytes(Path(out), buffer.getvalue())
