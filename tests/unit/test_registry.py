"""The champion registry: who gets promoted and why, and writes that never leave a half-written entry."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tasks.judge import registry
from tasks.core.errors import DataFormatError, SettingsError
from tasks.judge.registry import decide, promote, read_champion

pytestmark = pytest.mark.unit


def imdb_metrics(run_id: str, accuracy: float, blessed: bool = True) -> dict:
    return {
        "model": "imdb_conv",
        "run_id": run_id,
        "monitor": "val_accuracy",
        "validation": {"accuracy": accuracy, "roc_auc": 0.9},
        "test": {"accuracy": accuracy - 0.01, "roc_auc": 0.89},
        "baselines": {
            "majority": {"val": {"accuracy": 0.5}, "test": {"accuracy": 0.5}},
            "bag_of_words": {"val": {"accuracy": 0.86}, "test": {"accuracy": 0.85}},
        },
        "blessing": {"blessed": blessed, "baseline": "bag_of_words", "baseline_value": 0.86, "margin": 0.005,
                     "model_value": accuracy, "reason": "from bless"},
        "blessed": blessed,
        "data": {"sha256": "d" * 64},
        "git_commit": "abc123",
    }


def jena_metrics(run_id: str, mae: float, blessed: bool = True) -> dict:
    return {
        "model": "jena_conv",
        "run_id": run_id,
        "monitor": "val_loss",
        "validation": {"mae": mae, "mae_celsius": mae * 8.5, "windows": 100},
        "test": {"mae": mae + 0.01, "mae_celsius": (mae + 0.01) * 8.5, "windows": 100},
        "baselines": {
            "persistence": {"val": {"mae": 0.29}, "test": {"mae": 0.30}},
            "mean": {"val": {"mae": 0.88}, "test": {"mae": 0.9}},
        },
        "blessing": {"blessed": blessed, "baseline": "persistence", "baseline_value": 0.29, "margin": 0.005,
                     "model_value": mae, "reason": "from bless"},
        "blessed": blessed,
        "data": {"sha256": "e" * 64},
        "git_commit": "abc123+dirty",
    }


def run_dir(tmp_path: Path, metrics: dict) -> Path:
    """A finished run folder: model.keras and metrics.json."""
    folder = tmp_path / "runs" / metrics["run_id"] / metrics["model"]
    folder.mkdir(parents=True)
    (folder / "model.keras").write_bytes(b"not really a model")
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder


def champion_of(tmp_path: Path, metrics: dict) -> dict:
    return promote(tmp_path / "registry", metrics["model"], metrics, run_dir(tmp_path, metrics))


def test_first_blessed_candidate_is_promoted_and_recorded(tmp_path):
    registry_dir = tmp_path / "registry"
    candidate = imdb_metrics("r1", 0.88)
    decision = decide(candidate, read_champion(registry_dir, "imdb_conv"))
    assert decision["promote"] is True
    assert "first champion" in decision["reason"] and "bag_of_words 0.86" in decision["reason"]

    entry = promote(registry_dir, "imdb_conv", candidate, run_dir(tmp_path, candidate))
    assert read_champion(registry_dir, "imdb_conv") == entry
    assert entry["run_id"] == "r1" and entry["previous_run_id"] is None
    assert entry["metrics"]["validation"]["accuracy"] == 0.88 and entry["metrics"]["test"]["accuracy"] == 0.87
    assert entry["metrics"]["baselines"] == {"majority": {"val": 0.5, "test": 0.5},
                                             "bag_of_words": {"val": 0.86, "test": 0.85}}
    assert entry["metrics"]["blessed"] is True and entry["metrics"]["reason"] == "from bless"
    assert entry["data_sha256"] == "d" * 64 and entry["code_commit"] == "abc123"
    assert entry["model_path"].endswith("runs/r1/imdb_conv/model.keras") and Path(entry["model_path"]).is_file()
    assert entry["promoted_at"].endswith("+00:00")


@pytest.mark.parametrize("champion", [None, "r0"])
def test_a_candidate_that_is_not_blessed_is_never_promoted(tmp_path, champion):
    current = champion_of(tmp_path, jena_metrics("r0", 0.40)) if champion else None  # a weak champion
    decision = decide(jena_metrics("r1", 0.30, blessed=False), current)
    assert decision == {"promote": False,
                        "reason": "not blessed: val MAE 0.3 does not beat persistence 0.29 by 0.005"}


@pytest.mark.parametrize(
    "make, champion_value, candidate_value, promoted, reason",
    [
        (imdb_metrics, 0.874, 0.881, True, "val accuracy 0.881 beats champion c1's 0.874"),
        (imdb_metrics, 0.874, 0.870, False, "val accuracy 0.87 does not beat champion c1's 0.874"),
        (imdb_metrics, 0.874, 0.874, False, "val accuracy 0.874 does not beat champion c1's 0.874 (a tie keeps"),
        (jena_metrics, 0.27, 0.26, True, "val MAE (°C) 2.21 beats champion c1's 2.295"),
        (jena_metrics, 0.27, 0.30, False, "val MAE (°C) 2.55 does not beat champion c1's 2.295"),
        (jena_metrics, 0.27, 0.27, False, "val MAE (°C) 2.295 does not beat champion c1's 2.295 (a tie keeps"),
    ],
)
def test_a_blessed_candidate_must_beat_the_champion(tmp_path, make, champion_value, candidate_value, promoted,
                                                    reason):
    champion = champion_of(tmp_path, make("c1", champion_value))
    decision = decide(make("r2", candidate_value), champion)
    assert decision["promote"] is promoted
    assert decision["reason"].startswith(reason)


def test_jena_runs_are_compared_in_degrees_not_in_their_own_normalized_units(tmp_path):
    # A champion trained on winter rows (small std) and a challenger on the whole year (large std): the
    # challenger's normalized MAE is the smaller, its error in °C the larger. °C decides.
    champion = jena_metrics("c1", 0.40)
    champion["validation"]["mae_celsius"] = 2.0
    challenger = jena_metrics("r2", 0.30)
    challenger["validation"]["mae_celsius"] = 2.4
    decision = decide(challenger, champion_of(tmp_path, champion))
    assert decision == {"promote": False, "reason": "val MAE (°C) 2.4 does not beat champion c1's 2"}


def test_the_champion_run_itself_is_not_promoted_again(tmp_path):
    metrics = imdb_metrics("r1", 0.9)
    champion = champion_of(tmp_path, metrics)
    assert decide(metrics, champion) == {"promote": False, "reason": "already champion"}


def test_a_promotion_records_the_previous_champion(tmp_path):
    champion_of(tmp_path, jena_metrics("r1", 0.27))
    entry = champion_of(tmp_path, jena_metrics("r2", 0.25))
    assert entry["previous_run_id"] == "r1"
    assert read_champion(tmp_path / "registry", "jena_conv")["run_id"] == "r2"


def test_a_failed_write_leaves_the_old_entry_intact_and_no_temporary_file(tmp_path, monkeypatch):
    registry_dir = tmp_path / "registry"
    champion_of(tmp_path, jena_metrics("r1", 0.27))
    before = (registry_dir / "jena_conv.json").read_bytes()
    better = jena_metrics("r2", 0.2)
    folder = run_dir(tmp_path, better)

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        promote(registry_dir, "jena_conv", better, folder)
    assert (registry_dir / "jena_conv.json").read_bytes() == before
    assert sorted(p.name for p in registry_dir.iterdir()) == ["jena_conv.json"]


def test_an_unfinished_run_cannot_be_promoted(tmp_path):
    metrics = imdb_metrics("r1", 0.9)
    folder = run_dir(tmp_path, metrics)
    (folder / "model.keras").unlink()
    with pytest.raises(DataFormatError, match="model.keras does not exist"):
        promote(tmp_path / "registry", "imdb_conv", metrics, folder)
    assert not (tmp_path / "registry" / "imdb_conv.json").exists()


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"model": "imdb_conv"}'])
def test_a_corrupt_entry_is_an_error_naming_the_file(tmp_path, content):
    registry_dir = tmp_path / "registry"
    registry_dir.mkdir()
    (registry_dir / "imdb_conv.json").write_text(content)
    with pytest.raises(DataFormatError, match=r"registry/imdb_conv\.json"):
        read_champion(registry_dir, "imdb_conv")


def test_a_candidate_of_another_model_is_refused(tmp_path):
    champion = champion_of(tmp_path, jena_metrics("r1", 0.27))
    other = {**jena_metrics("r2", 0.2), "model": "jena_conv_gru"}
    with pytest.raises(SettingsError, match="jena_conv_gru run; the champion is a jena_conv"):
        decide(other, champion)


def test_promote_model_task_reads_metrics_json_and_reports(tmp_path):
    registry_dir = tmp_path / "registry"
    first = run_dir(tmp_path, imdb_metrics("r1", 0.874))
    second = run_dir(tmp_path, imdb_metrics("r2", 0.881))
    worse = run_dir(tmp_path, imdb_metrics("r3", 0.8))

    assert registry.promote_model.fn(registry_dir, "imdb_conv", first)["promoted"] is True
    result = registry.promote_model.fn(registry_dir, "imdb_conv", second)
    assert result == {
        "model": "imdb_conv", "run_id": "r2", "promoted": True,
        "reason": "val accuracy 0.881 beats champion r1's 0.874", "metric": "val accuracy",
        "candidate_value": 0.881, "champion_run_id": "r2", "champion_value": 0.881,
        "previous_champion_run_id": "r1", "champion_own_value": 0.874, "champion_now_value": None,
    }
    result = registry.promote_model.fn(registry_dir, "imdb_conv", worse)
    assert result["promoted"] is False and result["champion_run_id"] == "r2" and result["champion_value"] == 0.881
    unfinished = tmp_path / "runs" / "r9" / "imdb_conv"
    unfinished.mkdir(parents=True)
    with pytest.raises(DataFormatError, match="did not finish"):
        registry.promote_model.fn(registry_dir, "imdb_conv", unfinished)


def test_a_champion_from_other_data_is_judged_by_its_figure_on_the_candidates_data(tmp_path):
    champion = champion_of(tmp_path, imdb_metrics("r1", 0.90))  # 0.90 on its own (older) data
    on_new = {**imdb_metrics("r1", 0.85), "data": {"sha256": "e" * 64}}  # the same champion, judged on new data
    candidate = {**imdb_metrics("r2", 0.87), "data": {"sha256": "e" * 64}}
    assert decide(candidate, champion)["promote"] is False  # against 0.90 from other data: the wrong comparison
    decision = decide(candidate, champion, on_new)
    assert decision == {"promote": True,
                        "reason": "val accuracy 0.87 beats champion r1's 0.85 on the same data (0.9 on its own)"}
    worse = {**imdb_metrics("r3", 0.84), "data": {"sha256": "e" * 64}}
    assert "does not beat champion r1's 0.85 on the same data" in decide(worse, champion, on_new)["reason"]
    with pytest.raises(SettingsError, match="not comparable"):
        decide(imdb_metrics("r4", 0.95), champion, on_new)  # r4 trained on d…, the champion was judged on e…


def test_register_reports_the_champion_on_both_data_versions(tmp_path):
    champion_of(tmp_path, imdb_metrics("r1", 0.90))
    on_new = {**imdb_metrics("r1", 0.85), "data": {"sha256": "e" * 64}}
    candidate = {**imdb_metrics("r2", 0.87), "data": {"sha256": "e" * 64}}
    result = registry.register(tmp_path / "registry", "imdb_conv", candidate, run_dir(tmp_path, candidate), on_new)
    assert result["promoted"] is True and result["champion_run_id"] == "r2"
    assert (result["champion_own_value"], result["champion_now_value"]) == (0.90, 0.85)


def test_the_entry_record_writes_what_it_reads_byte_for_byte(tmp_path):
    from tasks.core.records.registry import RegistryEntry

    champion_of(tmp_path, imdb_metrics("r1", 0.88))
    path = tmp_path / "registry" / "imdb_conv.json"
    before = path.read_bytes()
    entry = RegistryEntry.read(tmp_path / "registry", "imdb_conv")
    assert entry.run_id == "r1" and entry.model_dir == tmp_path.resolve() / "runs" / "r1" / "imdb_conv"
    assert entry.validation_value() == 0.88
    path.unlink()
    entry.write(tmp_path / "registry")
    assert path.read_bytes() == before
    assert RegistryEntry.read(tmp_path / "registry", "jena_conv") is None


def test_an_entry_of_another_model_or_without_a_finite_figure_is_refused(tmp_path):
    from tasks.core.records.registry import RegistryEntry

    entry = champion_of(tmp_path, imdb_metrics("r1", 0.88))
    with pytest.raises(DataFormatError, match="names model 'imdb_conv'; expected 'jena_conv'"):
        RegistryEntry.from_dict(entry, "x.json", "jena_conv")
    bad = {**entry, "metrics": {**entry["metrics"], "validation": {"accuracy": float("nan")}}}
    with pytest.raises(DataFormatError, match="x.json: validation metric nan"):
        RegistryEntry.from_dict(bad, "x.json", "imdb_conv")
