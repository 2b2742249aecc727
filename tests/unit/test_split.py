"""The default Jena split, `auto`: blocked on a record shorter than two full years, contiguous on a longer one,
chosen from the timestamps alone when the data is read; a named split always obeyed; a run records the split it
used and why, and is judged again on that split, never on one chosen anew."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from tasks.core import cache, runs
from tasks.core.config import TrainSettings, settings_from_json
from tasks.core.errors import SettingsError
from tasks.core.profiles import resolve_settings
from tasks.model.kinds import settings_for_data
from tasks.model.series import prepare_jena, resolve_split
from tasks.model.splits import choose_split, record_days
from tasks.model.train import train_model
from tests.support.published import publish_jena

pytestmark = pytest.mark.unit

TEN_MINUTES = 600  # seconds
START = 1_704_067_800  # 2024-01-01 00:10:00 UTC, the first reading of the 2024 station files
DAY_ROWS = 144
TINY = {"lookback": "132", "step": "6", "delay": "12", "epochs": "1", "steps_per_epoch": "1", "batch_size": "16",
        "validation_steps": "1"}


def record(days: float) -> np.ndarray:
    """Timestamps of a gap-free record of `days` days from 2024-01-01."""
    return START + TEN_MINUTES * np.arange(int(round(days * DAY_ROWS)), dtype=np.int64)


def test_a_ten_month_record_is_split_blocked_and_says_why():
    assert record_days(record(304)) == pytest.approx(304)
    assert choose_split("auto", record(304)) == ("blocked", "auto: the record spans 10.0 months (< 2 years), so blocked")


def test_a_three_year_record_is_split_the_books_way():
    assert choose_split("auto", record(3 * 365)) == ("contiguous",
                                                     "auto: the record spans 3.0 years (>= 2 years), so contiguous")


def test_two_full_years_are_the_boundary():
    assert choose_split("auto", record(730))[0] == "contiguous"
    assert choose_split("auto", record(730 - 1 / DAY_ROWS))[0] == "blocked"


def test_a_record_shorter_than_one_cycle_of_blocks_stays_contiguous():
    split, reason = choose_split("auto", record(100))  # 4 blocks of 28 days: 112
    assert (split, reason) == ("contiguous", "auto: the record spans 3.3 months, less than one cycle of 28-day "
                                             "blocks (112 days), so contiguous")
    assert choose_split("auto", record(100), block_days=21)[0] == "blocked"  # 84 days a cycle


def test_a_named_split_is_obeyed_whatever_the_record():
    assert choose_split("contiguous", record(304)) == ("contiguous", "named in the settings")
    assert choose_split("blocked", record(3 * 365)) == ("blocked", "named in the settings")
    with pytest.raises(SettingsError, match="split 'random'"):
        choose_split("random", record(304))


def test_auto_is_the_default_and_a_named_split_is_kept_by_profiles_and_overrides():
    assert resolve_settings("jena_conv_gru", "seed").split == "auto"
    assert resolve_settings("jena_conv_gru", "seed", {"split": "contiguous"}).split == "contiguous"
    assert resolve_settings("jena_conv_gru", "jena_conv_gru-blocked").split == "blocked"  # profiles/*.json
    with pytest.raises(SettingsError, match="unknown setting 'split_reason'"):
        resolve_settings("jena_conv", "seed", {"split_reason": "because"})
    # auto checks the pattern at once, the block length only if the record makes it blocked
    with pytest.raises(SettingsError, match="block_pattern='train,val'"):
        resolve_settings("jena_conv", "seed", {"block_pattern": "train,val"})
    assert resolve_settings("jena_conv", "seed", {"block_days": "3"}).block_days == 3


def test_the_settings_record_the_resolved_split_and_keep_it(tmp_path):
    s = resolve_settings("jena_conv", "seed")
    short = resolve_split(s, record(304))
    assert (short.split, short.split_reason) == ("blocked", "auto: the record spans 10.0 months (< 2 years), so blocked")
    assert resolve_split(s, record(3 * 365)).split == "contiguous"
    assert resolve_split(short, record(3 * 365)) == short  # a run's settings are never resolved again
    named = resolve_split(dataclasses.replace(s, split="contiguous"), record(304))
    assert (named.split, named.split_reason) == ("contiguous", "named in the settings")
    assert settings_from_json(short.as_record()) == short
    imdb = resolve_settings("imdb_conv", "seed")
    assert settings_for_data(tmp_path, imdb) == imdb  # text settings have no split to resolve
    with pytest.raises(SettingsError, match="split auto chose blocked: auto: the record spans 10.0 months"):
        resolve_split(dataclasses.replace(s, block_days=3), record(304))  # a block shorter than a window


def test_the_cache_key_of_a_trained_model_follows_the_split_and_the_data():
    s = resolve_settings("jena_conv", "seed")

    def key(settings, data_sha256="a" * 64):
        return cache.training_key(settings, data_sha256, "artifacts")

    named = {split: key(dataclasses.replace(s, split=split)) for split in ("auto", "contiguous", "blocked")}
    assert len(set(named.values())) == 3
    # auto resolves from the data alone, so the data's sha256 decides the rest: other data, another key
    assert key(s) == key(s) != key(s, "b" * 64)


def test_a_run_records_its_split_and_is_judged_again_on_it(tmp_path):
    publish_jena(tmp_path / "data", rows=120 * DAY_ROWS)  # 4 months from 2024-01-01: blocked
    settings = resolve_settings("jena_conv", "smoke", TINY)
    run_dir = tmp_path / "runs" / "r1" / "jena_conv"
    train_model(settings, tmp_path / "data", run_dir, "r1")

    reason = "auto: the record spans 3.9 months (< 2 years), so blocked"
    trained = runs.read_settings(run_dir)
    assert (trained.split, trained.split_reason) == ("blocked", reason)
    assert trained == settings_for_data(tmp_path / "data" / "processed" / "jena", settings)
    stats = json.loads((run_dir / runs.NORMALIZATION).read_text())
    assert (stats["split"], stats["split_reason"]) == ("blocked", reason)
    training = json.loads((run_dir / runs.TRAINING).read_text())
    assert training["settings"]["split"] == "blocked"

    # Judged again on a record of more than two years: still the run's blocked split, never chosen anew
    publish_jena(tmp_path / "long", rows=int(2.1 * 365 * DAY_ROWS))
    data = prepare_jena(tmp_path / "long" / "processed" / "jena", trained)
    assert (data.split, data.split_reason) == ("blocked", reason)
    assert prepare_jena(tmp_path / "long" / "processed" / "jena", settings).split == "contiguous"


def test_a_settings_json_from_before_the_split_setting_is_contiguous():
    old = {k: v for k, v in TrainSettings(model="jena_conv").as_record().items() if k not in ("split", "split_reason")}
    assert settings_from_json(old).split == "contiguous"


def test_the_report_says_why_auto_chose_the_split():
    from tasks.publish.report import split_table

    facts = {name: {"rows": 4032, "windows": 3000, "purged_windows": 100, "months": ["2024-01"]}
             for name in ("train", "val", "test")}
    reason = "auto: the record spans 10.0 months (< 2 years), so blocked"
    settings = {"split": "blocked", "block_days": 28, "block_pattern": "train,train,val,test"}
    how = split_table({"splits": facts, "settings": {**settings, "split_reason": reason}})[0]
    assert how.startswith("Split `blocked`: 28-day blocks") and how.endswith(f" Split {reason}.")
    named = split_table({"splits": facts, "settings": {**settings, "split_reason": "named in the settings"}})[0]
    assert "named" not in named


def test_the_split_is_chosen_from_the_timestamps_read_alone(tmp_path):
    from tasks.ingest import read_jena, read_jena_seconds
    from tasks.model.kinds import settings_for_data
    from tests.support.published import publish_jena

    folder = publish_jena(tmp_path, rows=1500)
    seconds, _ = read_jena(folder / "jena.parquet")
    assert np.array_equal(read_jena_seconds(folder / "jena.parquet"), seconds) and seconds.dtype == np.int64
    resolved = settings_for_data(folder, resolve_settings("jena_conv", "smoke"))
    assert resolved.split == "contiguous" and resolved.split_reason.startswith("auto: the record spans")
