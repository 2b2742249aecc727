"""Settings: every profile resolves for every model, in the documented order of precedence."""

from __future__ import annotations

import re

import pytest


from tasks.core.config import (
    FAMILIES,
    MODELS,
    PROFILES,
    PUBLISHED,
    family,
    family_of,
    settings_from_json,
)
from tasks.core.profiles import (
    check_run,
    parse_overrides,
    resolve_settings,
)
from tasks.core.errors import SettingsError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("profile", list(PROFILES))
@pytest.mark.parametrize("model", MODELS)
def test_every_profile_resolves_for_every_model(model: str, profile: str) -> None:
    s = resolve_settings(model, profile)  # runs check_settings

    assert s.model == model
    for key, value in PROFILES[profile][family_of(model).kind].items():
        assert getattr(s, key) == value, key  # the profile wins over the published settings
    for key, value in PUBLISHED[model].items():
        if key not in PROFILES[profile][family_of(model).kind]:
            assert getattr(s, key) == value, key


def test_seed_is_the_published_settings() -> None:
    s = resolve_settings("jena_conv_gru", "seed")
    assert (s.epochs, s.steps_per_epoch, s.batch_size, s.step, s.learning_rate) == (20, 500, 128, 3, 1e-3)
    assert resolve_settings("imdb_conv", "seed").learning_rate == 1e-4


def test_overrides_win_and_are_typed() -> None:
    s = resolve_settings("imdb_conv", "quick", {"epochs": "7", "dropout": "0.25", "deterministic": "no"})
    assert (s.epochs, s.dropout, s.deterministic) == (7, 0.25, False)


@pytest.mark.parametrize(
    ("model", "profile", "overrides", "message"),
    [
        ("gpt", "seed", {}, "unknown model 'gpt'"),
        ("imdb_conv", "huge", {}, "unknown profile 'huge'"),
        ("imdb_conv", "seed", {"epoch": "3"}, "unknown setting 'epoch'"),
        ("imdb_conv", "seed", {"epochs": "three"}, "epochs='three': expected a value of type int"),
        ("imdb_conv", "seed", {"dropout": "1.0"}, "dropout=1.0: must be in"),
        ("jena_conv", "seed", {"lookback": "100"}, "lookback=100 must be a multiple of step=6"),
        ("jena_conv", "seed", {"learning_rate": "inf"}, "learning_rate=inf: must be a finite positive number"),
        ("jena_conv", "seed", {"learning_rate": "nan"}, "learning_rate=nan: must be a finite positive number"),
        ("imdb_conv", "seed", {"blessing_margin": "nan"}, "blessing_margin=nan: must be a finite number >= 0"),
        ("imdb_conv", "seed", {"dropout": "nan"}, "dropout=nan: must be in"),
        ("imdb_conv", "seed", {"profile": "seed"}, "unknown setting 'profile'"),
        ("jena_conv", "seed", {"split": "random"}, "split='random': must be one of contiguous, blocked"),
        ("jena_conv", "seed", {"split": "blocked", "block_days": "11"},
         "block_days=11: a block must be longer than a window (lookback + delay = 1584 rows, 11 days); "
         "need block_days >= 12"),
        ("jena_conv", "smoke", {"split": "blocked", "block_days": "2"}, "need block_days >= 4"),  # 288 + 144 rows
        ("jena_conv", "seed", {"split": "blocked", "block_pattern": "train,val"},
         "block_pattern='train,val': must be comma-separated names from train, val, test, each at least once"),
        ("jena_conv", "seed", {"split": "blocked", "block_pattern": "train,val,tset"}, "block_pattern="),
        ("jena_conv_gru", "seed", {"gru_dropout": "1"}, "gru_dropout=1.0: must be in [0, 1)"),
        ("imdb_conv", "seed", {"weight_averaging": "1"}, "weight_averaging=1.0: must be in [0, 1)"),
        ("jena_conv_gru", "seed", {"input_noise": "-0.1"}, "input_noise=-0.1: must be a finite number >= 0"),
        ("imdb_conv", "seed", {"weight_decay": "inf"}, "weight_decay=inf: must be a finite number >= 0"),
        ("imdb_conv", "seed", {"optimizer": "sgd"}, "optimizer='sgd': must be one of rmsprop, adam"),
        ("imdb_conv", "seed", {"lr_schedule": "step"}, "lr_schedule='step': must be one of constant, cosine"),
        ("imdb_conv", "seed", {"output_layer": "tanh"}, "output_layer='tanh': must be one of sigmoid, published"),
    ],
)
def test_bad_settings_say_what_is_allowed(model, profile, overrides, message) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        resolve_settings(model, profile, overrides)


def test_the_profile_is_part_of_the_settings_and_survives_settings_json() -> None:
    s = resolve_settings("jena_conv", "tuned", {"epochs": "3"})
    assert s.profile == "tuned"
    assert settings_from_json(s.as_record()) == s
    with pytest.raises(SettingsError, match="unknown setting"):
        settings_from_json({**s.as_record(), "colour": "blue"})


def test_one_table_says_what_differs_per_family() -> None:
    assert {family_of(m).name for m in MODELS} == set(FAMILIES)
    imdb, jena = FAMILIES["imdb"], FAMILIES["jena"]
    assert (imdb.metric, imdb.higher_is_better, imdb.monitor, imdb.mode) == ("accuracy", True, "val_accuracy", "max")
    assert (jena.metric, jena.higher_is_better, jena.monitor, jena.mode) == ("mae", False, "val_loss", "min")
    assert resolve_settings("jena_conv_gru", "seed").spec is jena
    with pytest.raises(SettingsError, match="unknown model 'gpt'"):
        family("gpt")


def test_overrides_parse_and_a_train_all_run_is_checked_whole() -> None:
    assert parse_overrides(["epochs=3", " lr = 1e-3 "]) == {"epochs": "3", "lr": "1e-3"}
    with pytest.raises(SettingsError, match="expected key=value"):
        parse_overrides(["epochs"])
    assert [s.model for s in check_run("smoke", ["imdb_conv", "jena_conv"])] == ["imdb_conv", "jena_conv"]
    with pytest.raises(SettingsError, match="train_on='cloud'"):
        check_run("smoke", ["imdb_conv"], train_on="cloud")
    with pytest.raises(SettingsError, match="retrain='weekly'; allowed: on_change, always, on_drift"):
        check_run("smoke", ["imdb_conv"], retrain="weekly")
    assert len(check_run("smoke", ["imdb_conv"], retrain="on_drift")) == 1
    with pytest.raises(SettingsError, match="epochs=0"):
        check_run("smoke", ["imdb_conv", "jena_conv"], {"epochs": "0"})


def test_the_split_defaults_to_auto_and_blocked_resolves() -> None:
    s = resolve_settings("jena_conv_gru", "seed")
    assert (s.split, s.block_days, s.block_pattern) == ("auto", 28, "train,train,val,test")  # tests/unit/test_split.py
    blocked = resolve_settings("jena_conv_gru", "tuned", {"split": "blocked", "block_days": "12"})
    assert (blocked.split, blocked.block_days) == ("blocked", 12)
    assert settings_from_json(blocked.as_record()) == blocked
    # a settings.json from before the blocked split has none of its keys: the book's split
    old = {k: v for k, v in s.as_record().items() if k not in ("split", "block_days", "block_pattern")}
    assert settings_from_json(old).split == "contiguous"
    # contiguous ignores the block settings, so they are not checked there
    assert resolve_settings("jena_conv", "seed", {"block_days": "3"}).block_days == 3
