"""Dataset versions kept while anything needs them: real station files normalized and published by the ingest code,
a champion trained, judged and promoted by the real code, runs resumed on the version they started on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from flows.cli import main
from tasks.core import atomic, retention, runs
from tasks.core.cache import file_sha256
from tasks.core.errors import SettingsError
from tasks.core.profiles import resolve_settings
from tasks.core.retention import prune_after_publishing
from tasks.ingest.jena_station import normalize_jena_files
from tasks.judge.evaluate import evaluate_model
from tasks.judge.registry import promote
from tasks.model.dataset import record_run_dataset
from tasks.model.train import train_model
from tests.support.fixtures import write_station_file

pytestmark = pytest.mark.unit
TINY = {"lookback": "132", "step": "6", "delay": "12", "epochs": "2", "steps_per_epoch": "2", "batch_size": "16",
        "validation_steps": "1"}  # as tests/unit/test_train.py: seconds of training


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv(retention.KEEP_RUNS_ENV, "0")  # only champions and unfinished runs keep an older version
    (tmp_path / "raw.json").write_text("{}")
    return {"root": tmp_path, "data": tmp_path / "data", "processed": tmp_path / "data" / "processed",
            "artifacts": tmp_path / "artifacts"}


def ingest(place: dict[str, Path], seed: int) -> Path:
    """One new version of jena from a station file of its own, as the ingest flow builds, publishes and prunes it."""
    csv = write_station_file(place["root"] / "sources" / str(seed), "mpi_roof_2024a.csv", "2024-01-01 00:10:00",
                             2400, quoted_header=True, padded=True, crlf=False, seed=seed)
    sources = [{"name": csv.name, "sha256": file_sha256(csv), "csv": str(csv)}]
    version = normalize_jena_files.fn("jena", sources, place["root"] / "raw.json", place["processed"])
    atomic.publish_dataset.fn(version, place["processed"], "jena")
    prune_after_publishing.fn(place["processed"], "jena", place["artifacts"])
    return version


def names(place: dict[str, Path]) -> list[str]:
    return sorted(v.name for v in retention.list_versions(place["processed"], "jena"))


def test_a_champions_version_outlives_three_publications_and_pruning_removes_only_what_nothing_needs(
        place, capsys, monkeypatch):
    first = ingest(place, seed=1)
    run_dir = runs.run_dir(place["artifacts"], "champ", "jena_conv")
    train_model(resolve_settings("jena_conv", "smoke", TINY), place["data"], run_dir, "champ")
    metrics = evaluate_model(run_dir, place["data"], run_dir)
    entry = promote(runs.registry_dir(place["artifacts"]), "jena_conv", metrics, run_dir)
    assert Path(json.loads((run_dir / runs.TRAINING).read_text())["data"]["path"]) == first.resolve()

    second, third, fourth = (ingest(place, seed) for seed in (2, 3, 4))

    assert first.is_dir(), "the champion's version was deleted by publishing"
    assert entry["data_sha256"] == retention.version_sha256(first)  # the data the registry names is still there
    assert not second.exists()  # nothing needed it: pruned after the next publication
    assert names(place) == sorted([first.name, third.name, fourth.name])

    assert main(["versions", "--data-dir", str(place["data"]), "--artifacts-dir", str(place["artifacts"])]) == 0
    listing = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert f"champion of jena_conv (run {entry['run_id']})" in listing[first.name]
    assert listing[fourth.name].endswith("published")
    assert "published before the current one" in listing[third.name]

    # A newer run on the published version, kept as one of the newest runs while the setting says so.
    later = runs.run_dir(place["artifacts"], "later", "jena_conv")
    train_model(resolve_settings("jena_conv", "smoke", TINY), place["data"], later, "later")
    monkeypatch.setenv(retention.KEEP_RUNS_ENV, "2")
    fifth, sixth = ingest(place, seed=5), ingest(place, seed=6)
    assert names(place) == sorted([first.name, fourth.name, fifth.name, sixth.name])  # `third` pruned: no need
    args = ["prune", "--data-dir", str(place["data"]), "--artifacts-dir", str(place["artifacts"])]
    assert main([*args, "--keep-runs", "1"]) == 0  # the newest run is `later`: nothing to remove
    assert "nothing to remove: every version is needed" in capsys.readouterr().out
    assert main([*args, "--keep-runs", "0"]) == 0
    dry = capsys.readouterr().out
    assert names(place) == sorted([first.name, fourth.name, fifth.name, sixth.name])  # a dry run removes nothing
    assert "would remove 1 version(s)" in dry and "rerun with --yes" in dry
    assert [line.split()[0] for line in dry.splitlines() if line.endswith("nothing: would be removed")] == [
        fourth.name]
    assert main([*args, "--keep-runs", "0", "--yes"]) == 0
    assert "removed 1 version(s)" in capsys.readouterr().out
    assert names(place) == sorted([first.name, fifth.name, sixth.name]) and first.is_dir()


def test_a_resumable_run_keeps_its_version_and_resumes_on_it(place):
    first = ingest(place, seed=1)
    run_dir = runs.run_dir(place["artifacts"], "killed", "jena_conv")
    record_run_dataset(run_dir, "jena", first)  # what train_model writes before its first epoch, then was killed
    later = [ingest(place, seed) for seed in (2, 3, 4)]

    assert first.is_dir(), "the version an unfinished run trains on was deleted"
    assert not later[0].exists()
    needs = {v.name: v.needed_by for v in retention.needs_of(place["processed"], "jena", place["artifacts"])}
    assert needs[first.name] == ["unfinished run killed/jena_conv (resumable)"]

    training = train_model(resolve_settings("jena_conv", "smoke", TINY), place["data"], run_dir, "killed")
    assert Path(training["data"]["path"]) == first.resolve()  # resumed on its own version, not the published one

    _, removed = retention.prune(place["processed"], "jena", place["artifacts"],
                                 retention.RetentionSettings(newest_runs=0))  # finished now; no newest runs kept
    assert [v.name for v in removed] == [first.name] and not first.exists()


def test_a_run_whose_version_is_gone_is_not_resumed_on_other_data(place):
    first, second = ingest(place, seed=1), ingest(place, seed=2)
    run_dir = runs.run_dir(place["artifacts"], "orphan", "jena_conv")
    record_run_dataset(run_dir, "jena", first)
    shutil.rmtree(first)  # as a user's `rm -r` would take it
    with pytest.raises(SettingsError, match="cannot be resumed on the same data; train with a new run id"):
        train_model(resolve_settings("jena_conv", "smoke", TINY), place["data"], run_dir, "orphan")
    assert second.is_dir()


def test_an_unreadable_registry_prunes_nothing(place):
    first, second, third = (ingest(place, seed) for seed in (1, 2, 3))
    assert not first.exists()
    registry = runs.registry_dir(place["artifacts"])
    registry.mkdir(parents=True)
    (registry / "jena_conv.json").write_text("{not json")
    fourth = ingest(place, seed=4)  # published; `second` needed by nothing, but no champion can be known
    assert second.is_dir() and names(place) == sorted([second.name, third.name, fourth.name])
    assert main(["prune", "--data-dir", str(place["data"]), "--artifacts-dir", str(place["artifacts"]),
                 "--yes"]) == 1
    assert second.is_dir()


def test_a_version_still_being_validated_is_not_pruned(place):
    first = ingest(place, seed=1)
    csv = write_station_file(place["root"] / "sources" / "new", "mpi_roof_2024a.csv", "2024-01-01 00:10:00", 2400,
                             quoted_header=True, padded=True, crlf=False, seed=9)
    building = normalize_jena_files.fn("jena", [{"name": csv.name, "sha256": file_sha256(csv), "csv": str(csv)}],
                                       place["root"] / "raw.json", place["processed"])  # not published yet
    _, removed = retention.prune(place["processed"], "jena", place["artifacts"])
    assert removed == [] and building.is_dir() and first.is_dir()


def test_retention_settings_are_checked(monkeypatch):
    monkeypatch.setenv(retention.KEEP_RUNS_ENV, "few")
    with pytest.raises(SettingsError, match="SEQCONV_KEEP_RUNS"):
        retention.retention_from_env()
    with pytest.raises(SettingsError, match="newest_runs=-1"):
        retention.retention_from_env(-1)
    monkeypatch.setenv(retention.KEEP_RUNS_ENV, "5")
    assert retention.retention_from_env().newest_runs == 5 and retention.retention_from_env(2).newest_runs == 2
