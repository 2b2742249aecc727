"""Architectures as registrations (tasks.core.architectures): each model reads the shared settings, its kind's and
its own, nothing else; a setting it does not read is refused, and a run records exactly what it read."""

from __future__ import annotations

import dataclasses
import importlib
import json

import pytest

from tasks.core.architectures import ARCHITECTURES
from tasks.core.config import (
    FAMILIES,
    MODELS,
    PROFILES,
    PUBLISHED,
    TrainSettings,
    settings_from_json,
    settings_names,
)
from tasks.core.errors import SettingsError
from tasks.core.kinds import KINDS
from tasks.core.profiles import read_profile_file, resolve_settings

pytestmark = pytest.mark.unit


def test_a_setting_of_another_architecture_is_refused_naming_what_the_model_reads():
    with pytest.raises(SettingsError) as caught:
        resolve_settings("jena_conv", "smoke", {"kernel_size": "5", "filters": "3"})
    message = str(caught.value)
    assert "setting 'kernel_size' is not read by jena_conv; it reads: " in message
    reads = message.split("it reads: ")[1].split(", ")
    assert {"epochs", "lookback", "split", "input_noise", "dropout"} <= set(reads)
    assert not {"kernel_size", "filters", "num_words", "model", "profile", "split_reason"} & set(reads)
    # the same setting is read by the architecture that has it
    assert resolve_settings("jena_tcn", "smoke", {"kernel_size": "5"}).kernel_size == 5


def test_a_kind_setting_is_refused_for_the_other_kind():
    with pytest.raises(SettingsError, match="setting 'lookback' is not read by imdb_conv"):
        resolve_settings("imdb_conv", "smoke", {"lookback": "288"})
    with pytest.raises(SettingsError, match="setting 'maxlen' is not read by jena_conv_gru"):
        resolve_settings("jena_conv_gru", "seed", {"maxlen": "100"})


@pytest.mark.parametrize("model", MODELS)
def test_a_run_records_exactly_the_settings_it_reads(model):
    s = resolve_settings(model, "smoke")
    record = s.as_record()
    assert list(record) == list(settings_names(model))
    registration = ARCHITECTURES[model]
    own = {f.name for f in dataclasses.fields(registration.settings)}
    others = {f.name for a in ARCHITECTURES.values() for f in dataclasses.fields(a.settings)} - own
    assert not others & set(record)
    assert settings_from_json(json.loads(json.dumps(record))) == s  # what settings.json holds reads back the same


def test_reading_a_setting_the_model_does_not_have_is_an_error_not_a_default():
    s = resolve_settings("jena_conv", "smoke")
    assert s.input_noise == 0.0 and s.lookback == 288
    with pytest.raises(AttributeError, match="jena_conv does not read the setting 'kernel_size'"):
        s.kernel_size  # noqa: B018


def test_a_record_written_before_each_model_had_its_own_settings_still_reads():
    s = resolve_settings("jena_conv", "quick")
    legacy = {**s.as_record(), "filters": 3, "kernel_size": 5, "num_words": 10_000, "maxlen": 500,
              "recurrent_dropout": 0.5}  # every model's every field, as settings.json held them
    assert settings_from_json(legacy) == s
    with pytest.raises(SettingsError, match="unknown setting"):
        settings_from_json({**legacy, "colour": "blue"})


def test_a_profile_file_setting_what_a_model_does_not_read_is_refused(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"base": "quick", "models": {"jena_conv": {"kernel_size": 5}}}))
    with pytest.raises(SettingsError, match=r"mine\.json: field models\.jena_conv: setting 'kernel_size' is not "
                                            r"read by jena_conv"):
        read_profile_file(path)


def test_every_built_in_profile_sets_only_what_every_model_of_its_kind_reads():
    for profile, by_kind in PROFILES.items():
        for model in MODELS:
            values = by_kind[ARCHITECTURES[model].kind]
            assert set(values) <= set(settings_names(model)), (profile, model)
            resolve_settings(model, profile)  # and they check


@pytest.mark.parametrize("model", MODELS)
def test_every_registration_is_whole(model):
    registration = ARCHITECTURES[model]
    assert FAMILIES[registration.dataset].kind == registration.kind and registration.kind in KINDS
    assert set(PUBLISHED[model]) <= set(settings_names(model))
    kind_fields = {f.name for f in dataclasses.fields(KINDS[registration.kind])}
    assert set(registration.reads) <= kind_fields
    builder = importlib.import_module(f"tasks.{registration.builder}")
    assert callable(builder.build)


def test_settings_of_one_model_cannot_be_built_with_another_models_parts():
    gru = TrainSettings(model="jena_conv_gru")
    with pytest.raises(SettingsError, match="settings of another model"):
        dataclasses.replace(gru, model="imdb_conv")
    assert dataclasses.replace(gru, model="jena_conv_gru_fast").arch == gru.arch  # same settings class: allowed


def test_train_all_gives_each_model_the_values_it_reads_and_refuses_one_none_reads():
    from tasks.core.profiles import check_run, overrides_for

    overrides = {"epochs": "4", "steps_per_epoch": "40", "kernel_size": "5"}
    imdb, jena, tcn = check_run("smoke", ["imdb_conv", "jena_conv", "jena_tcn"], overrides)
    assert (imdb.epochs, jena.epochs, tcn.epochs) == (4, 4, 4)
    assert (jena.steps_per_epoch, tcn.steps_per_epoch, tcn.kernel_size) == (40, 40, 5)
    assert "steps_per_epoch" not in imdb.as_record() and "kernel_size" not in jena.as_record()  # never recorded
    assert overrides_for("imdb_conv", overrides) == {"epochs": "4"}
    with pytest.raises(SettingsError, match="setting\\(s\\) kernel_size read by none of imdb_conv, jena_conv"):
        check_run("smoke", ["imdb_conv", "jena_conv"], overrides)
    with pytest.raises(SettingsError, match="unknown setting 'colour'"):
        check_run("smoke", ["imdb_conv", "jena_conv"], {"colour": "blue"})
