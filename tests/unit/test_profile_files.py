"""Profile files: `--profile NAME` names profiles/NAME.json or a .json path, resolved on top of a built-in base."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tasks.core import config
from tasks.core.cache import training_key
from tasks.core.config import PROFILES
from tasks.core.profiles import resolve_settings
from tasks.core.errors import SettingsError

pytestmark = pytest.mark.unit


def write_profile(path: Path, document) -> Path:
    path.write_text(json.dumps(document))
    return path


def test_the_files_values_go_between_the_base_and_the_overrides(tmp_path):
    path = write_profile(tmp_path / "mine.json", {
        "base": "quick", "description": "test",
        "models": {"jena_conv_gru": {"learning_rate": 0.0003, "batch_size": "32", "epochs": 4}},
        "created_by": {"by": "hand"}})

    s = resolve_settings("jena_conv_gru", str(path), {"epochs": "5"})

    assert s.learning_rate == 3e-4 and s.batch_size == 32  # the file, over quick and PUBLISHED
    assert s.epochs == 5  # --set wins over the file
    assert s.steps_per_epoch == PROFILES["quick"]["series"]["steps_per_epoch"]  # the base, where the file is silent
    assert s.step == 3  # PUBLISHED["jena_conv_gru"], where the base is silent too
    assert s.profile == str(path)  # recorded as given
    other = resolve_settings("jena_conv", str(path))  # a model the file does not name: the base alone
    assert dataclasses.replace(other, profile="quick") == resolve_settings("jena_conv", "quick")


def test_a_name_finds_profiles_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "PROFILES_DIR", tmp_path)
    write_profile(tmp_path / "lr3.json", {"base": "smoke", "models": {"imdb_conv": {"dropout": 0.5}}})

    s = resolve_settings("imdb_conv", "lr3")

    assert (s.dropout, s.profile, s.epochs) == (0.5, "lr3", PROFILES["smoke"]["text"]["epochs"])
    with pytest.raises(SettingsError, match="unknown profile 'lr4'; allowed: seed, quick, tuned, smoke"):
        resolve_settings("imdb_conv", "lr4")


@pytest.mark.parametrize(("document", "message"), [
    ({"base": "quick", "models": {"imdb_conv": {"epoch": 3}}}, r"field models\.imdb_conv: unknown setting 'epoch'"),
    ({"base": "quick", "models": {"imdb_conv": {"epochs": 2.5}}},
     r"field models\.imdb_conv: setting epochs='2.5': expected a value of type int"),
    ({"base": "quick", "models": {"imdb_conv": {"dropout": [0.5]}}}, r"models\.imdb_conv: setting dropout=\[0.5\]"),
    ({"base": "quick", "models": {"gpt": {}}}, r"field models\.gpt: unknown model"),
    ({"base": "huge", "models": {}}, r"field base='huge'; expected one of seed"),
    ({"models": {}}, r"field base=None"),
    ({"base": "quick", "modles": {}}, r"unknown field\(s\) modles"),
    ({"base": "quick", "models": []}, r"field models holds a list"),
    ([1, 2], r"holds a list; expected a JSON object"),
])
def test_a_bad_file_names_the_file_and_the_field(tmp_path, document, message):
    path = write_profile(tmp_path / "bad.json", document)
    with pytest.raises(SettingsError, match=message) as error:
        resolve_settings("imdb_conv", str(path))
    assert str(path) in str(error.value)


def test_a_missing_or_unreadable_file_is_a_settings_error(tmp_path):
    with pytest.raises(SettingsError, match=r"profile file .*nowhere\.json does not exist"):
        resolve_settings("imdb_conv", str(tmp_path / "nowhere.json"))
    (tmp_path / "p.json").write_text("{'base': 'quick'}")  # Python, not JSON
    with pytest.raises(SettingsError, match=r"p\.json cannot be read as JSON"):
        resolve_settings("imdb_conv", str(tmp_path / "p.json"))
    (tmp_path / "q.json").write_bytes(b"\xff\xfe{}")
    with pytest.raises(SettingsError, match=r"q\.json cannot be read as JSON"):
        resolve_settings("imdb_conv", str(tmp_path / "q.json"))


def test_the_training_cache_key_follows_the_files_values(tmp_path):
    path = tmp_path / "mine.json"

    def key(learning_rate) -> str:
        write_profile(path, {"base": "smoke", "models": {"imdb_conv": {"learning_rate": learning_rate}}})
        return training_key(resolve_settings("imdb_conv", str(path)), "0" * 64, str(tmp_path))

    assert key(0.001) == key(0.001)
    assert key(0.001) != key(0.0003)
