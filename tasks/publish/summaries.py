"""What the terminal shows after a command: an ingestion, an evaluation, a prediction run, in a few lines."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tasks.core.tables import format_table
from tasks.publish.predictions import forecast_summary, read_forecast, read_prediction_rows
from tasks.publish.report import celsius_first, metric_of


def prediction_summary(dataset: str, out_dir: Path, limit: int = 20) -> str:
    """What the terminal shows of a prediction run: the reviews' table, or the forecast's headline and the
    hourly forecasts."""
    out_dir = Path(out_dir)
    if dataset == "imdb":
        rows = read_prediction_rows(out_dir)
        return format_table(rows, limit=limit, columns=["row", "label", "probability", "known_words", "flag",
                                                         "excerpt"])
    forecast = read_forecast(out_dir)
    hourly = [r for r in forecast["rows"] if r["reading_time"].endswith(":00:00")] or forecast["rows"]
    notes = "".join(f"\nnote: {n}" for n in forecast.get("notes") or [])
    return (forecast_summary(forecast) + notes + "\n\nevery hour of the last 24 h:\n"
            + format_table(hourly, limit=30, columns=["reading_time", "target_time", "forecast_c", "persistence_c"]))


def ingest_summary(dataset: str, path: Path) -> str:
    """A few lines for the terminal: rows, repairs and gaps from the published Parquet's provenance."""
    from tasks.ingest import read_provenance

    path = Path(path)
    if dataset == "imdb":
        rows = {s: read_provenance(path / f"{s}.parquet")["rows"] for s in ("train", "test")}
        return f"imdb: {rows['train']:,} train + {rows['test']:,} test reviews -> {path}"
    p = read_provenance(path / "jena.parquet")
    r = p["repairs"]
    return (
        f"jena: {p['rows']:,} rows, {p['first']} to {p['last']} -> {path}\n"
        f"  repairs: {r['repeated_timestamps_dropped']} repeated timestamp(s) dropped {r['repeated_timestamps']}, "
        f"sentinels interpolated {r['sentinels_interpolated'] or 'none'}, "
        f"rows sorted {r['rows_out_of_order_sorted']}; -9999 in columns not kept: "
        f"{r['sentinels_in_dropped_columns'] or 'none'}\n"
        f"  grid: {p['gap_count']} gap(s), {p['missing_steps']:,} missing 10-minute steps"
        + "".join(f"\n    {g['after']} -> {g['before']} ({g['hours']} h)" for g in p["gaps"][:5])
    )


def evaluation_summary(metrics: Mapping) -> str:
    """One evaluation in a few lines: the model, validation and test beside the strongest baseline, the blessing."""
    key, label, _ = metric_of(metrics)
    b = metrics.get("blessing") or {}
    lines = [f"{metrics['model']} on {str((metrics.get('data') or {}).get('path'))}"]
    for split, name in (("validation", "val"), ("test", "test")):
        figure = celsius_first(metrics.get(split), key)
        baselines = ", ".join(f"{n} {celsius_first(v.get(name), key)}" for n, v in (metrics.get("baselines") or {}).items())
        lines.append(f"  {split}: {figure}   baselines: {baselines}")
    lines.append(f"  {'blessed' if metrics.get('blessed') else 'not blessed'}: {b.get('reason')}")
    return "\n".join(lines)
