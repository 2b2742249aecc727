"""A prediction run's results read back for a person: the reviews' rows (predictions.csv) and the forecast
(forecast.json) as a sentence and as markdown with its plot.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from tasks.core.tables import markdown_table


def read_prediction_rows(out_dir: Path) -> list[dict]:
    """predictions.csv of a predictions folder, numbers back as numbers."""
    import csv

    def number(text: str):
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return text

    with open(Path(out_dir) / "predictions.csv", newline="", encoding="utf-8") as f:
        return [{k: number(v) for k, v in row.items()} for row in csv.DictReader(f)]


def read_forecast(out_dir: Path) -> dict:
    """forecast.json of a Jena predictions folder (tasks.serve writes it)."""
    return json.loads((Path(out_dir) / "forecast.json").read_text(encoding="utf-8"))


def forecast_summary(forecast: Mapping) -> str:
    """The forecast in one sentence: "12.3 °C at 2024-10-21 08:40:00, 24.5 h after the last reading ..."."""
    h, unit = forecast["headline"], forecast.get("unit", "°C")  # the target's unit (its dataset's spec)
    return (f"{forecast.get('model', 'the model')}: {h['forecast_c']:.1f} {unit} at {h['target_time']}, "
            f"{h['horizon_hours']:g} h after the last reading ({h['reading_time']}); persistence says "
            f"{h['persistence_c']:.1f} {unit}. From {forecast['source']}.")


def forecast_markdown(out_dir: Path) -> str:
    """A Jena forecast as markdown: the headline, the forecast of every hour of the last 24 h with persistence
    beside it, the notes, and the plot embedded."""
    import base64

    out_dir = Path(out_dir)
    forecast = read_forecast(out_dir)
    hourly = [r for r in forecast["rows"] if r["reading_time"].endswith(":00:00")] or forecast["rows"]
    lines = [f"# Forecast: {forecast['headline']['forecast_c']:.1f} °C at {forecast['headline']['target_time']}",
             "", forecast_summary(forecast), ""]
    lines += [f"- {note}" for note in forecast.get("notes") or []]
    plot = out_dir / "forecast.png"
    if plot.is_file():
        data = base64.b64encode(plot.read_bytes()).decode("ascii")
        lines += ["", f"![forecast](data:image/png;base64,{data})"]
    lines += ["", "## Every hour of the last 24 h", ""]
    lines += markdown_table(["reading", "forecast for", "forecast °C", "persistence °C"],
                    [[r["reading_time"], r["target_time"], r["forecast_c"], r["persistence_c"]] for r in hourly])
    lines += ["", f"All {len(forecast['rows'])} forecasts: `{out_dir / 'predictions.csv'}`."]
    return "\n".join(lines) + "\n"
