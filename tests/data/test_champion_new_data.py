"""The champion on new data (docs/retraining.md), on the mirror's real station files: a smoke champion trained on
the first (January-May 2024), then the second (June-October) published beside it. The ingest flow must score the
champion on exactly the windows made of the second file's rows, beside persistence computed here from the raw
temperatures; a synthetic warming of those rows must be flagged; `on_decay` and `predict` must follow the record.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.ingest import ingest_jena_flow
from tasks.core import runs
from tasks.core.profiles import resolve_settings
from tasks.core.records.registry import RegistryEntry
from tasks.ingest import read_jena
from tasks.ingest.retraining import retraining_plan
from tasks.judge.evaluate import evaluate_model
from tasks.judge.registry import promote
from tasks.model import window_rows
from tasks.model.train import train_model
from tasks.publish.new_data import judge_on_new_data, new_data_lines

pytestmark = pytest.mark.data
MODEL = "jena_conv_gru"
OLD, NEW = "mpi_roof_2024a.csv", "mpi_roof_2024b.csv"
OLD_ENDS = "2024-05-15T16:00:00"  # the last row of the first file (the mirror's README)
NEW_STARTS, NEW_ENDS = "2024-06-09T11:40:00", "2024-10-20T08:10:00"


@pytest.fixture(scope="module")
def judged(prefect_harness, shared_datasets: Path, tmp_path_factory):
    """The first file published and a smoke champion trained on it (recorded through the registry's own API when
    two smoke epochs are not blessed); then both files published through the ingest flow."""
    base = tmp_path_factory.mktemp("champion-new-data")
    data, artifacts = base / "data", base / "artifacts"
    ingest_jena_flow(mirror=str(shared_datasets), data_dir=str(data), files=[OLD], artifacts_dir=str(artifacts))
    run_dir = runs.run_dir(artifacts, "r1", MODEL)
    settings = resolve_settings(MODEL, "smoke", None)
    train_model(settings, data, run_dir, "r1")
    metrics = evaluate_model(run_dir, data, run_dir)
    promote(runs.registry_dir(artifacts), MODEL, metrics, run_dir)
    old_version = (data / "processed" / "jena").resolve()
    published = ingest_jena_flow(mirror=str(shared_datasets), data_dir=str(data), files=[OLD, NEW],
                                 artifacts_dir=str(artifacts))
    return {"data": data, "artifacts": artifacts, "run_dir": run_dir, "settings": settings,
            "old_version": old_version, "version": Path(published).resolve()}


def entry(judged) -> RegistryEntry:
    return RegistryEntry.read(runs.registry_dir(judged["artifacts"]), MODEL)


def test_the_champion_is_scored_on_exactly_the_windows_of_the_rows_it_never_saw(judged):
    s, version = judged["settings"], judged["version"]
    (record,) = entry(judged).extra["new_data"]
    assert record["champion_run_id"] == "r1" and record["version"] == version.name
    assert NEW_STARTS <= record["rows_from"] and record["rows_to"] <= NEW_ENDS

    # The windows, found here from the published timestamps: every one whose first input follows the old file's end
    seconds, features = read_jena(version / "jena.parquet")
    first_new = int(np.searchsorted(seconds, np.datetime64(OLD_ENDS, "s").astype(np.int64), side="right"))
    assert str(np.datetime64(int(seconds[first_new]), "s")) == NEW_STARTS
    anchors = window_rows(seconds, (first_new, len(seconds) - 1), s.lookback, s.delay, s.max_gap_minutes)
    assert record["windows"] == len(anchors) > 10_000
    # Persistence in °C straight from the raw temperatures: the reading `step` rows before the anchor
    t = features[:, 1].astype(np.float64)
    persistence_c = float(np.mean(np.abs(t[anchors + s.delay] - t[anchors - s.step])))
    assert record["baselines"]["persistence"]["mae_celsius"] == pytest.approx(persistence_c, rel=1e-4)
    strongest = min(record["baselines"], key=lambda name: record["baselines"][name]["mae"])
    assert record["baseline"] == strongest
    assert record["ratio"] == pytest.approx(record["model"]["mae"] / record["baselines"][strongest]["mae"])
    assert record["beats"] == (record["model"]["mae"] <= record["baseline_value"] - record["margin"])
    print(f"smoke champion on the 2024b rows: {record['reason']}")


def test_publishing_the_same_version_again_judges_nothing_twice(judged, shared_datasets):
    before = entry(judged).extra["new_data"]
    ingest_jena_flow(mirror=str(shared_datasets), data_dir=str(judged["data"]), files=[OLD, NEW],
                     artifacts_dir=str(judged["artifacts"]))
    assert entry(judged).extra["new_data"] == before


def warmed(version: Path, out: Path, degrees: float) -> Path:
    """A copy of a published version whose temperature after the old file's end is `degrees` warmer."""
    shutil.copytree(version, out)
    table = pq.read_table(out / "jena.parquet")
    seconds, _ = read_jena(out / "jena.parquet")
    column = table.schema.get_field_index("T (degC)")
    t = table.column(column).to_numpy().copy()
    t[seconds > np.datetime64(OLD_ENDS, "s").astype(np.int64)] += np.float32(degrees)
    pq.write_table(table.set_column(column, table.schema.field(column), pa.array(t)), out / "jena.parquet")
    return out


