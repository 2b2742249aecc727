"""Tuning's plain functions: grids, trial checks before any training, the winner on validation only, the profile."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tasks.core import config, runs
from tasks.core.profiles import resolve_settings
from tasks.core.errors import SettingsError
from tasks.publish.stage_plots import plot_tune
from tasks.tune.summary import choose_winner, tune_markdown, winner_profile
from tasks.tune.trials import (
    expand_grid,
    parse_grid,
    parse_seeds,
    plan_tune,
    trial_jobs,
    trial_overrides,
)

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def test_a_grid_expands_to_every_combination_last_key_fastest():
    trials = expand_grid({"learning_rate": [1e-3, 3e-4], "dropout": [0, 0.5]})
    assert trials == [{"learning_rate": "0.001", "dropout": "0"}, {"learning_rate": "0.001", "dropout": "0.5"},
                      {"learning_rate": "0.0003", "dropout": "0"}, {"learning_rate": "0.0003", "dropout": "0.5"}]
    assert expand_grid(parse_grid(["batch_size=32,128", "deterministic=true"])) == [
        {"batch_size": "32", "deterministic": "true"}, {"batch_size": "128", "deterministic": "true"}]
    assert expand_grid({"early_stopping_patience": 2, "mixed_precision": [False]}) == [
        {"early_stopping_patience": "2", "mixed_precision": "false"}]


@pytest.mark.parametrize(("grid", "trials", "message"), [
    ({}, None, "at least one setting"),
    ({"dropout": []}, None, "grid dropout: no values"),
    ({"dropout": [0.5, "0.5"]}, None, "grid dropout: value.*0.5 given more than once"),
    ({"dropout": [[0.5]]}, None, r"setting dropout=\[0.5\]: expected a string, number or boolean"),
    (None, None, "not neither"),
    ({"dropout": [0]}, [{}], "not both"),
    (None, [], "at least one"),
    (None, [1], "trial 1: 1 is a int"),
    ({"epochs": list(range(1, 100))}, None, "99 trials; a tune runs at most"),
])
def test_bad_grids_and_lists_say_what_is_wrong(grid, trials, message):
    with pytest.raises(SettingsError, match=message):
        trial_overrides(grid, trials)


def test_every_trial_is_resolved_before_any_training():
    assert plan_tune("imdb_conv", "smoke", {"dropout": [0, 0.5]}, None) == [{"dropout": "0"}, {"dropout": "0.5"}]
    with pytest.raises(SettingsError, match=r"trial 2 \(dropout=1.5\): bad settings for imdb_conv: dropout=1.5"):
        plan_tune("imdb_conv", "smoke", {"dropout": [0, 1.5]}, None)
    with pytest.raises(SettingsError, match=r"trial 1 \(epoch=3\): unknown setting 'epoch'"):
        plan_tune("imdb_conv", "smoke", None, [{"epoch": 3}])
    with pytest.raises(SettingsError, match=r"trials 1 and 2 resolve to the same settings"):
        plan_tune("imdb_conv", "smoke", None, [{"dropout": 0.5}, {"dropout": "0.50"}])
    with pytest.raises(SettingsError, match="train_on='gpu'"):
        plan_tune("imdb_conv", "smoke", {"dropout": [0]}, None, train_on="gpu")
    with pytest.raises(SettingsError, match="'tuned' is a built-in profile"):
        plan_tune("imdb_conv", "smoke", {"dropout": [0]}, None, write_profile="tuned")
    with pytest.raises(SettingsError, match="expected a name of letters"):
        plan_tune("imdb_conv", "smoke", {"dropout": [0]}, None, write_profile="../evil")


def test_seeds_run_every_trial_once_each_and_are_checked_up_front():
    assert parse_seeds("1337, 7,42") == [1337, 7, 42] and parse_seeds([0, 5]) == [0, 5]
    for bad, message in (("1337,,7", "'' is not a whole number"), ("7,-1", "'-1' is not"), ([1.5], "1.5 is not"),
                         ([True], "True is not"), ("7,7", "7 given more than once"), ([], "at least one seed")):
        with pytest.raises(SettingsError, match=message):
            parse_seeds(bad)
    trials = plan_tune("imdb_conv", "smoke", {"dropout": [0, 0.5]}, None, seeds=[1, 2])
    assert trial_jobs("T", trials, [1, 2]) == [
        ("T-t01-s1", {"dropout": "0", "seed": "1"}), ("T-t01-s2", {"dropout": "0", "seed": "2"}),
        ("T-t02-s1", {"dropout": "0.5", "seed": "1"}), ("T-t02-s2", {"dropout": "0.5", "seed": "2"})]
    assert trial_jobs("T", trials) == [("T-t01", {"dropout": "0"}), ("T-t02", {"dropout": "0.5"})]
    with pytest.raises(SettingsError, match="the trials set `seed` and seeds are given too"):
        plan_tune("imdb_conv", "smoke", {"seed": [1, 2]}, None, seeds=[3])
    with pytest.raises(SettingsError, match="9 trials x 8 seeds = 72 runs"):
        plan_tune("imdb_conv", "smoke", {"epochs": list(range(1, 10))}, None, seeds=list(range(8)))


def test_a_profile_file_of_another_base_is_refused_up_front(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps({"base": "seed", "models": {}}))
    with pytest.raises(SettingsError, match="the file's base is 'seed', this tune's 'smoke'"):
        plan_tune("imdb_conv", "smoke", {"dropout": [0]}, None, write_profile=str(tmp_path / "p.json"))


def row(trial, val, seconds, test=0.5, settings=None):
    return {"trial": trial, "val": val, "test": test, "seconds": seconds, "settings": settings or {},
            "val_celsius": None, "test_celsius": None, "epochs_run": 2, "best_epoch": 1, "run_id": f"t{trial}",
            "run_dir": f"/runs/t{trial}"}


def test_the_winner_is_chosen_on_validation_then_seconds_then_order():
    assert choose_winner([row(1, 0.80, 5, test=0.99), row(2, 0.85, 9, test=0.10)], True) == 1  # test ignored
    assert choose_winner([row(1, 0.30, 5), row(2, 0.25, 9)], False) == 1  # MAE: lower wins
    assert choose_winner([row(1, 0.85, 9), row(2, 0.85, 5), row(3, 0.85, 5)], True) == 1  # tie: fewer seconds
    assert choose_winner([row(1, math.nan, 1), row(2, 0.9, 5)], False) == 1  # a diverged trial never wins


def test_jena_trials_are_chosen_in_degrees_since_a_split_change_changes_the_normalization():
    # trial 1 has the smaller normalized MAE, but its training rows had the smaller std: in °C it is worse
    first, second = row(1, 0.30, 5), row(2, 0.32, 5)
    first.update(val_compared=2.9, val_celsius=2.9)
    second.update(val_compared=2.7, val_celsius=2.7)
    assert choose_winner([first, second], False) == 1


def summary(base="smoke", model="imdb_conv"):
    return {"tune_id": "T", "model": model, "base_profile": base, "metric": "accuracy",
            "metric_label": "val accuracy", "higher_is_better": True, "keys": ["dropout"],
            "trials": [row(1, 0.8, 5, settings={"dropout": 0.0}), row(2, 0.9, 5, settings={"dropout": 0.5})],
            "winner": 2, "flow_run": None, "created": "now", "git_commit": "abc"}


def test_the_table_marks_the_winner_and_the_profile_resolves_to_its_settings(tmp_path, monkeypatch):
    markdown = tune_markdown(summary(), "![trials](tune.png)")
    assert "**Winner: trial 2** (dropout=0.5)" in markdown
    assert "| **2 (winner)** | 0.5 | 0.9 |" in markdown and "| 1 | 0 | 0.8 |" in markdown

    profile = winner_profile(summary())
    assert profile["base"] == "smoke" and profile["models"] == {"imdb_conv": {"dropout": 0.5}}
    assert profile["created_by"]["imdb_conv"]["tune_id"] == "T"
    monkeypatch.setattr(config, "PROFILES_DIR", tmp_path)
    (tmp_path / "won.json").write_text(json.dumps(profile))
    assert resolve_settings("imdb_conv", "won").dropout == 0.5

    # tuned again for another model, on top of the file: both models kept, the file's values under the trial's
    (tmp_path / "won.json").write_text(json.dumps(winner_profile(summary(base="won"), profile)))
    assert resolve_settings("imdb_conv", "won").dropout == 0.5


def test_the_tune_plot_draws_and_checks_its_inputs(tmp_path):
    out = plot_tune(["a=1", "a=2"], [0.8, 0.9], [0.7, math.nan], tmp_path / "tune.png", winner=1, title="t",
                    metric_label="Accuracy")
    assert out.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="expected the same number"):
        plot_tune(["a"], [0.8, 0.9], [0.7, 0.6], tmp_path / "x.png", winner=0, title="t", metric_label="m")


def test_the_tune_plot_shows_degrees_for_jena_and_the_range_over_seeds(tmp_path):
    from tasks.tune.summary import tune_plot_inputs

    first, second = row(1, 0.30, 5), row(2, 0.32, 5)
    first.update(val_celsius=2.9, test_celsius=3.1, ranges={"val_celsius": [2.8, 3.0], "test_celsius": [3.0, 3.2]})
    second.update(val_celsius=2.7, test_celsius=3.3, ranges={"val_celsius": [2.6, 2.8], "test_celsius": [3.2, 3.4]})
    inputs = tune_plot_inputs({"model": "jena_conv_gru", "trials": [first, second], "seeds": [1, 2]})
    assert inputs["val"] == [2.9, 2.7] and inputs["metric_label"] == "MAE (°C)"
    assert inputs["val_range"] == [[2.8, 3.0], [2.6, 2.8]] and inputs["test_range"][1] == [3.2, 3.4]
    out = plot_tune(**inputs, out=tmp_path / "tune.png", winner=1, title="t")
    assert out.read_bytes().startswith(b"\x89PNG")
    plain = tune_plot_inputs({"model": "imdb_conv", "trials": [row(1, 0.8, 5)], "seeds": None})
    assert plain["val"] == [0.8] and "val_range" not in plain and plain["metric_label"] == "Accuracy"


def test_tune_folders_sit_beside_the_runs():
    assert runs.tune_dir("artifacts", "T") == Path("artifacts/tunes/T")
    assert runs.trial_run_id("T", 3) == "T-t03"


def test_prefect_yaml_tune_deployments_match_the_flow():
    """Each deployment's entrypoint loads and its parameters validate against the flow's signature, and a tune
    deployment's grid resolves for its model: what `prefect deploy --all` and a run would reject, checked offline."""
    import yaml
    from prefect.flows import load_flow_from_entrypoint

    document = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    tunes = [d for d in document["deployments"] if d["entrypoint"] == "flows/tune.py:tune_flow"]
    names = {d["name"] for d in tunes}  # one per model tuned; beyond-the-book models add theirs
    assert {"imdb_conv", "jena_conv", "jena_conv_gru", "jena_tcn", "imdb_dilated"} <= names <= set(config.MODELS)
    for deployment in document["deployments"]:
        flow = load_flow_from_entrypoint(str(ROOT / deployment["entrypoint"]))
        if "parameters" in deployment:  # train-model/gpu has none: run_deployment gives them all
            flow.validate_parameters(deployment["parameters"])
        assert deployment["work_pool"]["name"] in ("cpu", "gpu")
    for deployment in tunes:
        p = deployment["parameters"]
        assert p["model"] == deployment["name"] and p["train_on"] == "gpu-pool"
        assert len(plan_tune(p["model"], p["base_profile"], p["grid"], None, p["train_on"])) >= 2
