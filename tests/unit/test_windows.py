"""Which rows form a Jena window: splits, normalizer, valid anchors and the tf.data pipeline.

The tf.data windows are checked against a verbatim copy of the book's generator, which lives here rather than
in tasks/ because it is a reference, not something the pipeline runs.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
import tensorflow as tf

from tasks.core.errors import DataFormatError, SettingsError
from tasks.model.normalizer import Normalizer, fit_normalizer, normalize
from tasks.model.splits import SPLITS, split_facts, split_of, split_ranges, split_rows
from tasks.model.windows import JENA_TARGET_COL, make_window_dataset, window_gather, window_rows
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
# The blocked split
# ---------------------------------------------------------------------------------------------------------------
BLOCK_DAYS, PATTERN, MAX_GAP = 2, ("train", "train", "val", "test"), 60  # 2-day blocks: 288 rows > a window's 73


@pytest.fixture
def gappy_record() -> np.ndarray:
    """40 days of 10-minute readings starting mid-afternoon, with a 3-day hole (like the one between two station
    files), a 5-hour hole (longer than MAX_GAP) and a 50-minute one (shorter): (rows,) int64 seconds."""
    stamps = 1_704_123_600 + TEN_MINUTES * np.arange(40 * 144, dtype=np.int64)  # 2024-01-01 15:40:00 UTC
    keep = np.ones(len(stamps), dtype=bool)
    keep[1000:1000 + 3 * 144] = False  # 3 days
    keep[3000:3030] = False  # 5 hours
    keep[4000:4004] = False  # 40 minutes missing: one step of 50 minutes
    return stamps[keep]


def brute_force_split(seconds: np.ndarray) -> np.ndarray:
    """The split of each reading, from the calendar alone: the day its 10-minute period lies in (a reading
    stamped 00:00:00 closes the day before), counted from 1970-01-01, in blocks of BLOCK_DAYS, dealt as PATTERN."""
    out = []
    for t in seconds.tolist():
        period_day = (dt.datetime.fromtimestamp(t - 1, dt.timezone.utc).date() - dt.date(1970, 1, 1)).days
        out.append(SPLITS.index(PATTERN[(period_day // BLOCK_DAYS) % len(PATTERN)]))
    return np.array(out)


def brute_force_windows(seconds: np.ndarray, owner: np.ndarray) -> dict[str, set[int]]:
    """Every anchor whose rows r - LOOKBACK .. r + DELAY all belong to one split and span no step over MAX_GAP,
    found by reading each window's rows one by one."""
    found: dict[str, set[int]] = {name: set() for name in SPLITS}
    for r in range(LOOKBACK, len(seconds) - DELAY):
        rows = range(r - LOOKBACK, r + DELAY + 1)
        if len({int(owner[i]) for i in rows}) == 1 and all(
                seconds[i + 1] - seconds[i] <= MAX_GAP * 60 for i in rows[:-1]):
            found[SPLITS[owner[r]]].add(r)
    return found


@pytest.mark.parametrize("method", ["contiguous", "blocked"])
def test_no_window_of_one_split_reads_a_row_of_another(gappy_record, method):
    seconds = gappy_record
    ranges = split_ranges(seconds, method, block_days=BLOCK_DAYS, pattern=PATTERN, stamped="end")
    owner = np.full(len(seconds), -1)
    for code, name in enumerate(SPLITS):
        for first, last in ranges[name]:
            assert (owner[first : last + 1] == -1).all(), "a row in two splits"
            owner[first : last + 1] = code
    assert (owner >= 0).all(), "a row in no split"
    if method == "blocked":
        np.testing.assert_array_equal(owner, brute_force_split(seconds))
        assert all(len(ranges[name]) >= 2 for name in SPLITS)  # several blocks each: the case that can leak

    anchors = {name: window_rows(seconds, ranges[name], LOOKBACK, DELAY, MAX_GAP) for name in SPLITS}
    for code, name in enumerate(SPLITS):
        for r in anchors[name].tolist():  # every row each window reads, its inputs and its target
            assert (owner[r - LOOKBACK : r + DELAY + 1] == code).all(), f"{name} window at {r} reads another split"
    # ... and nothing more is purged than must be: exactly the windows that stay inside one split and one segment
    assert {name: set(anchors[name].tolist()) for name in SPLITS} == brute_force_windows(seconds, owner)


