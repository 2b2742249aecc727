"""When a series' reading is stamped, and so which day and month it belongs to (a spec's `record.stamped`).

A logger that writes one row an hour usually stamps it with the hour it opens (or the instant it measured):
"start", its midnight row is the first of its day. The Jena station stamps each row with the end of its 10-minute
period: "end", so 00:00:00 closes the day before, and each day holds its readings 00:10:00 .. 24:00:00. The
blocked split (tasks.model.splits), the months and seasons a split or a profile covers all count days this way.
"""

from __future__ import annotations

import numpy as np

STAMPS = ("start", "end")  # record.stamped: a row's time opens its reading's period (or is its instant), or closes it
SECONDS_PER_DAY = 86_400


def day_of(seconds: np.ndarray, stamped: str) -> np.ndarray:
    """Whole days since 1970-01-01 of each reading's period.

    Args:
        seconds: (rows,) int seconds since 1970.
        stamped: one of STAMPS. "end": the period (t - interval, t] lies in the day of its last second, t - 1,
            whatever the interval; "start": [t, t + interval) in the day of t.

    Returns:
        (rows,) int64 days (numpy's floor division: days before 1970 are negative, never rounded towards 0).
    """
    if stamped not in STAMPS:
        raise ValueError(f"stamped={stamped!r}; expected one of {', '.join(STAMPS)}")
    seconds = np.asarray(seconds, dtype=np.int64)
    return (seconds - 1 if stamped == "end" else seconds) // SECONDS_PER_DAY


def months_of(seconds: np.ndarray, stamped: str) -> list[str]:
    """The months ("2024-01", ..., sorted, each once) of the readings' periods (day_of's convention)."""
    return np.unique(day_of(seconds, stamped).astype("datetime64[D]").astype("datetime64[M]")).astype(str).tolist()
