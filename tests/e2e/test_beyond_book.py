"""Beyond the book (issue 19): jena_tcn and imdb_dilated go through train-all, trained, judged, reported and
exported for serving like the published models, but only when `--models` names them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.core.config import DEFAULT_MODELS, MODEL_FAMILY, MODELS

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
BEYOND = ["jena_tcn", "imdb_dilated"]
STATION_FILES = ["mpi_roof_2024a.csv", "mpi_roof_2024b.csv"]


def test_the_default_list_is_the_books_three_and_the_new_models_are_known():
    assert list(DEFAULT_MODELS) == ["imdb_conv", "jena_conv", "jena_conv_gru"]
    assert set(BEYOND) <= set(MODELS) - set(DEFAULT_MODELS)
    assert [MODEL_FAMILY[m] for m in BEYOND] == ["jena", "imdb"]


@pytest.fixture(scope="module")
def beyond_run(fixture_mirror, tmp_path_factory):
    """`python -m flows.train_all --profile smoke --models jena_tcn imdb_dilated`, in a process of its own (its
    own temporary Prefect server), on the fixture mirror."""
    base = tmp_path_factory.mktemp("beyond")
    mirror = base / "mirror"
    shutil.copytree(fixture_mirror, mirror)
    data, artifacts = base / "data", base / "artifacts"
    result = subprocess.run(
        [sys.executable, "-m", "flows.train_all", "--profile", "smoke", "--mirror", str(mirror),
         "--jena-files", *STATION_FILES, "--data-dir", str(data), "--artifacts-dir", str(artifacts),
         "--models", *BEYOND],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {"stdout": result.stdout, "data": data, "artifacts": artifacts}


def test_train_all_trains_judges_and_reports_only_the_models_it_names(beyond_run):
    runs = [p for p in (beyond_run["artifacts"] / "runs").iterdir() if p.is_dir()]
    assert len(runs) == 1
    trained = sorted(p.name for p in runs[0].iterdir() if (p / "metrics.json").is_file())
    assert trained == sorted(BEYOND)  # none of the book's three
    report = (runs[0] / "report.md").read_text()
    for model in BEYOND:
        assert f"| {model} |" in report
    for model in DEFAULT_MODELS:
        assert f"| {model} |" not in report
    assert "2 models trained" in beyond_run["stdout"]


@pytest.mark.parametrize("model", BEYOND)
def test_each_new_model_is_judged_against_its_familys_baselines_and_exported_for_serving(beyond_run, model):
    run_dir = next((beyond_run["artifacts"] / "runs").iterdir()) / model
    metrics = json.loads((run_dir / "metrics.json").read_text())
    settings = json.loads((run_dir / "settings.json").read_text())
    assert metrics["model"] == settings["model"] == model and settings["profile"] == "smoke"
    baselines = ("persistence", "mean") if model == "jena_tcn" else ("majority", "bag_of_words")
    assert set(baselines) <= set(metrics["baselines"])
    assert metrics["validation"] and metrics["test"] and isinstance(metrics["blessed"], bool)
    assert (run_dir / "model.keras").is_file() and (run_dir / "history.csv").is_file()
    assert (run_dir / "serving").is_dir()
    if model == "jena_tcn":  # the split auto chose for the station pair, and the window the model was built for
        assert settings["split"] in ("blocked", "contiguous") and settings["split_reason"]
        assert (run_dir / "normalization.json").is_file()


def test_predict_forecasts_with_a_jena_tcn_run_folder(beyond_run, tmp_path):
    run_dir = next((beyond_run["artifacts"] / "runs").iterdir()) / "jena_tcn"
    readings = beyond_run["data"] / "raw" / STATION_FILES[1]
    out = tmp_path / "forecast.csv"
    result = subprocess.run(
        [sys.executable, "-m", "flows.predict", "jena", "--model-dir", str(run_dir), "--files", str(readings),
         "--data-dir", str(beyond_run["data"]), "--artifacts-dir", str(tmp_path / "artifacts"), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert out.is_file() and len(out.read_text().splitlines()) > 1


def test_predict_judges_raw_reviews_with_an_imdb_dilated_run_folder(beyond_run, tmp_path):
    run_dir = next((beyond_run["artifacts"] / "runs").iterdir()) / "imdb_dilated"
    out = tmp_path / "reviews.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "flows.predict", "imdb", "--model-dir", str(run_dir),
         "--text", "A wonderful, moving film with superb acting.", "--text", "Dull, and far too long.",
         "--data-dir", str(beyond_run["data"]), "--artifacts-dir", str(tmp_path / "artifacts"), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["row"] for row in rows] == [1, 2]
    assert all(row["label"] in ("positive", "negative") and 0 <= row["probability"] <= 1 for row in rows)
