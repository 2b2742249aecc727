"""train-all at flow level (Prefect's test harness): champions, artifacts, caching by content, failed validation."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterParentFlowRunId,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
)

from flows.train_all import train_all_flow
from tasks.core.errors import ValidationFailed
from tests.support import fixtures

pytestmark = pytest.mark.e2e
STATION_FILES = ["mpi_roof_2024a.csv", "mpi_roof_2024b.csv"]
MODELS = ["imdb_conv", "jena_conv", "jena_conv_gru"]


def _run(mirror: Path, data: Path, artifacts: Path, return_state: bool = True):
    return train_all_flow(profile="smoke", mirror=str(mirror), data_dir=str(data), artifacts_dir=str(artifacts),
                          jena_files=STATION_FILES, models=MODELS, train_on="local", return_state=return_state)


def _task_states(flow_run_id) -> dict[str, list[str]]:
    """Task run name -> state names, over the flow run and all its subflow runs."""
    with get_client(sync_client=True) as client:
        ids, frontier = [flow_run_id], [flow_run_id]
        while frontier:
            children = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=frontier)))
            frontier = [c.id for c in children if c.id not in ids]
            ids += frontier
        runs = client.read_task_runs(task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=ids)))
    states: dict[str, list[str]] = {}
    for run in runs:
        states.setdefault(run.name, []).append(run.state.name if run.state else "none")
    return states


def _tree_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def first_run(prefect_harness, fixture_mirror, tmp_path_factory):
    base = tmp_path_factory.mktemp("train-all")
    mirror = base / "mirror"
    shutil.copytree(fixture_mirror, mirror)
    data, artifacts = base / "data", base / "artifacts"
    state = _run(mirror, data, artifacts)
    assert state.is_completed(), state
    return {"mirror": mirror, "data": data, "artifacts": artifacts, "state": state}


def test_train_all_trains_judges_promotes_and_reports(first_run):
    artifacts = first_run["artifacts"]
    report = Path(first_run["state"].result())
    text = report.read_text()
    for model in MODELS:
        assert model in text
    # The fixture reviews carry their sentiment in word order: the convnet beats majority and bag-of-words.
    champion = json.loads((artifacts / "registry" / "imdb_conv.json").read_text())
    assert champion["model"] == "imdb_conv" and champion["run_id"] in str(report)
    assert champion["data_sha256"] and champion["code_commit"]
    assert Path(champion["model_path"]).is_file()
    for model in ("jena_conv", "jena_conv_gru"):  # smoke-trained forecasts lose to persistence: no champion
        assert not (artifacts / "registry" / f"{model}.json").exists()
        assert "not blessed" in text

    keys = ["train-all-metrics", "train-all-report", "validation-imdb", "validation-jena", "plots-imdb-conv",
            "plots-jena-conv", "plots-jena-conv-gru", "training-progress-imdb-conv"]
    with get_client(sync_client=True) as client:
        found = {a.key: a for a in client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)))}
    assert set(keys) <= set(found), f"missing artifacts: {set(keys) - set(found)}"
    assert found["plots-imdb-conv"].type == "markdown" and "data:image/png;base64," in found["plots-imdb-conv"].data
    assert found["train-all-metrics"].type == "table"
    assert found["training-progress-imdb-conv"].type == "progress" and found["training-progress-imdb-conv"].data == 100
    assert "PASS" in found["validation-jena"].data
    drift = json.loads((first_run["data"] / "validation" / "jena.drift.json").read_text())
    assert drift["reference"]["kind"] == "none" and drift["flagged"] == []  # the first ingestion: nothing to compare
    assert "## Data drift: jena" in text and "first ingestion" in text


def test_unchanged_sources_reuse_ingestion_and_training_and_a_changed_one_is_ingested_again(first_run):
    mirror, data, artifacts = first_run["mirror"], first_run["data"], first_run["artifacts"]
    second = _run(mirror, data, artifacts)
    assert second.is_completed(), second
    states = _task_states(second.state_details.flow_run_id)
    for name in ("validate raw imdb", "normalize imdb", "validate normalized imdb",
                 "validate raw jena", "normalize jena", "validate normalized jena",
                 "train imdb_conv", "train jena_conv", "train jena_conv_gru"):
        assert states.get(name) == ["Cached"], f"{name}: {states.get(name)}"
    headline = next(line for line in Path(second.result()).read_text().splitlines() if line.startswith("Run id "))
    assert "3 reused" in headline and "trained" not in headline.split(";")[0], headline
    assert "nothing changed" in headline, headline
    imdb_champion = (artifacts / "registry" / "imdb_conv.json").read_bytes()

    # A station file grew (new readings at the end): Jena is ingested and trained again, IMDB is not.
    grown = fixtures.synthetic_weather(fixtures.STATION_B_START, fixtures.STATION_ROWS + 300, seed=2)
    fixtures.write_station_file(mirror, "mpi_roof_2024b.csv", "", 0, quoted_header=False, padded=False, crlf=True,
                                frame=grown)
    fixtures.write_checksums(mirror)
    third = _run(mirror, data, artifacts)
    assert third.is_completed(), third
    states = _task_states(third.state_details.flow_run_id)
    assert states["normalize jena"] == ["Completed"] and states["train jena_conv"] == ["Completed"]
    assert states["normalize imdb"] == ["Cached"] and states["train imdb_conv"] == ["Cached"]
    from tasks.ingest import read_provenance
    assert read_provenance(data / "processed" / "jena" / "jena.parquet")["rows"] == 2 * fixtures.STATION_ROWS + 300  # a: one repeat dropped
    assert (artifacts / "registry" / "imdb_conv.json").read_bytes() == imdb_champion  # IMDB was not retrained


def test_failed_validation_changes_nothing_and_names_the_failures(first_run, tmp_path):
    data, artifacts = tmp_path / "data", tmp_path / "artifacts"
    shutil.copytree(first_run["data"], data, symlinks=True)
    shutil.copytree(first_run["artifacts"], artifacts, symlinks=True)
    mirror = tmp_path / "mirror"
    shutil.copytree(first_run["mirror"], mirror)
    bad = fixtures.synthetic_weather(fixtures.STATION_B_START, fixtures.STATION_ROWS, seed=3)
    bad.loc[[10, 11, 12], "rh (%)"] = 150.0  # relative humidity above 100%: not a repairable sentinel
    fixtures.write_station_file(mirror, "mpi_roof_2024b.csv", "", 0, quoted_header=False, padded=False, crlf=True,
                                frame=bad)
    fixtures.write_checksums(mirror)
    processed_before = _tree_hashes(data / "processed")
    link_before = (data / "processed" / "jena").resolve()
    registry_before = _tree_hashes(artifacts / "registry")

    with pytest.raises(ValidationFailed) as failure:
        _run(mirror, data, artifacts, return_state=False)
    message = str(failure.value)
    assert "jena normalized data failed validation" in message
    assert "'rh (%)'" in message and "3 of" in message and "150.0" in message

    assert (data / "processed" / "jena").resolve() == link_before
    assert _tree_hashes(data / "processed") == processed_before
    assert _tree_hashes(artifacts / "registry") == registry_before
    assert not list((data / "processed" / ".versions").glob(".staging-*"))


def test_on_drift_keeps_a_champion_whose_data_shows_no_drift(first_run, tmp_path):
    data, artifacts, mirror = tmp_path / "data", tmp_path / "artifacts", tmp_path / "mirror"
    shutil.copytree(first_run["data"], data, symlinks=True)
    shutil.copytree(first_run["artifacts"], artifacts, symlinks=True)
    shutil.copytree(first_run["mirror"], mirror)
    registry_before = _tree_hashes(artifacts / "registry")
    drift = json.loads((data / "validation" / "imdb.drift.json").read_text())
    assert drift["flagged"] == [] and drift["new"]["version"] == (data / "processed" / "imdb").resolve().name

    state = train_all_flow(profile="smoke", mirror=str(mirror), data_dir=str(data), artifacts_dir=str(artifacts),
                           jena_files=STATION_FILES, models=["imdb_conv"], retrain="on_drift", return_state=True)
    assert state.is_completed(), state
    states = _task_states(state.state_details.flow_run_id)
    assert "train imdb_conv" not in states and "promote imdb_conv" not in states, states
    text = Path(state.result()).read_text()
    assert "imdb_conv (not retrained)" in text and "no drift flagged" in text, text
    headline = next(line for line in text.splitlines() if line.startswith("Run id "))
    assert "nothing changed" not in headline and "1 not retrained" in headline, headline
    assert _tree_hashes(artifacts / "registry") == registry_before


def test_a_bad_retrain_value_fails_before_any_work(prefect_harness, tmp_path):
    from tasks.core.errors import SettingsError

    with pytest.raises(SettingsError, match="retrain='sometimes'; allowed: on_change, always, on_drift"):
        train_all_flow(profile="smoke", mirror=str(tmp_path / "nowhere"), data_dir=str(tmp_path / "data"),
                       artifacts_dir=str(tmp_path / "artifacts"), models=MODELS, retrain="sometimes")
    assert not (tmp_path / "data").exists() and not (tmp_path / "artifacts").exists()