def test_consecutive_blocks_of_one_split_are_one_range_and_boundaries_cost_lookback_plus_delay(timestamps):
    ranges = split_ranges(timestamps, "blocked", block_days=1, pattern=("train", "train", "val", "test"),
                          stamped="end")
    # 600 rows from 2009-01-01 00:10: 4 days and 4 hours. 2009-01-01 is day 14245 since 1970, 14245 % 4 = 1, so
    # the days are dealt train (the pattern's second), val, test, train, train; the last two form one range.
    assert ranges == {"train": [(0, 143), (432, 599)], "val": [(144, 287)], "test": [(288, 431)]}
    anchors = {name: window_rows(timestamps, r, LOOKBACK, DELAY, 60) for name, r in ranges.items()}
    facts = split_facts(timestamps, ranges, anchors, lookback=LOOKBACK, delay=DELAY, max_gap_minutes=60,
                        stamped="end")
    whole = ROWS - LOOKBACK - DELAY
    boundaries = 3  # train|val, val|test, test|train
    assert sum(f["windows"] + f["purged_windows"] for f in facts.values()) == whole
    assert sum(f["purged_windows"] for f in facts.values()) == boundaries * (LOOKBACK + DELAY)
    # a window may cross from day 3 into day 4: both are training rows
    assert facts["train"]["windows"] == (144 - LOOKBACK - DELAY) + (168 - LOOKBACK - DELAY)
    assert (facts["train"]["rows"], facts["train"]["ranges"], facts["val"]["months"]) == (312, 2, ["2009-01"])
    assert facts["train"]["first"] == "2009-01-01T00:10:00" and facts["train"]["last"] == "2009-01-05T04:00:00"
    assert (facts["test"]["first"], facts["test"]["last"]) == ("2009-01-03T00:10:00", "2009-01-04T00:00:00")
    assert facts["val"]["windows_by_season"] == {"DJF": facts["val"]["windows"]}


def test_the_blocked_split_is_a_function_of_the_timestamps_alone(gappy_record):
    seconds = gappy_record
    codes = split_of(seconds, BLOCK_DAYS, PATTERN, stamped="end")
    order = np.random.default_rng(0).permutation(len(seconds))  # the same readings in another file order
    np.testing.assert_array_equal(split_of(seconds[order], BLOCK_DAYS, PATTERN, stamped="end"), codes[order])
    later = seconds[777:]  # a record that starts elsewhere: its readings keep their splits
    np.testing.assert_array_equal(split_of(later, BLOCK_DAYS, PATTERN, stamped="end"), codes[777:])
    assert (split_of(np.array([1_704_067_200]), 1, PATTERN, stamped="end")
            != split_of(np.array([1_704_067_201]), 1, PATTERN, stamped="end"))


def test_two_files_combined_in_either_order_give_the_same_split():
    from tasks.core.sources import JENA_FEATURES
    from tasks.ingest.jena_weather import normalize_jena
    from tests.support.fixtures import synthetic_weather

    first = synthetic_weather("2024-01-01 00:10:00", 3000, seed=1)
    second = synthetic_weather("2024-02-10 13:40:00", 2000, seed=2)  # after a gap, starting mid-day
    results = []
    for frames in ([("a", first), ("b", second)], [("b", second), ("a", first)]):
        table, _ = normalize_jena(frames)
        seconds = table["timestamp"].to_numpy().astype("datetime64[s]").astype(np.int64)
        ranges = split_ranges(seconds, "blocked", block_days=7, pattern=PATTERN, stamped="end")
        results.append((seconds, ranges, fit_normalizer(table[list(JENA_FEATURES)].to_numpy(), ranges["train"])))
    (seconds_a, ranges_a, norm_a), (seconds_b, ranges_b, norm_b) = results
    np.testing.assert_array_equal(seconds_a, seconds_b)
    assert ranges_a == ranges_b and norm_a == norm_b


def test_split_ranges_refuse_what_cannot_split(gappy_record):
    contiguous = split_ranges(np.arange(1000) * TEN_MINUTES + START, stamped="end")
    assert contiguous == {k: [v] for k, v in split_rows(1000).items()}
    with pytest.raises(SettingsError, match="expected one of contiguous, blocked"):
        split_ranges(gappy_record, "random", stamped="end")
    with pytest.raises(SettingsError, match="'tset' is not a split; test never appears"):
        split_ranges(gappy_record, "blocked", pattern="train,val,tset", stamped="end")
    with pytest.raises(DataFormatError, match="give the val split 0 rows"):  # 40 days in 100-day blocks
        split_ranges(gappy_record, "blocked", block_days=100, stamped="end")
    with pytest.raises(DataFormatError, match="not strictly increasing at row 5"):
        split_ranges(np.r_[gappy_record[:5], gappy_record[:5]], "blocked", stamped="end")


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


def test_normalizer_over_several_blocks_uses_their_rows_only(series):
    blocks = [(0, 99), (250, 349), (500, 549)]
    fitted = fit_normalizer(series, blocks, NAMES)
    train = np.concatenate([series[a : b + 1] for a, b in blocks]).astype(np.float64)
    np.testing.assert_allclose(fitted.mean, train.mean(axis=0))
    np.testing.assert_allclose(fitted.std, train.std(axis=0))

    changed = series.copy()
    outside = np.ones(ROWS, dtype=bool)
    for a, b in blocks:
        outside[a : b + 1] = False
    changed[outside] = -changed[outside] * 1000  # every validation and test row, between the blocks too
    assert fit_normalizer(changed, blocks, NAMES) == fitted
    changed[549, 0] += 1  # the last row of the last training block
    assert fit_normalizer(changed, blocks, NAMES).mean != fitted.mean


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
