"""Which rows form a Jena window: splits, normalizer, valid anchors and the tf.data pipeline.

The tf.data windows are checked against a verbatim copy of the book's generator, which lives here rather than
in tasks/ because it is a reference, not something the pipeline runs.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from tasks.errors import DataFormatError, SettingsError
from tasks.windows import (
    JENA_TARGET_COL,
    Normalizer,
    fit_normalizer,
    make_window_dataset,
    normalize,
    split_rows,
    window_gather,
    window_rows,
)
from tests.support.book import generator  # the published generator, verbatim

pytestmark = pytest.mark.unit

ROWS, FEATURES = 600, 3
LOOKBACK, STEP, DELAY, BATCH, TARGET_COL = 60, 6, 12, 16, 1
TEN_MINUTES = 600  # seconds
START = 1_230_768_600  # 2009-01-01 00:10:00 UTC, the classic file's first reading
NAMES = ("a", "b", "c")


@pytest.fixture
def series() -> np.ndarray:
    """(600, 3) float32 where cell [r, c] holds 3r + c, so every value names its row and column."""
    return np.arange(ROWS * FEATURES, dtype=np.float32).reshape(ROWS, FEATURES)


@pytest.fixture
def timestamps() -> np.ndarray:
    """A gap-free 10-minute grid."""
    return START + TEN_MINUTES * np.arange(ROWS, dtype=np.int64)


def anchors_of(targets: np.ndarray) -> np.ndarray:
    """The anchor rows of a batch of the fixture series, read back from its targets (3 (r + delay) + 1)."""
    return ((np.asarray(targets, dtype=np.int64) - TARGET_COL) // FEATURES - DELAY).astype(np.int64)


def collect(dataset) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(x.numpy(), y.numpy()) for x, y in dataset]


def dataset_of(series: np.ndarray, rows: np.ndarray, shuffle: bool = False, seed: int | None = None):
    return make_window_dataset(
        series,
        rows,
        lookback=LOOKBACK,
        step=STEP,
        delay=DELAY,
        target_col=TARGET_COL,
        batch_size=BATCH,
        shuffle=shuffle,
        seed=seed,
    )


# ---------------------------------------------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------------------------------------------
def test_split_rows_are_the_published_ones_on_the_classic_file():
    assert split_rows(420_551) == {"train": (0, 200_000), "val": (200_001, 300_000), "test": (300_001, 420_550)}


def test_split_rows_keep_the_proportions_and_cover_every_row():
    splits = split_rows(1000)
    # round(1000 * 200001 / 420551) = round(475.57) = 476; round(1000 * 300001 / 420551) = round(713.35) = 713
    assert splits == {"train": (0, 475), "val": (476, 712), "test": (713, 999)}
    for n in (50, 1001, 123_457, 2 * 420_551):
        s = split_rows(n)
        assert s["train"][0] == 0 and s["test"][1] == n - 1
        assert s["val"][0] == s["train"][1] + 1 and s["test"][0] == s["val"][1] + 1


def test_split_rows_refuse_a_split_too_small():
    with pytest.raises(DataFormatError, match="train split of rows 0..0"):
        split_rows(3)
    with pytest.raises(DataFormatError, match="at least 500 rows"):
        split_rows(1000, min_rows=500)


# ---------------------------------------------------------------------------------------------------------------
# Normalizer
# ---------------------------------------------------------------------------------------------------------------
def test_normalizer_uses_training_rows_only(series):
    before = fit_normalizer(series, (0, 299), NAMES)
    train = series[:300].astype(np.float64)
    np.testing.assert_allclose(before.mean, train.mean(axis=0))
    np.testing.assert_allclose(before.std, train.std(axis=0))

    changed = series.copy()
    changed[300:] *= 1000  # every non-training row
    assert fit_normalizer(changed, (0, 299), NAMES) == before

    changed[299, 0] += 1  # the last training row
    assert fit_normalizer(changed, (0, 299), NAMES).mean != before.mean


def test_normalizer_round_trips_through_json(series):
    fitted = fit_normalizer(series, (0, 299), NAMES)
    text = json.dumps(fitted.to_json())
    assert Normalizer.from_json(json.loads(text)) == fitted
    assert Normalizer.from_json(text) == fitted
    assert fitted.features == NAMES


def test_normalize_scales_training_rows_and_leaves_the_input_alone(series):
    original = series.copy()
    fitted = fit_normalizer(series, (0, 299), NAMES)
    scaled = normalize(series, fitted)
    assert scaled.dtype == np.float32 and scaled.shape == series.shape
    np.testing.assert_allclose(scaled[:300].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(scaled[:300].std(axis=0), 1, atol=1e-5)
    np.testing.assert_array_equal(series, original)


def test_normalizer_refuses_a_constant_feature(series):
    series[:, 2] = 5.0
    with pytest.raises(DataFormatError, match="'c'"):
        fit_normalizer(series, (0, 299), NAMES)


def test_normalizer_refuses_names_that_do_not_match_the_columns(series):
    with pytest.raises(DataFormatError, match="expected"):
        fit_normalizer(series, (0, 299))  # the 14 Jena names on 3 columns


# ---------------------------------------------------------------------------------------------------------------
# Anchor rows
# ---------------------------------------------------------------------------------------------------------------
def test_jena_target_is_the_books_column():
    assert JENA_TARGET_COL == 1  # the book's `data[rows[j] + delay][1]`


def test_windows_stay_inside_their_split(timestamps):
    first, last = 100, 399
    rows = window_rows(timestamps, (first, last), LOOKBACK, DELAY, max_gap_minutes=60)
    assert (rows - LOOKBACK >= first).all() and (rows + DELAY <= last).all()
    # right up to both boundaries, and nothing missing in between
    np.testing.assert_array_equal(rows, np.arange(first + LOOKBACK, last - DELAY + 1))
    assert rows.dtype == np.int64


def test_no_window_crosses_a_gap_but_windows_reach_it(timestamps):
    gap_after = 299  # rows 0..299, then 24 days without readings (as between two station files), then 300..599
    timestamps = timestamps.copy()
    timestamps[gap_after + 1 :] += 24 * 24 * 3600
    rows = window_rows(timestamps, (0, ROWS - 1), LOOKBACK, DELAY, max_gap_minutes=60)

    segment_of_row = (np.arange(ROWS) > gap_after).astype(int)
    for r in rows:  # fine in a test: 456 windows
        assert segment_of_row[r - LOOKBACK] == segment_of_row[r + DELAY]
    last_before = gap_after - DELAY  # its target is the last reading before the gap
    first_after = gap_after + 1 + LOOKBACK  # its first input is the first reading after the gap
    assert last_before in rows and first_after in rows
    assert not np.isin(np.arange(last_before + 1, first_after), rows).any()
    assert len(rows) == (last_before - LOOKBACK + 1) + (ROWS - 1 - DELAY - first_after + 1)


def test_a_step_equal_to_max_gap_is_not_a_gap(timestamps):
    timestamps = timestamps.copy()
    timestamps[300:] += 50 * 60  # one step of exactly 60 minutes
    every = window_rows(timestamps, (0, ROWS - 1), LOOKBACK, DELAY, max_gap_minutes=60)
    assert len(every) == ROWS - LOOKBACK - DELAY
    fewer = window_rows(timestamps, (0, ROWS - 1), LOOKBACK, DELAY, max_gap_minutes=59)
    assert len(fewer) < len(every)


def test_window_rows_refuse_unsorted_timestamps(timestamps):
    timestamps = timestamps.copy()
    timestamps[10] = timestamps[9]
    with pytest.raises(DataFormatError, match="row 10"):
        window_rows(timestamps, (0, ROWS - 1), LOOKBACK, DELAY, max_gap_minutes=60)


def test_window_rows_are_empty_when_the_split_is_shorter_than_a_window(timestamps):
    assert window_rows(timestamps, (0, LOOKBACK + DELAY - 1), LOOKBACK, DELAY, 60).size == 0
    assert window_rows(timestamps, (0, LOOKBACK + DELAY), LOOKBACK, DELAY, 60).tolist() == [LOOKBACK]


# ---------------------------------------------------------------------------------------------------------------
# tf.data windows
# ---------------------------------------------------------------------------------------------------------------
def test_sequential_windows_equal_the_books_generator(series, timestamps):
    rows = window_rows(timestamps, (0, 590), LOOKBACK, DELAY, max_gap_minutes=60)  # anchors 60..578: 519 windows
    ours = collect(dataset_of(series, rows))
    assert len(ours) == -(-len(rows) // BATCH) == 33

    # max_index bounds the anchor only (exclusive), so this keeps the book's targets inside row 590 as well.
    book = generator(series, LOOKBACK, DELAY, 0, int(rows[-1]) + 1, batch_size=BATCH, step=STEP)
    # The book restarts once fewer than batch_size + 1 anchors are left: 32 batches, then batch 0 again.
    book_batches = [next(book) for _ in range(33)]
    for (x, y), (bx, by) in zip(ours[:32], book_batches[:32]):
        assert x.dtype == np.float32 and y.dtype == np.float32
        np.testing.assert_array_equal(x.astype(np.float64), bx)
        np.testing.assert_array_equal(y.astype(np.float64), by)
    np.testing.assert_array_equal(book_batches[32][1], book_batches[0][1])

    # Ours goes on to the anchors the book never reaches, so one epoch is every window exactly once.
    np.testing.assert_array_equal(anchors_of(ours[32][1]), rows[32 * BATCH :])
    np.testing.assert_array_equal(np.concatenate([anchors_of(y) for _, y in ours]), rows)


def test_windows_have_the_documented_shapes_and_contents(series, timestamps):
    rows = window_rows(timestamps, (0, ROWS - 1), LOOKBACK, DELAY, max_gap_minutes=60)
    x, y = next(iter(dataset_of(series, rows)))
    assert tuple(x.shape) == (BATCH, LOOKBACK // STEP, FEATURES) and tuple(y.shape) == (BATCH,)
    r = int(rows[0])
    np.testing.assert_array_equal(x.numpy()[0], series[r - LOOKBACK : r : STEP])
    assert y.numpy()[0] == series[r + DELAY, TARGET_COL]


def test_window_gather_outside_tf_data_gives_the_pipelines_windows(series, timestamps):
    # bench/gpu.py gathers on the device with this function, from anchors alone; it must be the same windows.
    rows = window_rows(timestamps, (0, ROWS - 1), LOOKBACK, DELAY, max_gap_minutes=60)
    gather = window_gather(series, lookback=LOOKBACK, step=STEP, delay=DELAY, target_col=TARGET_COL)
    for (x, y), anchors in zip(collect(dataset_of(series, rows)), np.array_split(rows, range(BATCH, len(rows), BATCH))):
        gx, gy = gather(tf.constant(anchors))
        np.testing.assert_array_equal(gx.numpy(), x)
        np.testing.assert_array_equal(gy.numpy(), y)


def test_windows_and_targets_of_a_gappy_series_stay_in_one_segment(series, timestamps):
    timestamps = timestamps.copy()
    timestamps[300:] += 72 * 24 * 3600  # the classic file's longest gap
    rows = window_rows(timestamps, (0, ROWS - 1), LOOKBACK, DELAY, max_gap_minutes=60)
    for x, y in dataset_of(series, rows):
        first_rows = x.numpy()[:, 0, 0].astype(np.int64) // FEATURES  # (batch,) first input row
        target_rows = anchors_of(y.numpy()) + DELAY  # (batch,)
        assert ((first_rows >= 300) == (target_rows >= 300)).all()


def test_shuffled_windows_cover_the_same_rows_in_a_reproducible_order(series, timestamps):
    rows = window_rows(timestamps, (0, ROWS - 1), LOOKBACK, DELAY, max_gap_minutes=60)
    shuffled = dataset_of(series, rows, shuffle=True, seed=7)
    epoch_1 = np.concatenate([anchors_of(y) for _, y in collect(shuffled)])
    epoch_2 = np.concatenate([anchors_of(y) for _, y in collect(shuffled)])

    np.testing.assert_array_equal(np.sort(epoch_1), rows)
    assert not np.array_equal(epoch_1, rows)
    assert not np.array_equal(epoch_1, epoch_2)  # reshuffled every epoch

    again = dataset_of(series, rows, shuffle=True, seed=7)
    np.testing.assert_array_equal(np.concatenate([anchors_of(y) for _, y in collect(again)]), epoch_1)
    other = dataset_of(series, rows, shuffle=True, seed=8)
    assert not np.array_equal(np.concatenate([anchors_of(y) for _, y in collect(other)]), epoch_1)


def test_window_dataset_refuses_bad_settings(series, timestamps):
    rows = window_rows(timestamps, (0, ROWS - 1), LOOKBACK, DELAY, max_gap_minutes=60)
    with pytest.raises(SettingsError, match="multiple of step"):
        make_window_dataset(
            series, rows, lookback=61, step=STEP, delay=DELAY, target_col=1, batch_size=BATCH, shuffle=False
        )
    with pytest.raises(SettingsError, match="reach outside"):
        dataset_of(series, np.array([LOOKBACK - 1]))
    with pytest.raises(SettingsError, match="reach outside"):
        dataset_of(series, np.array([ROWS - DELAY]))
    with pytest.raises(DataFormatError, match="no window fits"):
        dataset_of(series, np.array([], dtype=np.int64))
