"""Which rows of the Jena series belong to which split, and what each split then holds.

Two ways to split (`TrainSettings.split`):
- `contiguous`, the book's: train, validation and test follow each other in time (rows 0-200000, 200001-300000,
  the rest on the classic file; the same proportions on any other length). On eight years every split holds every
  season; on a short record (the 2024 station files: January-October) it puts winter in training and summer in
  validation and test.
- `blocked`: the calendar cut into blocks of `block_days` whole days (counted from 1970-01-01, so the same day
  is in the same block whatever the file order or the first row; a reading at midnight is in the day its spec's
  `record.stamped` says, tasks.core.stamps), the blocks dealt to train/val/test in a fixed
  repeating pattern, by default train, train, val, test (50/25/25 of the rows; the book's is 48/24/28). Every
  split then comes back every 16 weeks, so each spreads over the year instead of holding one season (on the
  2024 files, 28-day blocks: train and validation have windows in all four seasons, test in spring and summer;
  the gap between the files swallows one of its blocks). Consecutive blocks of one split form one row range (a
  window may cross the boundary between two train blocks: it reads training rows only). A window never crosses
  a boundary between splits, so each such boundary costs lookback + delay anchors (11 days at the book's
  settings): the *purge*. Dealing each split's blocks together within a cycle (train, train, val, test rather
  than train, val, train, test) keeps it to the least possible, three boundaries per cycle; longer blocks cost
  less but leave a short record's splits fewer seasons. On the 2024 files (35,500 windows without boundaries)
  the purge is 9,504 windows at 28 days (2,731 for the contiguous split); 13,632 with train, val, train, test;
  13,179 with 21-day blocks, 7,920 with 35-day ones, which leave every split a season short.
- `auto`, the default: one of the two, chosen from the record's timestamps alone when it is read (choose_split):
  `blocked` when it spans less than two full years, where the book's row-proportional cut would leave whole
  seasons out of a split (the 2024 files), `contiguous` on a longer one (the classic 2009-2016 file). A record
  shorter than one cycle of blocks (112 days by default) cannot give every split a block, so it is split
  `contiguous` too. The run records the split it used and why (TrainSettings.split_reason).

A window (tasks.model.windows) reads the rows of one split only; split_facts counts what that costs.
Everything here is a plain function on arrays; the stage's Prefect wrapper does the file I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from tasks.core.errors import DataFormatError, SettingsError
from tasks.core.stamps import SECONDS_PER_DAY, day_of, months_of
from tasks.model.windows import Range, window_rows

CLASSIC_ROWS = 420_551  # rows of jena_climate_2009_2016.csv, for which the published splits below were chosen
PUBLISHED_VAL_START = 200_001  # first validation row in the book (val_gen min_index; train_gen max_index 200000)
PUBLISHED_TEST_START = 300_001  # first test row in the book (test_gen min_index; val_gen max_index 300000)
MIN_SPLIT_ROWS = 2  # below this a split cannot hold even one window with lookback and delay of one row
SPLITS = ("train", "val", "test")  # in the order the book cuts them
SPLIT_METHODS = ("contiguous", "blocked")  # how split_ranges cuts; TrainSettings.split may also be "auto"
AUTO_BLOCKED_BELOW_DAYS = 730  # "auto" splits a record spanning less than two full years `blocked`
DAYS_PER_MONTH = 365.25 / 12
SEASONS = ("DJF", "MAM", "JJA", "SON")  # meteorological seasons: December-February is winter
SEASON_OF_MONTH = {12: "DJF", 1: "DJF", 2: "DJF", 3: "MAM", 4: "MAM", 5: "MAM", 6: "JJA", 7: "JJA", 8: "JJA",
                   9: "SON", 10: "SON", 11: "SON"}


# ---------------------------------------------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------------------------------------------
def _scaled_start(n_rows: int, published_start: int) -> int:
    """round(n_rows * published_start / CLASSIC_ROWS) in integers, so no float rounding can move a boundary.

    CLASSIC_ROWS is odd, so the quotient is never exactly k + 0.5 and half-up equals Python's round().
    """
    return (2 * n_rows * published_start + CLASSIC_ROWS) // (2 * CLASSIC_ROWS)


def split_rows(n_rows: int, min_rows: int = MIN_SPLIT_ROWS) -> dict[str, tuple[int, int]]:
    """Inclusive row ranges of the train, val and test splits, in time order.

    On the classic file these are the book's: train (0, 200000), val (200001, 300000), test (300001, 420550).
    On any other length the boundaries keep the same proportions.

    Args:
        n_rows: rows in the time-sorted series.
        min_rows: the fewest rows a split may hold.

    Returns:
        {"train": (first, last), "val": (first, last), "test": (first, last)}, inclusive, covering every row.

    Raises:
        DataFormatError: if any split would hold fewer than `min_rows` rows.
    """
    val_start = _scaled_start(n_rows, PUBLISHED_VAL_START)
    test_start = _scaled_start(n_rows, PUBLISHED_TEST_START)
    splits = {"train": (0, val_start - 1), "val": (val_start, test_start - 1), "test": (test_start, n_rows - 1)}
    for name, (first, last) in splits.items():
        if last - first + 1 < min_rows:
            raise DataFormatError(
                f"{n_rows} rows give a {name} split of rows {first}..{last} ({last - first + 1} rows); "
                f"expected at least {min_rows} rows in every split"
            )
    return splits


def parse_pattern(pattern: str | Sequence[str]) -> tuple[str, ...]:
    """The block pattern as a tuple of split names, from "train,train,val,test" or a sequence.

    Raises:
        SettingsError: on a name that is not a split, or a split that never appears.
    """
    names = tuple(p.strip() for p in (pattern.split(",") if isinstance(pattern, str) else pattern))
    unknown = [n for n in names if n not in SPLITS]
    missing = [n for n in SPLITS if n not in names]
    if unknown or missing:
        raise SettingsError(
            f"block pattern {','.join(names)!r}: "
            + (f"{', '.join(repr(n) for n in unknown)} is not a split; " if unknown else "")
            + (f"{', '.join(missing)} never appears; " if missing else "")
            + f"expected comma-separated names from {', '.join(SPLITS)}, each at least once, e.g. train,train,val,test"
        )
    return names


def split_of(seconds: np.ndarray, block_days: int, pattern: str | Sequence[str], *, stamped: str) -> np.ndarray:
    """The split of each reading under the blocked split: pattern[(day // block_days) % len(pattern)].

    A function of each timestamp alone (not of its row, the first row or the file order), so the same readings
    get the same splits however they were combined.

    Args:
        seconds: (rows,) int64 timestamps, in any order.
        block_days: whole days per block.
        pattern: the splits dealt to consecutive blocks, repeating.
        stamped: the record's `stamped` (tasks.core.stamps.day_of): which day a reading at midnight is in.

    Returns:
        (rows,) int64 index into SPLITS (0 train, 1 val, 2 test).
    """
    if block_days < 1:
        raise SettingsError(f"block_days {block_days}: expected at least 1 whole day")
    codes = np.array([SPLITS.index(name) for name in parse_pattern(pattern)], dtype=np.int64)
    return codes[(day_of(seconds, stamped) // block_days) % len(codes)]  # numpy's % is >= 0 for days before 1970 too


def split_ranges(
    seconds: np.ndarray,
    method: str = "contiguous",
    *,
    block_days: int = 28,
    pattern: str | Sequence[str] = "train,train,val,test",
    stamped: str,
    min_rows: int = MIN_SPLIT_ROWS,
) -> dict[str, list[Range]]:
    """The row ranges of each split, in time order: one range each for `contiguous`, one per run of consecutive
    blocks of the same split for `blocked`.

    Args:
        seconds: (rows,) int64 timestamps, strictly increasing.
        method: "contiguous" (split_rows) or "blocked" (split_of).
        block_days: whole days per block (blocked only).
        pattern: splits dealt to consecutive blocks (blocked only).
        stamped: the record's `stamped`, which day a reading at midnight is in (blocked only).
        min_rows: the fewest rows a split may hold.

    Returns:
        {"train": [(first, last), ...], "val": [...], "test": [...]}, inclusive; together they cover every row once.

    Raises:
        SettingsError: on an unknown method, or a bad block size or pattern.
        DataFormatError: if the timestamps are not increasing, or a split holds fewer than `min_rows` rows.
    """
    seconds = np.asarray(seconds, dtype=np.int64)
    if method == "contiguous":
        return {name: [bounds] for name, bounds in split_rows(len(seconds), min_rows).items()}
    if method != "blocked":
        raise SettingsError(f"split {method!r}: expected one of {', '.join(SPLIT_METHODS)}")
    if np.any(np.diff(seconds) <= 0):
        bad = int(np.argmax(np.diff(seconds) <= 0)) + 1
        raise DataFormatError(f"timestamps are not strictly increasing at row {bad}; expected time-sorted rows")
    codes = split_of(seconds, block_days, pattern, stamped=stamped)  # (rows,)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else np.zeros(0, np.int64)
    ends = np.r_[starts[1:] - 1, len(codes) - 1] if len(codes) else starts
    ranges: dict[str, list[Range]] = {name: [] for name in SPLITS}
    for first, last in zip(starts.tolist(), ends.tolist()):
        ranges[SPLITS[codes[first]]].append((first, last))
    for name, parts in ranges.items():
        held = sum(last - first + 1 for first, last in parts)
        if held < min_rows:
            span = (f"{np.datetime64(int(seconds[0]), 's')} to {np.datetime64(int(seconds[-1]), 's')}"
                    if len(seconds) else "no rows")
            raise DataFormatError(
                f"{len(seconds)} rows ({span}) in {block_days}-day blocks dealt as {','.join(parse_pattern(pattern))} "
                f"give the {name} split {held} rows; expected at least {min_rows}: use shorter blocks or more data"
            )
    return ranges


def record_days(seconds: np.ndarray) -> float:
    """Days a record spans: from the start of its first reading's period to the end of its last one, so two full
    years of readings span 730 days, however they are stamped (the first period's start and the last one's end
    are one interval apart from their stamps either way). The period is the record's own: the shortest step
    between two readings (10 minutes for Jena)."""
    seconds = np.asarray(seconds, dtype=np.int64)
    if not len(seconds):
        return 0.0
    steps = np.diff(np.unique(seconds))
    interval = int(steps.min()) if len(steps) else 0
    return float(seconds.max() - seconds.min() + interval) / SECONDS_PER_DAY


def describe_days(days: float) -> str:
    """A span for a sentence: "10.4 days", "10.1 months" or "8.0 years"."""
    if days < 2 * DAYS_PER_MONTH:
        return f"{days:.1f} days"
    if days < AUTO_BLOCKED_BELOW_DAYS:
        return f"{days / DAYS_PER_MONTH:.1f} months"
    return f"{days / 365.25:.1f} years"


def choose_split(
    method: str, seconds: np.ndarray, *, block_days: int = 28, pattern: str | Sequence[str] = "train,train,val,test"
) -> tuple[str, str]:
    """The split method a record is cut by, and why: a named method as it is; `auto` from the timestamps alone.

    `auto` is `blocked` when the record spans less than two full years (AUTO_BLOCKED_BELOW_DAYS), so every split
    holds every season it can, and `contiguous` (the book's) on a longer record, where it does already. A record
    shorter than one cycle of blocks (block_days x the pattern's length) is `contiguous` as well: blocked, some
    split would get no block at all.

    Args:
        seconds: (rows,) int64 timestamps, in any order.
        method: "auto", or one of SPLIT_METHODS.
        block_days, pattern: the blocks `blocked` would deal (they decide the shortest record it can split).

    Returns:
        (one of SPLIT_METHODS, the reason: "auto: the record spans 10.1 months (< 2 years), so blocked", or
        "named in the settings" for a method given by name).

    Raises:
        SettingsError: on a method that is neither "auto" nor one of SPLIT_METHODS, or a bad pattern.
    """
    if method in SPLIT_METHODS:
        return method, "named in the settings"
    if method != "auto":
        raise SettingsError(f"split {method!r}: expected auto or one of {', '.join(SPLIT_METHODS)}")
    days = record_days(seconds)
    span = f"the record spans {describe_days(days)}"
    if days >= AUTO_BLOCKED_BELOW_DAYS:
        return "contiguous", f"auto: {span} (>= 2 years), so contiguous"
    cycle = block_days * len(parse_pattern(pattern))
    if days < cycle:
        return "contiguous", (f"auto: {span}, less than one cycle of {block_days}-day blocks ({cycle} days), "
                              "so contiguous")
    return "blocked", f"auto: {span} (< 2 years), so blocked"


# ---------------------------------------------------------------------------------------------------------------
# What each split holds
# ---------------------------------------------------------------------------------------------------------------
def season_of(seconds: np.ndarray, stamped: str) -> np.ndarray:
    """(rows,) "DJF", "MAM", "JJA" or "SON" of each reading's period (stamped: the record's, as day_of)."""
    months = (day_of(seconds, stamped).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12) + 1
    return np.array([SEASON_OF_MONTH[m] for m in range(1, 13)])[months - 1]


def split_facts(
    seconds: np.ndarray,
    ranges: Mapping[str, Sequence[Range]],
    anchors: Mapping[str, np.ndarray],
    *,
    lookback: int,
    delay: int,
    max_gap_minutes: float,
    stamped: str,
) -> dict[str, dict]:
    """What each split holds, so a reader sees whether the splits are comparable.

    The purge of a split: windows of the whole record (cut by gaps only, no split boundaries) whose target is one
    of its rows, less the windows it keeps. Summed over the splits it is every window the boundaries cost.

    Args:
        seconds: (rows,) int64 timestamps, strictly increasing.
        ranges: split -> its row ranges (split_ranges).
        anchors: split -> its anchor rows (window_rows over its ranges).
        lookback, delay, max_gap_minutes: as for window_rows.
        stamped: the record's `stamped`: which day, month and season a reading at midnight is in.

    Returns:
        split -> {"rows", "ranges" (how many), "windows", "purged_windows", "first" and "last" (times of its first
        and last rows), "months" (["2024-01", ...]: where it holds rows), "windows_by_season" ({"DJF": n, ...}:
        its windows by the season of their target, the seasons it is judged or trained on)}.
    """
    seconds = np.asarray(seconds, dtype=np.int64)
    whole = window_rows(seconds, (0, len(seconds) - 1), lookback, delay, max_gap_minutes)
    owner = np.full(len(seconds), -1, dtype=np.int64)  # (rows,) index of each row's split in `names`
    names = list(ranges)
    for i, name in enumerate(names):
        for first, last in ranges[name]:
            owner[first : last + 1] = i
    facts = {}
    for i, name in enumerate(names):
        rows = np.flatnonzero(owner == i)
        kept = np.asarray(anchors[name], dtype=np.int64)
        target_seasons = season_of(seconds[kept + delay], stamped) if kept.size else np.zeros(0, dtype=str)
        facts[name] = {
            "rows": int(rows.size),
            "ranges": len(ranges[name]),
            "windows": int(kept.size),
            "purged_windows": int(np.count_nonzero(owner[whole + delay] == i) - kept.size),
            "first": str(np.datetime64(int(seconds[rows[0]]), "s")) if rows.size else None,
            "last": str(np.datetime64(int(seconds[rows[-1]]), "s")) if rows.size else None,
            "months": months_of(seconds[rows], stamped),
            "windows_by_season": {s: int(np.count_nonzero(target_seasons == s)) for s in SEASONS
                                  if np.any(target_seasons == s)},
        }
    return facts
