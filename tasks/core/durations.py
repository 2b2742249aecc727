"""Durations in a spec (`10min`, `1h`, `10d`) and their rows on a record's grid."""

from __future__ import annotations

import re

from tasks.core.errors import SpecError

DURATION = re.compile(r"^\s*(\d+)\s*(min|h|d)\s*$")
MINUTES = {"min": 1, "h": 60, "d": 24 * 60}


def duration_minutes(text: str, where: str = "") -> int:
    """`10min`, `1h`, `24h`, `10d` in minutes."""
    match = DURATION.match(str(text))
    if not match:
        raise SpecError(f"{where}: {text!r} is not a duration; expected a whole number and min, h or d (e.g. 10min, "
                        "1h, 10d)")
    return int(match.group(1)) * MINUTES[match.group(2)]


def duration_text(minutes: int) -> str:
    """Minutes as the largest whole unit of a duration: 1440 -> `1d`, 60 -> `1h`, 90 -> `90min`."""
    unit = next(u for u in ("d", "h", "min") if minutes % MINUTES[u] == 0)
    return f"{minutes // MINUTES[unit]}{unit}"


def rows_of(minutes: int, interval_minutes: int, where: str) -> int:
    """A duration in rows of a grid of `interval_minutes`; one that is not a whole number of rows is an error."""
    if not interval_minutes:
        raise SpecError(f"{where}: a duration is a number of rows of a series' record; this dataset has none")
    if minutes % interval_minutes:
        raise SpecError(f"{where}: {minutes} minutes is not a whole number of {interval_minutes}-minute rows")
    return minutes // interval_minutes

