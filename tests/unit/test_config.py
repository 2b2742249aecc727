"""Settings: every profile resolves for every model, in the documented order of precedence."""

from __future__ import annotations

import pytest

from tasks.config import MODELS, PROFILES, PUBLISHED, family, resolve_settings
from tasks.errors import SettingsError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("profile", list(PROFILES))
@pytest.mark.parametrize("model", MODELS)
def test_every_profile_resolves_for_every_model(model: str, profile: str) -> None:
    s = resolve_settings(model, profile)  # runs check_settings

    assert s.model == model
    for key, value in PROFILES[profile][family(model)].items():
        assert getattr(s, key) == value, key  # the profile wins over the published settings
    for key, value in PUBLISHED[model].items():
        if key not in PROFILES[profile][family(model)]:
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
    ],
)
def test_bad_settings_say_what_is_allowed(model, profile, overrides, message) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        resolve_settings(model, profile, overrides)