def test_a_synthetic_warming_is_flagged_and_on_decay_retrains(judged, tmp_path):
    real = entry(judged).extra["new_data"][-1]
    records = judge_on_new_data(warmed(judged["version"], tmp_path / "jena-warmed", 15.0), "jena",
                                judged["artifacts"])
    shifted = records[MODEL]
    # Persistence does not care about a level shift; a model that learned this station's temperatures does
    assert shifted["baselines"]["persistence"]["mae"] == pytest.approx(real["baselines"]["persistence"]["mae"],
                                                                      rel=1e-4)
    assert shifted["model"]["mae"] > 1.5 * real["model"]["mae"] and shifted["ratio"] > 1.5 * real["ratio"]
    assert not shifted["beats"] and "does not beat persistence" in shifted["reason"]
    history = entry(judged).extra["new_data"]
    assert [r["version"] for r in history] == [real["version"], "jena-warmed"]

    plan = retraining_plan("on_decay", [MODEL], judged["data"], runs.registry_dir(judged["artifacts"]))
    assert plan[MODEL] == {"train": True, "reason": f"champion r1 decayed: {shifted['reason']}"}
    section = "\n".join(new_data_lines(MODEL, history))
    assert "Champion r1 no longer beats its strongest baseline" in section and "jena-warmed" in section


def test_predict_shows_the_baseline_beside_a_decayed_champion(judged, tmp_path):
    from flows.predict import predict_flow

    assert not entry(judged).extra["new_data"][-1]["beats"]  # the warmed version above, or the real one
    out_dir = Path(predict_flow("jena", data_dir=str(judged["data"]), artifacts_dir=str(judged["artifacts"])))
    forecast = json.loads((out_dir / "forecast.json").read_text())
    assert "does not beat persistence" in forecast["warning"]
    for row in forecast["rows"]:
        assert row["baseline"] == "persistence" and row["baseline_answer"] == row["persistence_c"]
        assert row["warning"].startswith("persistence beats this model on the newest data")
    csv = (out_dir / "predictions.csv").read_text().splitlines()
    assert csv[0].endswith("baseline,baseline_answer,warning") and len(csv) == len(forecast["rows"]) + 1

    # The same model from a folder that is no champion's: nothing to warn about
    copy = tmp_path / "copy" / MODEL
    shutil.copytree(judged["run_dir"], copy)
    plain = Path(predict_flow("jena", model_dir=str(copy), data_dir=str(judged["data"]),
                              artifacts_dir=str(judged["artifacts"])))
    assert "warning" not in json.loads((plain / "forecast.json").read_text())
