"""What the terminal shows after a command: an ingestion, an evaluation, a prediction run, in a few lines."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tasks.core.config import FAMILIES
from tasks.publish.kinds import kind_of
from tasks.publish.report import celsius_first, metric_of, unit_of


def prediction_summary(dataset: str, out_dir: Path, limit: int = 20) -> str:
    """What the terminal shows of a prediction run, by the dataset's kind: the reviews' table, or the forecast's
    headline and the hourly forecasts."""
    return kind_of(dataset).prediction_summary(Path(out_dir), limit)


def ingest_summary(dataset: str, path: Path) -> str:
    """A few lines for the terminal, by the dataset's kind: rows (and repairs and gaps) from the published Parquet's
    provenance."""
    return kind_of(dataset).ingest_summary(FAMILIES[dataset], Path(path))


def evaluation_summary(metrics: Mapping) -> str:
    """One evaluation in a few lines: the model, validation and test beside the strongest baseline, the blessing."""
    key, label, _ = metric_of(metrics)
    unit = unit_of(metrics)
    b = metrics.get("blessing") or {}
    lines = [f"{metrics['model']} on {str((metrics.get('data') or {}).get('path'))}"]
    for split, name in (("validation", "val"), ("test", "test")):
        figure = celsius_first(metrics.get(split), key, unit)
        baselines = ", ".join(f"{n} {celsius_first(v.get(name), key, unit)}"
                              for n, v in (metrics.get("baselines") or {}).items())
        lines.append(f"  {split}: {figure}   baselines: {baselines}")
    lines.append(f"  {'blessed' if metrics.get('blessed') else 'not blessed'}: {b.get('reason')}")
    return "\n".join(lines)
