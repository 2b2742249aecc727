"""The evaluate stage on its own: judging a saved model folder on any published data version."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tasks.core import runs
from tasks.core.profiles import resolve_settings
from tasks.core.errors import DataFormatError, SettingsError
from tasks.judge.evaluate import evaluate_model, load_arrays
from tasks.ingest import read_jena
from tasks.publish.figures import plot_evaluation
from tasks.publish.report import report_markdown
from tasks.model.train import train_model
from tasks.model.splits import split_ranges
from tests.support.published import publish_imdb, publish_jena

pytestmark = pytest.mark.unit
TINY_JENA = {"lookback": "132", "step": "6", "delay": "12", "epochs": "2", "steps_per_epoch": "2",
             "batch_size": "16", "validation_steps": "1"}
TINY_IMDB = {"epochs": "1", "max_train_samples": "400", "max_test_samples": "200", "maxlen": "60",
             "batch_size": "32"}


@pytest.fixture(scope="module")
def jena_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("jena")
    publish_jena(base / "data")
    run_dir = base / "artifacts" / "runs" / "r1" / "jena_conv"
    train_model(resolve_settings("jena_conv", "smoke", TINY_JENA), base / "data", run_dir, "r1")
    return base, run_dir


def test_metrics_judge_model_and_baselines_on_the_same_windows(jena_run):
    base, run_dir = jena_run
    metrics = evaluate_model(run_dir, base / "data", run_dir)
    assert json.loads((run_dir / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    for split, name in (("val", "validation"), ("test", "test")):
        windows = metrics[name]["windows"]
        assert windows == metrics["splits"][split]["windows"] > 0
        assert {b[split]["windows"] for b in metrics["baselines"].values()} == {windows}
    arrays = load_arrays(run_dir / "evaluation.npz")
    assert len(arrays["test_predictions"]) == metrics["test"]["windows"]
    mae_c = float(np.mean(np.abs(arrays["test_predictions"] - arrays["test_truth"])))
    assert metrics["test"]["mae_celsius"] == pytest.approx(mae_c, rel=1e-5)
    persistence_c = float(np.mean(np.abs(arrays["test_persistence"] - arrays["test_truth"])))
    assert metrics["baselines"]["persistence"]["test"]["mae_celsius"] == pytest.approx(persistence_c, rel=1e-5)
    blessing = metrics["blessing"]
    strongest = min(b["val"]["mae"] for b in metrics["baselines"].values())
    assert blessing["baseline_value"] == strongest
    assert blessing["blessed"] == (metrics["validation"]["mae"] <= strongest - blessing["margin"])


def test_judged_again_elsewhere_gives_the_same_figures_and_leaves_the_run_alone(jena_run, tmp_path):
    base, run_dir = jena_run
    first = evaluate_model(run_dir, base / "data", run_dir)
    before = (run_dir / "metrics.json").read_bytes()
    again = evaluate_model(run_dir, base / "data", tmp_path / "evaluations" / "e1" / "jena_conv")
    assert (again["validation"], again["test"], again["baselines"]) == (first["validation"], first["test"],
                                                                        first["baselines"])
    assert (run_dir / "metrics.json").read_bytes() == before


def test_other_data_is_normalized_with_the_models_own_statistics(jena_run, tmp_path):
    base, run_dir = jena_run
    publish_jena(tmp_path / "warmer", shift_t=3.0)  # the same weather, 3 °C warmer
    metrics = evaluate_model(run_dir, tmp_path / "warmer", tmp_path / "out")
    stats = json.loads((run_dir / "normalization.json").read_text())
    model_mean_t = stats["mean"][stats["target_col"]]
    truth = load_arrays(tmp_path / "out" / "evaluation.npz")["val_truth"]
    # The mean baseline forecasts the *model's* training mean: refitted statistics would forecast the new mean.
    assert metrics["baselines"]["mean"]["val"]["mae_celsius"] == pytest.approx(
        float(np.mean(np.abs(truth - model_mean_t))), rel=1e-4)
    assert metrics["data"]["sha256"] != metrics["trained_on"]["sha256"]


def test_a_folder_that_is_not_a_finished_run_is_refused(jena_run, tmp_path):
    base, run_dir = jena_run
    broken = tmp_path / "runs" / "r2" / "jena_conv"
    shutil.copytree(run_dir, broken)
    (broken / "normalization.json").unlink()
    with pytest.raises(SettingsError, match="normalization.json missing"):
        evaluate_model(broken, base / "data", tmp_path / "out")
    with pytest.raises(SettingsError, match="does not exist"):
        evaluate_model(tmp_path / "nowhere", base / "data", tmp_path / "out")
    with pytest.raises(SettingsError, match="no jena dataset"):
        evaluate_model(run_dir, tmp_path / "no-data", tmp_path / "out")


def test_the_bag_of_words_baseline_is_trained_once_per_dataset_version(tmp_path):
    publish_imdb(tmp_path / "data")
    artifacts = tmp_path / "artifacts"
    settings = resolve_settings("imdb_conv", "smoke", TINY_IMDB)
    first_run = runs.run_dir(artifacts, "r1", "imdb_conv")
    train_model(settings, tmp_path / "data", first_run, "r1")
    first = evaluate_model(first_run, tmp_path / "data", first_run)
    [cached] = list((artifacts / "baselines").glob("imdb-*/bag_of_words.json"))
    stamp = cached.stat().st_mtime_ns
    second = evaluate_model(first_run, tmp_path / "data", tmp_path / "evaluations" / "e" / "imdb_conv", artifacts)
    assert cached.stat().st_mtime_ns == stamp, "the baseline must be read back, not trained again"
    assert second["baselines"] == first["baselines"]
    assert set(first["baselines"]) == {"majority", "bag_of_words"}
    assert first["validation"]["reviews"] == first["baselines"]["bag_of_words"]["val"]["reviews"]


def test_a_blocked_split_is_trained_judged_plotted_and_reported_on_its_own_blocks(tmp_path):
    publish_jena(tmp_path / "data", rows=2400)  # 16.7 days: 2-day blocks give each split two or three ranges
    settings = resolve_settings("jena_conv", "smoke", {**TINY_JENA, "epochs": "1", "split": "blocked",
                                                       "block_days": "2"})
    run_dir = tmp_path / "runs" / "r1" / "jena_conv"
    train_model(settings, tmp_path / "data", run_dir, "r1")

    stats = json.loads((run_dir / "normalization.json").read_text())
    assert (stats["split"], stats["block_days"], stats["block_pattern"]) == ("blocked", 2, "train,train,val,test")
    assert stats["stamped"] == "end"  # the spec's: a midnight reading's day decides its block too
    seconds, features = read_jena(tmp_path / "data" / "processed" / "jena" / "jena.parquet")
    ranges = split_ranges(seconds, "blocked", block_days=2, stamped="end")
    train = np.concatenate([features[a : b + 1] for a, b in ranges["train"]]).astype(np.float64)
    np.testing.assert_allclose(stats["mean"], train.mean(axis=0), rtol=1e-12)  # the training blocks only

    metrics = evaluate_model(run_dir, tmp_path / "data", run_dir)
    splits = metrics["splits"]
    assert [splits[name]["ranges"] for name in ("train", "val", "test")] == [len(ranges[n]) for n in
                                                                             ("train", "val", "test")]
    assert min(len(r) for r in ranges.values()) >= 2 and sum(f["rows"] for f in splits.values()) == len(seconds)
    for split, name in (("val", "validation"), ("test", "test")):
        windows = metrics[name]["windows"]
        assert windows == splits[split]["windows"] > 0
        assert {b[split]["windows"] for b in metrics["baselines"].values()} == {windows}  # the model's windows
        assert splits[split]["purged_windows"] > 0 and splits[split]["months"] == ["2024-01"]
    whole = len(seconds) - settings.lookback - settings.delay
    assert sum(f["windows"] + f["purged_windows"] for f in splits.values()) == whole

    assert [p.name for p in plot_evaluation(run_dir)] == ["curves.png", "predictions.png"]
    text = report_markdown([{"metrics": metrics, "promotion": None}], "r1", "smoke")
    assert "Split `blocked`: 2-day blocks of the calendar dealt train,train,val,test" in text
    assert f"| test | {splits['test']['rows']:,} | {splits['test']['windows']:,} |" in text

    stats["split"] = "contiguous"  # a normalization.json fitted on another split than settings.json says
    (run_dir / "normalization.json").write_text(json.dumps(stats))
    with pytest.raises(DataFormatError, match="another split than settings.json names: split 'contiguous' there"):
        evaluate_model(run_dir, tmp_path / "data", tmp_path / "out")
    stats.update(split="blocked", stamped="start")  # fitted on readings stamped otherwise than the spec says now
    (run_dir / "normalization.json").write_text(json.dumps(stats))
    with pytest.raises(DataFormatError, match="split than settings.json names: stamped 'start' there, 'end' in the spec"):
        evaluate_model(run_dir, tmp_path / "data", tmp_path / "out")


def test_a_champion_trained_on_other_data_is_judged_again_on_the_new_data(tmp_path):
    from tasks.judge import registry

    artifacts = tmp_path / "artifacts"
    publish_jena(tmp_path / "old")
    settings = resolve_settings("jena_conv", "smoke", {**TINY_JENA, "blessing_margin": "0"})
    old_run = runs.run_dir(artifacts, "r1", "jena_conv")
    train_model(settings, tmp_path / "old", old_run, "r1")
    metrics = evaluate_model(old_run, tmp_path / "old", old_run)
    registry.promote(runs.registry_dir(artifacts), "jena_conv", metrics, old_run)  # as if it had won
    # A run on the champion's own data needs no second judgement.
    assert registry.judge_champion.fn(runs.registry_dir(artifacts), "jena_conv", old_run, tmp_path / "old",
                                      tmp_path / "unused") is None

    publish_jena(tmp_path / "new", seed=5, shift_t=2.0)  # the next data version
    new_run = runs.run_dir(artifacts, "r2", "jena_conv")
    train_model(settings, tmp_path / "new", new_run, "r2")
    challenger = evaluate_model(new_run, tmp_path / "new", new_run)
    out = runs.champion_evaluation_dir(artifacts, "r2", "jena_conv")
    judged = registry.judge_champion.fn(runs.registry_dir(artifacts), "jena_conv", new_run, tmp_path / "new", out)
    again = json.loads(Path(judged).read_text())
    assert again["run_id"] == "r1" and again["data"]["sha256"] == challenger["data"]["sha256"]
    assert again["validation"]["windows"] == challenger["validation"]["windows"]  # the same windows
    for split in ("val", "test"):  # persistence on the same windows, in °C (each normalizes with its own stats)
        assert again["baselines"]["persistence"][split]["mae_celsius"] == pytest.approx(
            challenger["baselines"]["persistence"][split]["mae_celsius"], rel=1e-5)
    assert again["validation"] != metrics["validation"]
    result = registry.promote_model.fn(runs.registry_dir(artifacts), "jena_conv", new_run, judged)
    # compared in °C: the two normalized MAEs are in units of different training statistics
    assert result["metric"] == "val MAE (°C)"
    assert result["champion_now_value"] == again["validation"]["mae_celsius"]
    assert result["champion_own_value"] == metrics["validation"]["mae_celsius"]
    assert result["candidate_value"] == challenger["validation"]["mae_celsius"]
