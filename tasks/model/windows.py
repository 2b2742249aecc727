"""Which rows form a Jena window: splits, normalization, valid anchor rows and the tf.data pipeline.

A window is named by its *anchor* row r, as in the book's `generator` (Deep Learning with Python, listing 6.33):
the inputs are rows r - lookback, r - lookback + step, ..., r - step (every feature), the target is the target
column of row r + delay. With the book's settings (lookback 1440, step 6, delay 144 at 10 minutes a row) a
window sees the last 10 days at one reading per hour and predicts the temperature 24 hours ahead.

Where we differ from the published generator, on purpose:
- the book lets a target run past `max_index` (it only bounds the anchor), so the last training targets are
  validation rows; here the inputs *and* the target of a window stay inside their split;
- the book ignores gaps in the record (the classic file has gaps up to 72 days, station files combined add one
  of 24 days); here no window spans two timestamps further apart than `max_gap_minutes`;
- the book's sequential generator restarts before its last partial batch, so the last <= batch_size anchors of
  a split are never seen; here one epoch visits every anchor exactly once.

Two ways to split (`TrainSettings.split`):
- `contiguous`, the book's: train, validation and test follow each other in time (rows 0-200000, 200001-300000,
  the rest on the classic file; the same proportions on any other length). On eight years every split holds every
  season; on a short record (the 2024 station files: January-October) it puts winter in training and summer in
  validation and test.
- `blocked`: the calendar cut into blocks of `block_days` whole days (counted from 1970-01-01, so the same day
  is in the same block whatever the file order or the first row), the blocks dealt to train/val/test in a fixed
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

Everything here is a plain function on arrays; the stage's Prefect wrapper does the file I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tasks.core.sources import JENA_FEATURES, JENA_TARGET
from tasks.core.errors import DataFormatError, SettingsError

if TYPE_CHECKING:  # annotations only: TensorFlow is imported where it is used
    import tensorflow as tf

CLASSIC_ROWS = 420_551  # rows of jena_climate_2009_2016.csv, for which the published splits below were chosen
PUBLISHED_VAL_START = 200_001  # first validation row in the book (val_gen min_index; train_gen max_index 200000)
PUBLISHED_TEST_START = 300_001  # first test row in the book (test_gen min_index; val_gen max_index 300000)
MIN_SPLIT_ROWS = 2  # below this a split cannot hold even one window with lookback and delay of one row
JENA_TARGET_COL = JENA_FEATURES.index(JENA_TARGET)  # 1: "T (degC)", the book's `data[...][1]`
SPLITS = ("train", "val", "test")  # in the order the book cuts them
SPLIT_METHODS = ("contiguous", "blocked")  # TrainSettings.split
SECONDS_PER_DAY = 86_400
SEASONS = ("DJF", "MAM", "JJA", "SON")  # meteorological seasons: December-February is winter
SEASON_OF_MONTH = {12: "DJF", 1: "DJF", 2: "DJF", 3: "MAM", 4: "MAM", 5: "MAM", 6: "JJA", 7: "JJA", 8: "JJA",
                   9: "SON", 10: "SON", 11: "SON"}

Range = tuple[int, int]  # inclusive (first, last) rows


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


def day_of(seconds: np.ndarray) -> np.ndarray:
    """Whole days since 1970-01-01 of each reading's 10-minute period.

    A reading is stamped with the end of its period, so one stamped 00:00:00 belongs to the day before; every
    day then holds its 144 readings 00:10:00 .. 24:00:00, as the classic file's first day does.
    """
    return (np.asarray(seconds, dtype=np.int64) - 1) // SECONDS_PER_DAY


def split_of(seconds: np.ndarray, block_days: int, pattern: str | Sequence[str]) -> np.ndarray:
    """The split of each reading under the blocked split: pattern[(day // block_days) % len(pattern)].

    A function of each timestamp alone (not of its row, the first row or the file order), so the same readings
    get the same splits however they were combined.

    Args:
        seconds: (rows,) int64 timestamps, in any order.
        block_days: whole days per block.
        pattern: the splits dealt to consecutive blocks, repeating.

    Returns:
        (rows,) int64 index into SPLITS (0 train, 1 val, 2 test).
    """
    if block_days < 1:
        raise SettingsError(f"block_days {block_days}: expected at least 1 whole day")
    codes = np.array([SPLITS.index(name) for name in parse_pattern(pattern)], dtype=np.int64)
    return codes[(day_of(seconds) // block_days) % len(codes)]  # numpy's % is >= 0 for days before 1970 too


def split_ranges(
    seconds: np.ndarray,
    method: str = "contiguous",
    *,
    block_days: int = 28,
    pattern: str | Sequence[str] = "train,train,val,test",
    min_rows: int = MIN_SPLIT_ROWS,
) -> dict[str, list[Range]]:
    """The row ranges of each split, in time order: one range each for `contiguous`, one per run of consecutive
    blocks of the same split for `blocked`.

    Args:
        seconds: (rows,) int64 timestamps, strictly increasing.
        method: "contiguous" (split_rows) or "blocked" (split_of).
        block_days: whole days per block (blocked only).
        pattern: splits dealt to consecutive blocks (blocked only).
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
    codes = split_of(seconds, block_days, pattern)  # (rows,)
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


def _as_ranges(ranges: Range | Sequence[Range]) -> list[Range]:
    """One (first, last) range or a sequence of them, as a list of ranges."""
    if len(ranges) == 2 and all(isinstance(v, (int, np.integer)) for v in ranges):
        return [(int(ranges[0]), int(ranges[1]))]
    return [(int(first), int(last)) for first, last in ranges]


# ---------------------------------------------------------------------------------------------------------------
# Normalization
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Normalizer:
    """Per-feature mean and standard deviation, fitted on the training rows only."""

    mean: tuple[float, ...]  # per feature, in the feature's own unit
    std: tuple[float, ...]  # per feature, population std (ddof=0, as numpy's and the book's `.std(axis=0)`)
    features: tuple[str, ...]  # column names, in the series' column order

    def __post_init__(self) -> None:
        # Stored as tuples so a frozen Normalizer really cannot change; lists are accepted for convenience.
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))
        object.__setattr__(self, "features", tuple(str(v) for v in self.features))
        if not len(self.mean) == len(self.std) == len(self.features):
            raise SettingsError(
                f"normalizer has {len(self.mean)} means, {len(self.std)} stds and {len(self.features)} features; "
                "expected one of each per feature"
            )

    def to_json(self) -> dict[str, list]:
        """A JSON-ready dict: {"features": [...], "mean": [...], "std": [...]}."""
        return {"features": list(self.features), "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_json(cls, data: dict | str) -> Normalizer:
        """The Normalizer of a `to_json` dict (or its JSON text)."""
        if isinstance(data, str):
            data = json.loads(data)
        return cls(mean=data["mean"], std=data["std"], features=data["features"])


def fit_normalizer(
    series: np.ndarray, train_range: Range | Sequence[Range], features: Sequence[str] = JENA_FEATURES
) -> Normalizer:
    """Mean and std of each feature over the training rows, in float64.

    Args:
        series: (rows, features) measurements, time-sorted.
        train_range: the inclusive (first, last) training rows, or a list of such ranges (the blocked split);
            no other row is read.
        features: the column names, in order.

    Returns:
        The fitted Normalizer.

    Raises:
        SettingsError: if the range is empty or outside the series.
        DataFormatError: if the names do not match the columns, or a feature is constant over the training rows
            (its std is 0, so it cannot be scaled).
    """
    features = tuple(features)
    if series.ndim != 2 or series.shape[1] != len(features):
        raise DataFormatError(f"series has shape {series.shape}; expected (rows, {len(features)}) for {features}")
    ranges = _as_ranges(train_range)
    for first, last in ranges:
        if not 0 <= first <= last < len(series):
            raise SettingsError(f"train range {(first, last)} is not inside rows 0..{len(series) - 1}")
    if not ranges:
        raise SettingsError("no training rows: expected at least one (first, last) range")
    # (train_rows, features); a row in two overlapping ranges would count twice, so ranges must not overlap
    train = np.concatenate([series[first : last + 1] for first, last in ranges]).astype(np.float64)
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    where = ", ".join(f"{first}..{last}" for first, last in ranges[:3]) + (", ..." if len(ranges) > 3 else "")
    for name, value in zip(features, std):
        if value == 0:
            raise DataFormatError(
                f"feature {name!r} is constant over training rows {where} (std 0); it cannot be normalized"
            )
    return Normalizer(mean=mean.tolist(), std=std.tolist(), features=features)


def normalize(series: np.ndarray, normalizer: Normalizer) -> np.ndarray:
    """(series - mean) / std per feature, as a new float32 array; the input is left as it was.

    Args:
        series: (rows, features) measurements.
        normalizer: from fit_normalizer on the same columns.

    Returns:
        (rows, features) float32.
    """
    if series.ndim != 2 or series.shape[1] != len(normalizer.features):
        raise DataFormatError(
            f"series has shape {series.shape}; the normalizer expects (rows, {len(normalizer.features)})"
        )
    mean = np.asarray(normalizer.mean, dtype=np.float64)
    std = np.asarray(normalizer.std, dtype=np.float64)
    return ((series.astype(np.float64) - mean) / std).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------------
# Windows
# ---------------------------------------------------------------------------------------------------------------
def window_rows(
    timestamps: np.ndarray, row_range: Range | Sequence[Range], lookback: int, delay: int, max_gap_minutes: float
) -> np.ndarray:
    """The anchor rows of every valid window inside one split, in time order.

    A window anchored at row r reads rows r - lookback .. r + delay. It is valid when
    - r - lookback >= first and r + delay <= last of one of the split's ranges: neither inputs nor target leave
      the range, so none touches another split's rows (the book only bounded the anchor, so its targets ran up to
      `delay` rows past `max_index`);
    - no two consecutive timestamps from row r - lookback to row r + delay are more than `max_gap_minutes`
      apart: the window does not straddle a hole in the record.

    Args:
        timestamps: (rows,) int64 seconds, strictly increasing.
        row_range: inclusive (first, last) rows of the split, or a list of such ranges (the blocked split).
        lookback: rows of history before the anchor (1440 = 10 days at 10 minutes a row).
        delay: rows from the anchor to the target (144 = 24 hours).
        max_gap_minutes: the longest step between consecutive readings a window may contain.

    Returns:
        (windows,) int64 anchor rows; empty when no window fits.

    Raises:
        SettingsError: on a negative lookback or delay, a non-positive gap, or a range outside the timestamps.
        DataFormatError: if the timestamps are not strictly increasing.
    """
    ranges = _as_ranges(row_range)
    if lookback < 1 or delay < 0:
        raise SettingsError(f"lookback {lookback} and delay {delay}: expected lookback >= 1 and delay >= 0")
    if max_gap_minutes <= 0:
        raise SettingsError(f"max_gap_minutes {max_gap_minutes}: expected a positive number of minutes")
    for first, last in ranges:
        if not 0 <= first <= last < len(timestamps):
            raise SettingsError(f"row range {(first, last)} is not inside rows 0..{len(timestamps) - 1}")

    steps = np.diff(np.asarray(timestamps, dtype=np.int64))  # (rows - 1,) seconds between readings
    if np.any(steps <= 0):
        bad = int(np.argmax(steps <= 0)) + 1
        raise DataFormatError(f"timestamps are not strictly increasing at row {bad}; expected time-sorted rows")
    # Segment id of each row: how many gaps lie before it. A window is gap-free iff its first and last rows
    # share an id.
    segment = np.concatenate([[0], np.cumsum(steps > max_gap_minutes * 60)])  # (rows,)

    kept = []
    for first, last in sorted(ranges):
        anchors = np.arange(first + lookback, last - delay + 1, dtype=np.int64)  # (candidates,)
        kept.append(anchors[segment[anchors - lookback] == segment[anchors + delay]])
    return np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)


