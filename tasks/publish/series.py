"""The time-series kind in a person's terms: its figure (forecasts against the measured temperature, a stretch
per season of the test split, drawn by tasks.publish.plots), its terminal summaries, its forecast artifact, and
its report lines (the split each model was cut by, the verdict against persistence); looked up by kind through
tasks.publish.kinds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from tasks.core.architectures import BookResult
from tasks.core.config import Family, family_of
from tasks.core.tables import describe_months, format_table
from tasks.publish.plots import plot_jena_stretches
from tasks.publish.predictions import forecast_markdown, forecast_summary, read_forecast

PREDICTIONS_ARTIFACT = "forecast"  # the predictions artifact's key: "forecast-<dataset>"


# ---------------------------------------------------------------------------------------------------------------
# An evaluation's figure, from the arrays the evaluate stage wrote
# ---------------------------------------------------------------------------------------------------------------
FORECAST_DAYS = 10  # consecutive test windows per panel of the forecast plot: days show, and stay readable
SEASON_NAMES = {"DJF": "Winter (DJF)", "MAM": "Spring (MAM)", "JJA": "Summer (JJA)", "SON": "Autumn (SON)"}


def season_stretches(seconds: np.ndarray, stamped: str, days: int = FORECAST_DAYS) -> list[tuple[str, np.ndarray]]:
    """For each season among the targets, in the order they first appear: the first `days` days of its windows.

    Args:
        seconds: (windows,) time of each window's target, in time order.
        stamped: the record's `stamped` (tasks.core.stamps): the season of a target at midnight on March 1st.
        days: length of each stretch.

    Returns:
        [(season, mask (windows,) bool), ...]: windows whose target is in that season and within `days` days of
        the season's first target.
    """
    from tasks.model import season_of

    seconds = np.asarray(seconds, dtype=np.int64)
    seasons = season_of(seconds, stamped)  # (windows,)
    order = [seasons[i] for i in sorted(np.unique(seasons, return_index=True)[1])]
    stretches = []
    for season in order:
        start = seconds[seasons == season][0]
        stretches.append((str(season), (seasons == season) & (seconds >= start) & (seconds < start + days * 86_400)))
    return stretches


def plot_test_split(arrays: Mapping[str, np.ndarray], metrics: Mapping, out_dir: Path) -> list[Path]:
    """predictions.png: for each season present in the test split, its first FORECAST_DAYS days of test windows,
    one panel each; a panel's title gives the MAE of exactly the windows it draws, the figure's the whole test
    split's, so the figures are never confused."""
    model, test = metrics["model"], metrics["test"]
    seconds = arrays["test_seconds"]
    record = family_of(model).record  # the target, its unit and how its readings are stamped, from the spec
    stretches = [(SEASON_NAMES[season], seconds[shown], arrays["test_truth"][shown],
                  arrays["test_predictions"][shown], arrays["test_persistence"][shown])
                 for season, shown in season_stretches(seconds, record.stamped)]
    s = metrics.get("settings") or {}
    hours = s.get("delay", 144) * family_of(model).interval_minutes / 60
    title = (f"{model}: {record.target} {hours:g} h ahead, the first {FORECAST_DAYS} days of test windows in each "
             f"season — test MAE {test['mae_celsius']:.2f} {record.unit} on all {test['windows']:,} windows")
    return [plot_jena_stretches(stretches, out_dir / "predictions.png", title=title, model_name=model,
                                unit=record.unit, quantity=record.target)]


# ---------------------------------------------------------------------------------------------------------------
# Terminal summaries and the forecast artifact
# ---------------------------------------------------------------------------------------------------------------
def ingest_summary(spec: Family, path: Path) -> str:
    """A few lines: rows, repairs and gaps from the published Parquet's provenance (the dataset's one file)."""
    from tasks.ingest import read_provenance

    p = read_provenance(path / spec.files[0])
    r = p["repairs"]
    others = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in r.items()  # each reader's own
                       if value and key not in ("repeated_timestamps", "repeated_timestamps_dropped"))
    return (
        f"{spec.name}: {p['rows']:,} rows, {p['first']} to {p['last']} -> {path}\n"
        f"  repairs: {r['repeated_timestamps_dropped']} repeated timestamp(s) dropped {r['repeated_timestamps']}"
        f"{'; ' + others if others else ''}\n"
        f"  grid: {p['gap_count']} gap(s), {p['missing_steps']:,} missing {spec.interval_minutes}-minute steps"
        + "".join(f"\n    {g['after']} -> {g['before']} ({g['hours']} h)" for g in p["gaps"][:5])
    )


