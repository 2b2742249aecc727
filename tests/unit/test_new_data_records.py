"""The champion's new-data history in the registry (tasks.judge.new_data): kept atomically with its entry,
outliving a promotion, read by on_decay only for the current champion; and the documented automation matches the
event that is emitted."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tasks.core.records.registry import RegistryEntry, current_records
from tasks.ingest.retraining import decay_reason, retraining_plan
from tasks.judge.new_data import judged_already, keep_record
from tasks.judge.registry import promote
from tasks.publish.new_data import EVENT_DECAYED, EVENT_HOLDS, event_name
from tests.unit.test_registry import jena_metrics

pytestmark = pytest.mark.unit
DOCS = Path(__file__).resolve().parents[2] / "docs"


def record(champion: str, version: str, beats: bool, ratio: float) -> dict:
    return {"version": version, "data_sha256": version * 8, "champion_run_id": champion, "beats": beats,
            "ratio": ratio, "reason": f"ratio {ratio} on {version}"}


def champion(tmp_path: Path, run_id: str, mae: float) -> Path:
    """A registry under tmp_path whose jena_conv champion is run `run_id` (a run folder with a stand-in model)."""
    run_dir = tmp_path / "runs" / run_id / "jena_conv"
    run_dir.mkdir(parents=True)
    (run_dir / "model.keras").write_bytes(b"weights")
    promote(tmp_path / "registry", "jena_conv", jena_metrics(run_id, mae), run_dir)
    return tmp_path / "registry"


def test_records_accumulate_replace_their_own_version_and_outlive_a_promotion(tmp_path):
    registry = champion(tmp_path, "r1", 0.30)
    keep_record(registry, "jena_conv", record("r1", "v2", True, 0.9))
    keep_record(registry, "jena_conv", record("r1", "v3", True, 0.95))
    keep_record(registry, "jena_conv", record("r1", "v3", False, 1.2))  # v3 judged again: replaced, not added
    entry = RegistryEntry.read(registry, "jena_conv")
    assert [(r["version"], r["ratio"]) for r in entry.extra["new_data"]] == [("v2", 0.9), ("v3", 1.2)]
    assert judged_already(entry, "v3" * 8) and not judged_already(entry, "v4" * 8)
    assert decay_reason(entry.to_dict()) == (True, "champion r1 decayed: ratio 1.2 on v3")
    assert not list(registry.glob(".*.json*"))  # written by rename: no temporary file left

    champion(tmp_path, "r2", 0.20)  # a new champion keeps the history, but none of it is its own
    entry = RegistryEntry.read(registry, "jena_conv")
    assert [r["champion_run_id"] for r in entry.extra["new_data"]] == ["r1", "r1"] and not current_records(entry)
    assert keep_record(registry, "jena_conv", record("r1", "v4", False, 2.0)) is None  # of the old champion: refused
    train, why = decay_reason(entry.to_dict())
    assert not train and why.startswith("not retrained: champion r2 has not been judged on new data yet")
    keep_record(registry, "jena_conv", record("r2", "v4", True, 0.8))
    plan = retraining_plan("on_decay", ["jena_conv", "jena_conv_gru"], tmp_path / "data", registry)
    assert plan == {"jena_conv": {"train": False, "reason": "not retrained: champion r2 still beats its baseline: "
                                                            "ratio 0.8 on v4"},
                    "jena_conv_gru": {"train": True, "reason": "no champion yet"}}


def test_the_documented_automation_fires_on_the_decayed_event():
    from prefect.events.schemas.automations import AutomationCore

    automation = AutomationCore.model_validate(yaml.safe_load((DOCS / "champion-decayed-automation.yaml").read_text()))
    assert automation.trigger.expect == {EVENT_DECAYED}
    assert dict(automation.trigger.match.root) == {"prefect.resource.id": "seqconv.model.*"}  # every model's
    assert event_name({"beats": False}) == EVENT_DECAYED and event_name({"beats": True}) == EVENT_HOLDS


def test_a_text_champion_is_scored_on_the_reviews_its_version_did_not_hold(tmp_path):
    """Text: the new reviews are told by their word ids and label, not their place: a version whose train file is
    the old one and whose test file is all new is judged on the test file's reviews alone."""
    import shutil

    from tasks.core.profiles import resolve_settings
    from tasks.ingest import read_imdb_split
    from tasks.judge.evaluate import evaluate_model
    from tasks.judge.new_data import new_data_record
    from tasks.model.train import train_model
    from tests.support.published import publish_imdb

    old = publish_imdb(tmp_path / "old", n_per_split=200)
    run_dir = tmp_path / "artifacts" / "runs" / "t1" / "imdb_conv"
    settings = resolve_settings("imdb_conv", "smoke", {"epochs": "1", "max_train_samples": "200", "maxlen": "60",
                                                       "max_test_samples": "100", "batch_size": "32"})
    train_model(settings, tmp_path / "old", run_dir, "t1")
    metrics = evaluate_model(run_dir, tmp_path / "old", run_dir)
    promote(tmp_path / "artifacts" / "registry", "imdb_conv", metrics, run_dir)
    new = tmp_path / "new" / "processed" / "imdb"
    shutil.copytree(old, new)
    shutil.copy(publish_imdb(tmp_path / "other", n_per_split=200, seed=1) / "test.parquet", new / "test.parquet")

    entry = RegistryEntry.read(tmp_path / "artifacts" / "registry", "imdb_conv")
    record = new_data_record(entry, new, "n" * 64)
    _, labels = read_imdb_split(new, "test")
    assert record["windows"] == len(labels) == 200 and record["unit"] == "reviews"
    assert record["baselines"]["majority"]["accuracy"] == pytest.approx(0.5)  # test labels alternate
    assert record["baseline"] == "majority" and record["ratio"] == pytest.approx(record["model"]["accuracy"] / 0.5)
    assert new_data_record(entry, old, "o" * 64) is None  # the version it trained on holds nothing new


def test_a_champion_that_cannot_be_judged_never_fails_ingestion(tmp_path):
    """As drift: a champion whose model cannot be loaded is logged and left without a record, not an error."""
    from tasks.publish.new_data import judge_on_new_data
    from tests.support.published import publish_jena

    registry = champion(tmp_path / "artifacts", "r1", 0.30)  # its model.keras holds no model
    version = publish_jena(tmp_path / "data")
    assert judge_on_new_data(version, "jena", tmp_path / "artifacts") == {"jena_conv": None}
    assert "new_data" not in RegistryEntry.read(registry, "jena_conv").extra
