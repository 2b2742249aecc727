"""Benchmarks: `python -m bench.<name>` prints figures and writes them to artifacts/bench/<name>.json."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine(load_before: tuple[float, ...] | None = None) -> dict:
    """What a benchmark ran on, for its JSON: CPUs, platform, versions, devices, date and, given the load average
    taken before, the 1-minute load before and after. TensorFlow is described only if the benchmark imported it."""
    import numpy as np

    info = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        info["tensorflow"] = tf.__version__
        info["devices"] = [d.name for d in tf.config.list_logical_devices()]
    if load_before is not None:
        info["load_average_1min_before_after"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    return info


def write_figures(name: str, document: dict, *, quick: bool = False, out: str | Path | None = None) -> Path:
    """A benchmark's figures as JSON: `out`, else artifacts/bench/<name>.json (<name>-quick.json for a smoke run)."""
    path = Path(out or ROOT / "artifacts" / "bench" / (f"{name}-quick.json" if quick else f"{name}.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path