def prediction_summary(out_dir: Path, limit: int) -> str:
    """The forecast's headline and notes, then the forecasts of every hour of the last 24 h (`limit` is the
    reviews' table's; the hours are at most 30 rows)."""
    forecast = read_forecast(out_dir)
    hourly = [r for r in forecast["rows"] if r["reading_time"].endswith(":00:00")] or forecast["rows"]
    notes = "".join(f"\nnote: {n}" for n in forecast.get("notes") or [])
    columns = ["reading_time", "target_time", "forecast_c", "persistence_c"]
    if forecast.get("warning"):  # a baseline beats the champion on the newest data (tasks.serve.predict)
        notes += f"\nwarning: the champion does not beat its baseline on the newest data: {forecast['warning']}"
        columns += ["baseline_answer", "warning"]
    return (forecast_summary(forecast) + notes + "\n\nevery hour of the last 24 h:\n"
            + format_table(hourly, limit=30, columns=columns, max_width=60 if "warning" in columns else 40))


def publish_predictions(out_dir: Path, key: str, spec: Family) -> None:
    """The forecast as a markdown artifact under `key`, its plot inside; call inside a Prefect run."""
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(markdown=forecast_markdown(Path(out_dir)), key=key, _sync=True,
                             description=f"The {spec.record.target if spec.record else 'target'} forecast from the last reading, persistence beside it.")


# ---------------------------------------------------------------------------------------------------------------
# The report's lines
# ---------------------------------------------------------------------------------------------------------------
def split_lines(metrics: Sequence[Mapping]) -> list[str]:
    """One line per distinct split among these models (all of this kind): the dataset, the method, why, the
    models, the months of each part."""
    groups: dict[tuple, list[str]] = {}
    for m in metrics:
        if not m.get("splits"):
            continue
        s = m.get("settings") or {}
        parts = tuple((name, tuple(f.get("months") or ())) for name, f in m["splits"].items())
        dataset = family_of(str(m.get("model"))).name
        groups.setdefault((dataset, s.get("split"), s.get("split_reason") or "", parts), []).append(m["model"])
    lines = []
    for (dataset, split, reason, parts), models in groups.items():
        why = f" ({reason})" if reason else ""
        months = "; ".join(f"{name} {describe_months(list(ms))}" for name, ms in parts if ms)
        lines.append(f"{dataset.capitalize()} split `{split}`{why}, {' and '.join(models)}: {months}.")
    return lines


def verdict(model: str, val: float, baselines: Mapping, spec: Family, book: BookResult | None) -> str:
    """A model's validation error as a ratio of persistence's (the baseline the book used), then whether the
    book's points the same way: "jena_conv: 1.41x the persistence error on validation: loses to persistence, as
    in the book (1.55x)."."""
    base = (baselines.get("persistence") or {}).get("val", {}).get(spec.metric)
    if not base:
        return f"{model}: validation MAE {val:.3g} (no persistence baseline recorded)."
    ratio = val / base
    ours = "beats persistence" if ratio < 1 else "loses to persistence"
    head = f"{model}: {ratio:.2f}x the persistence error on validation: {ours}"
    if book is None or book.ratio is None:
        return f"{head} (not in the book)."
    if (ratio < 1) == (book.ratio < 1):
        return f"{head}, as in the book ({book.ratio:.2f}x)."
    theirs = "beats it" if book.ratio < 1 else "loses"
    return f"{head}, unlike the book ({book.ratio:.2f}x, {theirs})."
