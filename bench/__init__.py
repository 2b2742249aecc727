"""Benchmarks: `python -m bench.<name>` prints figures and writes them to artifacts/bench/<name>.json."""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys


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
