"""The tune flow end to end on fixture data: two smoke trials, the table, the winner on validation, the profile."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.core import config, runs
from tasks.core.profiles import resolve_settings
from tests.support.published import publish_imdb

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_a_tune_picks_the_validation_winner_and_writes_a_profile(prefect_harness, tmp_path, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.tune import tune_flow

    publish_imdb(tmp_path / "data")
    monkeypatch.setattr(config, "PROFILES_DIR", tmp_path / "profiles")  # not the checkout's profiles/
    artifacts = tmp_path / "artifacts"

    tune_json = Path(tune_flow(model="imdb_conv", base_profile="smoke", grid={"dropout": [0, 0.5]},
                               data_dir=str(tmp_path / "data"), artifacts_dir=str(artifacts), write_profile="won"))

    summary = json.loads(tune_json.read_text())
    assert tune_json.parent == runs.tune_dir(artifacts, summary["tune_id"]).resolve()
    assert (tune_json.parent / "tune.md").is_file() and (tune_json.parent / "tune.png").is_file()
    trials = summary["trials"]
    assert [t["settings"] for t in trials] == [{"dropout": 0.0}, {"dropout": 0.5}]
    own = []  # each trial's own run folder, read here, not through tasks.tune.trials
    for n, trial in enumerate(trials, 1):
        run_dir = artifacts / "runs" / runs.trial_run_id(summary["tune_id"], n) / "imdb_conv"
        metrics = json.loads((run_dir / "metrics.json").read_text())
        training = json.loads((run_dir / "training.json").read_text())
        assert json.loads((run_dir / "settings.json").read_text())["dropout"] == trial["settings"]["dropout"]
        assert trial["val"] == metrics["validation"]["accuracy"] and trial["test"] == metrics["test"]["accuracy"]
        assert (trial["epochs_run"], trial["seconds"]) == (training["epochs_run"], training["training_seconds"])
        own.append((-metrics["validation"]["accuracy"], training["training_seconds"], n))
    assert summary["winner"] == min(own)[2] and summary["judged_on"] == "validation"

    profile = json.loads((tmp_path / "profiles" / "won.json").read_text())
    assert profile["base"] == "smoke" and profile["created_by"]["imdb_conv"]["tune_id"] == summary["tune_id"]
    winner_dir = artifacts / "runs" / runs.trial_run_id(summary["tune_id"], summary["winner"]) / "imdb_conv"
    assert dataclasses.replace(resolve_settings("imdb_conv", "won"), profile="smoke") == runs.read_settings(winner_dir)

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["tune-imdb-conv"])))
    assert found and "(winner)" in found[0].data and "data:image/png;base64," in found[0].data


def test_a_bad_grid_value_fails_in_one_line_before_any_training(tmp_path):
    result = subprocess.run([sys.executable, "-m", "flows.tune", "--model", "imdb_conv", "--profile", "smoke",
                             "--grid", "dropout=0,1.5", "--data-dir", str(tmp_path), "--artifacts-dir",
                             str(tmp_path / "artifacts")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: trial 2 (dropout=1.5): bad settings for imdb_conv: dropout=1.5: must be in [0, 1)"]
    assert not (tmp_path / "artifacts").exists()


def test_a_tune_over_seeds_judges_each_trial_on_its_mean(prefect_harness, tmp_path):
    """Every trial once per seed (its own run folder, its own seed); each figure the mean over the seeds, with
    the range; the winner the best mean validation MAE in °C."""
    from flows.tune import tune_flow
    from tests.support.published import publish_jena

    publish_jena(tmp_path / "data")
    artifacts = tmp_path / "artifacts"
    grid = {"dropout": [0, 0.5], "lookback": [132], "step": [6], "delay": [12]}  # 22 timesteps: fits the fixture
    tune_json = Path(tune_flow(model="jena_conv", base_profile="smoke", grid=grid, seeds=[3, 4], data_dir=str(tmp_path / "data"), artifacts_dir=str(artifacts)))

    summary = json.loads(tune_json.read_text())
    assert summary["seeds"] == [3, 4] and len(summary["trials"]) == 2
    means = {}
    for n, trial in enumerate(summary["trials"], 1):
        own = []  # each seed's run folder, read here, not through tasks.tune.trials
        for seed in (3, 4):
            run_dir = artifacts / "runs" / runs.trial_run_id(summary["tune_id"], n, seed) / "jena_conv"
            settings = json.loads((run_dir / "settings.json").read_text())
            assert (settings["seed"], settings["dropout"]) == (seed, trial["settings"]["dropout"])
            own.append(json.loads((run_dir / "metrics.json").read_text())["validation"]["mae_celsius"])
        assert trial["val_celsius"] == pytest.approx(sum(own) / 2)
        assert trial["ranges"]["val_celsius"] == [min(own), max(own)] and len(trial["runs"]) == 2
        means[n] = sum(own) / 2
    assert summary["winner"] == min(means, key=means.get)
    table = (tune_json.parent / "tune.md").read_text()
    assert "the mean over seeds 3, 4" in table and f"[{min(own):.3f}-{max(own):.3f} °C]" in table
