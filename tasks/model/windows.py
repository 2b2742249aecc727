"""Which rows form a Jena window, and the tf.data pipeline that gathers them.

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

Which rows belong to which split: tasks.model.splits; the statistics the series is normalized with:
tasks.model.normalizer. Everything here is a plain function on arrays; the stage's Prefect wrapper does the file I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from tasks.core.errors import DataFormatError, SettingsError
from tasks.core.sources import JENA_FEATURES, JENA_TARGET

if TYPE_CHECKING:  # annotations only: TensorFlow is imported where it is used
    import tensorflow as tf

JENA_TARGET_COL = JENA_FEATURES.index(JENA_TARGET)  # 1: "T (degC)", the book's `data[...][1]`

Range = tuple[int, int]  # inclusive (first, last) rows


def as_ranges(ranges: Range | Sequence[Range]) -> list[Range]:
    """One (first, last) range or a sequence of them, as a list of ranges."""
    if len(ranges) == 2 and all(isinstance(v, (int, np.integer)) for v in ranges):
        return [(int(ranges[0]), int(ranges[1]))]
    return [(int(first), int(last)) for first, last in ranges]


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
    ranges = as_ranges(row_range)
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