# ---------------------------------------------------------------------------------------------------------------
# What each split holds
# ---------------------------------------------------------------------------------------------------------------
def months_of(seconds: np.ndarray) -> list[str]:
    """The months ("YYYY-MM", sorted) of the readings' 10-minute periods (day_of's convention)."""
    return np.unique(day_of(seconds).astype("datetime64[D]").astype("datetime64[M]")).astype(str).tolist()


def season_of(seconds: np.ndarray) -> np.ndarray:
    """(rows,) "DJF", "MAM", "JJA" or "SON" of each reading's period."""
    months = (day_of(seconds).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12) + 1
    return np.array([SEASON_OF_MONTH[m] for m in range(1, 13)])[months - 1]


def split_facts(
    seconds: np.ndarray,
    ranges: Mapping[str, Sequence[Range]],
    anchors: Mapping[str, np.ndarray],
    *,
    lookback: int,
    delay: int,
    max_gap_minutes: float,
) -> dict[str, dict]:
    """What each split holds, so a reader sees whether the splits are comparable.

    The purge of a split: windows of the whole record (cut by gaps only, no split boundaries) whose target is one
    of its rows, less the windows it keeps. Summed over the splits it is every window the boundaries cost.

    Args:
        seconds: (rows,) int64 timestamps, strictly increasing.
        ranges: split -> its row ranges (split_ranges).
        anchors: split -> its anchor rows (window_rows over its ranges).
        lookback, delay, max_gap_minutes: as for window_rows.

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
        target_seasons = season_of(seconds[kept + delay]) if kept.size else np.zeros(0, dtype=str)
        facts[name] = {
            "rows": int(rows.size),
            "ranges": len(ranges[name]),
            "windows": int(kept.size),
            "purged_windows": int(np.count_nonzero(owner[whole + delay] == i) - kept.size),
            "first": str(np.datetime64(int(seconds[rows[0]]), "s")) if rows.size else None,
            "last": str(np.datetime64(int(seconds[rows[-1]]), "s")) if rows.size else None,
            "months": months_of(seconds[rows]),
            "windows_by_season": {s: int(np.count_nonzero(target_seasons == s)) for s in SEASONS
                                  if np.any(target_seasons == s)},
        }
    return facts


def window_gather(
    series: np.ndarray, *, lookback: int, step: int, delay: int, target_col: int
) -> Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]:
    """The function from a batch of anchor rows to (windows, targets), over `series` held in one tensor.

    The tensor is made on the current device (`with tf.device(...)`): the host for tf.data, or an accelerator
    where windows are gathered next to the model (bench/gpu.py). Arguments as in make_window_dataset, which checks
    them; anchors must leave room for lookback and delay (a gather out of range yields zeros on a GPU).

    Returns:
        gather(anchors int64 (batch,)) -> (windows float32 (batch, lookback // step, features), targets (batch,)).
    """
    # The series by phase: row r moves to (r % step) * phase_rows + r // step, so the readings of one window
    # (rows r - lookback, r - lookback + step, ..., r - step, all of phase (r - lookback) % step) sit in
    # consecutive rows, and its gather reads one contiguous block instead of lookback // step rows spread over
    # lookback rows. Same values, fewer cache misses: on shuffled windows 2x the batches/s at step 6, ~1.2x at
    # step 3, sequential ones unchanged (bench/windows.py, 2 busy CPU cores).
    import tensorflow as tf  # here, not at import: the orchestrator and every --help stay free of TensorFlow

    phase_rows = -(-len(series) // step)  # rows per phase, the last ones padded
    padded = np.zeros((phase_rows * step, series.shape[1]), dtype=np.float32)  # (phase_rows * step, features)
    padded[: len(series)] = series
    by_phase = padded.reshape(phase_rows, step, -1).transpose(1, 0, 2).reshape(phase_rows * step, -1)
    values = tf.constant(by_phase, dtype=tf.float32)  # (step * phase_rows, features)
    target_values = tf.constant(series[:, target_col], dtype=tf.float32)  # (rows,)
    offsets = tf.range(lookback // step, dtype=tf.int64)  # (lookback // step,) consecutive rows of one phase

    def gather(anchor: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        first = anchor - lookback  # (batch,) first input row of each window
        start = (first % step) * phase_rows + first // step  # (batch,) its place in `values`
        windows = tf.gather(values, start[:, None] + offsets[None, :])  # (batch, lookback // step, features)
        targets = tf.gather(target_values, anchor + delay)  # (batch,)
        return windows, targets

    return gather


def make_window_dataset(
    series: np.ndarray,
    rows: np.ndarray,
    *,
    lookback: int,
    step: int,
    delay: int,
    target_col: int,
    batch_size: int,
    shuffle: bool,
    seed: int | None = None,
) -> tf.data.Dataset:
    """Batches of (windows, targets) gathered from `series` at the given anchor rows.

    The series goes into one host tensor once (ordered by phase, see window_gather); the pipeline only moves row
    indices and gathers each batch, so no Python runs per window. One pass over the dataset is one epoch: every anchor
    exactly once, in the given order or, with `shuffle`, in an order that changes every epoch but repeats for
    the same seed.

    Args:
        series: (rows, features) normalized measurements.
        rows: (windows,) anchor rows, e.g. from window_rows.
        lookback: rows of history before the anchor; a multiple of `step`.
        step: rows between two sampled readings (6 = one per hour).
        delay: rows from the anchor to the target.
        target_col: column of the target in `series` (JENA_TARGET_COL for temperature).
        batch_size: windows per batch; the last batch may be smaller.
        shuffle: reshuffle the anchors every epoch (training) or keep time order (evaluation).
        seed: shuffle seed; the same seed gives the same sequence of epoch orders.

    Returns:
        A dataset of (windows float32 (batch, lookback // step, features), targets float32 (batch,)).

    Raises:
        SettingsError: on a lookback that is not a multiple of step, no anchors, an anchor whose window or
            target falls outside the series, a bad target column or a non-positive batch size.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if step < 1 or lookback < step or lookback % step:
        raise SettingsError(f"lookback {lookback} and step {step}: expected lookback a positive multiple of step")
    if batch_size < 1:
        raise SettingsError(f"batch_size {batch_size}: expected at least 1")
    if not 0 <= target_col < series.shape[1]:
        raise SettingsError(f"target_col {target_col} is not a column of a series with {series.shape[1]} columns")
    if rows.size == 0:
        raise DataFormatError(
            f"no window fits (lookback {lookback}, delay {delay}); expected at least one anchor row"
        )
    # Checked here: a gather out of range fails deep inside tf.data on CPU and silently yields zeros on GPU.
    if rows.min() - lookback < 0 or rows.max() + delay >= len(series):
        raise SettingsError(
            f"anchor rows {rows.min()}..{rows.max()} with lookback {lookback} and delay {delay} reach outside "
            f"rows 0..{len(series) - 1}"
        )

    import tensorflow as tf

    with tf.device("/CPU:0"):  # tf.data runs on the host: keep the series there, even where a GPU is the default
        gather = window_gather(series, lookback=lookback, step=step, delay=delay, target_col=target_col)

    dataset = tf.data.Dataset.from_tensor_slices(rows)
    if shuffle:
        # A buffer as long as the split gives a uniform permutation; it holds int64 indices only, not windows.
        dataset = dataset.shuffle(len(rows), seed=seed, reshuffle_each_iteration=True)
    return (
        dataset.batch(batch_size)
        .map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
    )
