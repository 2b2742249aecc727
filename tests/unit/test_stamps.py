"""When a reading is stamped (a spec's record.stamped, tasks.core.stamps): an hourly log stamped at the start of each
hour keeps its midnight reading in its own day, block and month; stamped at the end (Jena's station), the midnight
reading closes the day before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tasks.core.datasets import builtin_spec, read_spec
from tasks.core.stamps import day_of, months_of
from tasks.model.splits import season_of, split_facts, split_ranges
from tasks.model.windows import window_rows

pytestmark = pytest.mark.unit

HOUR = 3600
JAN_1 = 1_704_067_200  # 2024-01-01 00:00:00 UTC
SPEC = """
name = "hourly"
kind = "series"
format = "csv_series"
description = "an hourly logger"

[sources]
files = [{{ name = "hourly.csv" }}]

[record]
time = "time"
interval = "1h"
target = "temp"
{stamped}
"""


def hourly(days: int, start: int = JAN_1) -> np.ndarray:
    """(days * 24,) hourly stamps from `start` (a midnight): 00:00, 01:00, ..., 23:00 of each day."""
    return start + HOUR * np.arange(days * 24, dtype=np.int64)


def test_a_user_spec_is_stamped_at_the_start_unless_it_says_end_and_jena_says_end(tmp_path):
    path = tmp_path / "hourly.toml"
    path.write_text(SPEC.format(stamped=""), encoding="utf-8")
    assert read_spec(path).record.stamped == "start"
    path.write_text(SPEC.format(stamped='stamped = "end"'), encoding="utf-8")
    assert read_spec(path).record.stamped == "end"
    assert builtin_spec("jena").record.stamped == "end"


def test_midnight_is_its_own_day_stamped_at_the_start_and_the_day_before_stamped_at_the_end():
    midnight, one_am, last_second = JAN_1 + 86_400, JAN_1 + 86_400 + HOUR, JAN_1 + 86_400 - 1
    assert day_of(np.array([last_second, midnight, one_am]), "start").tolist() == [19723, 19724, 19724]
    assert day_of(np.array([last_second, midnight, one_am]), "end").tolist() == [19723, 19723, 19724]
    with pytest.raises(ValueError, match="stamped='middle'"):
        day_of(np.array([midnight]), "middle")


@pytest.mark.parametrize("stamped, first_hour", [("start", 0), ("end", 1)])
def test_the_blocked_split_starts_each_block_at_the_stamp_that_opens_its_day(stamped, first_hour):
    seconds = hourly(8)  # 2024-01-01 00:00 .. 2024-01-08 23:00
    ranges = split_ranges(seconds, "blocked", block_days=1, pattern="train,train,val,test", stamped=stamped)
    firsts = sorted(first for parts in ranges.values() for first, _ in parts)
    # every split's range but the record's first opens at the day's first reading: 00:00 or 01:00
    assert {int(seconds[f] % 86_400) // HOUR for f in firsts[1:]} == {first_hour}
    # day 19723 (2024-01-01) is the 4th of its cycle (test), so val's days are January 4th and 8th
    if stamped == "start":  # their 24 hours from 00:00
        assert ranges["val"] == [(72, 95), (168, 191)]
    else:  # their hours from 01:00 to the next 00:00; the record's first reading closes December 31st (val's)
        assert ranges["val"] == [(0, 0), (73, 96), (169, 191)]


@pytest.mark.parametrize("stamped, months", [("start", ["2024-01", "2024-02"]), ("end", ["2024-01"])])
def test_a_split_s_months_count_a_reading_at_midnight_on_the_1st_as_stamped(stamped, months):
    seconds = hourly(31)  # January ...
    seconds = np.r_[seconds, seconds[-1] + HOUR]  # ... and 2024-02-01 00:00: February's first hour, or January's last
    ranges = split_ranges(seconds, "contiguous", stamped=stamped)
    anchors = {name: window_rows(seconds, parts, 24, 24, 60) for name, parts in ranges.items()}
    facts = split_facts(seconds, ranges, anchors, lookback=24, delay=24, max_gap_minutes=60, stamped=stamped)
    assert facts["test"]["months"] == months_of(seconds[ranges["test"][0][0]:], stamped) == months


def test_a_target_at_midnight_on_march_1st_is_spring_stamped_at_the_start_and_winter_at_the_end():
    march_1 = np.array([1_709_251_200])  # 2024-03-01 00:00:00 UTC
    assert season_of(march_1, "start").tolist() == ["MAM"] and season_of(march_1, "end").tolist() == ["DJF"]


def test_the_jena_spec_s_stamp_keeps_the_classic_file_s_first_day_whole():
    first_day = 1_230_768_000 + 600 * np.arange(1, 145)  # 2009-01-01 00:10:00 .. 2009-01-02 00:00:00
    assert set(day_of(first_day, builtin_spec("jena").record.stamped).tolist()) == {14245}  # 2009-01-01
    assert Path(builtin_spec("jena").path).name == "jena.toml"
