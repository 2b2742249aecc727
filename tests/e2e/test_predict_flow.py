"""Predicting with saved models, as a user does: the CLI on raw reviews and on station files, the flow's Prefect
artifacts, and every bad input answered with one clear line."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.core.profiles import resolve_settings
from tasks.judge.evaluate import evaluate_model
from tasks.judge.registry import promote
from tasks.model.train import train_model

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _predict(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "flows.predict", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def models(ingested_data, tmp_path_factory):
    """A smoke imdb_conv registered as champion (as train-all does when it wins) and a smoke jena_conv_gru run."""
    artifacts = tmp_path_factory.mktemp("artifacts")
    dirs = {}
    for model in ("imdb_conv", "jena_conv_gru"):
        run_dir = artifacts / "runs" / "r1" / model
        train_model(resolve_settings(model, "smoke"), ingested_data, run_dir, "r1")
        dirs[model] = run_dir
    metrics = evaluate_model(dirs["imdb_conv"], ingested_data, dirs["imdb_conv"])
    promote(artifacts / "registry", "imdb_conv", metrics, dirs["imdb_conv"])
    return {"artifacts": artifacts, "data": ingested_data, **dirs}


def test_reviews_from_text_a_file_and_a_csv_in_input_order(models, tmp_path):
    common = ["--data-dir", str(models["data"]), "--artifacts-dir", str(models["artifacts"])]
    reviews = ["w20 not bad w30 w40 not bad w50 w60 not bad", "w20 bad not w30 w40 bad not w50 w60 bad not",
               "", "zzz qqq"]
    (tmp_path / "reviews.txt").write_text("\n".join(reviews) + "\n", encoding="utf-8")
    by_file = _predict("imdb", "--file", str(tmp_path / "reviews.txt"), "--out", str(tmp_path / "out.jsonl"), *common)
    assert by_file.returncode == 0, by_file.stderr
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["row"] for r in rows] == [1, 2, 3, 4]
    assert rows[0]["known_words"] == 11 and rows[3]["known_words"] == 0
    assert rows[2]["flag"] == "empty review" and rows[3]["flag"] == "no known words"
    assert all(0.0 <= r["probability"] <= 1.0 and r["label"] in ("positive", "negative") for r in rows)
    assert "probability" in by_file.stdout and "empty review" in by_file.stdout  # the table printed

    with open(tmp_path / "reviews.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["id", "text"], *[[i, r] for i, r in enumerate(reviews)]])
    by_csv = _predict("imdb", "--csv", str(tmp_path / "reviews.csv"), "--column", "text", "--out",
                      str(tmp_path / "out.csv"), *common)
    assert by_csv.returncode == 0, by_csv.stderr
    with open(tmp_path / "out.csv", newline="") as f:
        from_csv = list(csv.DictReader(f))
    assert [float(r["probability"]) for r in from_csv] == pytest.approx([r["probability"] for r in rows], abs=1e-6)

    by_text = _predict("imdb", "--text", reviews[0], *common)
    assert by_text.returncode == 0, by_text.stderr
    folder = Path(by_text.stdout.strip().splitlines()[-1])
    assert folder.parent.parent == models["artifacts"] / "predictions" and (folder / "predictions.csv").is_file()


def test_a_forecast_from_a_station_file_uses_the_models_statistics(models, fixture_mirror, tmp_path):
    station = fixture_mirror / "mpi_roof_2024b.csv"
    result = _predict("jena", "--model-dir", str(models["jena_conv_gru"]), "--files", str(station),
                      "--data-dir", str(models["data"]), "--artifacts-dir", str(models["artifacts"]),
                      "--out", str(tmp_path / "forecast.csv"))
    assert result.returncode == 0, result.stderr
    folder = Path(result.stdout.strip().splitlines()[-2])
    forecast = json.loads((folder / "forecast.json").read_text())
    assert (folder / "forecast.png").is_file() and len(forecast["rows"]) == 144  # every reading of the last 24 h
    headline = forecast["headline"]
    assert headline == forecast["rows"][-1] and headline["horizon_hours"] == pytest.approx(24.5)  # step 3
    assert "°C" in result.stdout and "persistence" in result.stdout
    with open(tmp_path / "forecast.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == 144


@pytest.mark.parametrize("case", ["csv without the column", "not utf-8", "model of another family",
                                  "no champion", "too few readings", "bad --out"])
def test_bad_input_gets_one_clear_line(case, models, tmp_path):
    common = ["--data-dir", str(models["data"]), "--artifacts-dir", str(models["artifacts"])]
    if case == "csv without the column":
        (tmp_path / "r.csv").write_text("id,review\n1,great\n", encoding="utf-8")
        args, code, message = ["imdb", "--csv", str(tmp_path / "r.csv"), "--column", "text"], 1, \
            "no column 'text'; the header has ['id', 'review']"
    elif case == "not utf-8":
        (tmp_path / "r.txt").write_bytes("good\nsehr gut, schön\n".encode("latin-1"))
        args, code, message = ["imdb", "--file", str(tmp_path / "r.txt")], 1, "line 2"
    elif case == "model of another family":
        args, code, message = ["imdb", "--text", "great", "--model-dir", str(models["jena_conv_gru"])], 2, \
            "holds a jena_conv_gru model (jena); `predict imdb` needs a imdb model"
    elif case == "no champion":
        args, code, message = ["jena"], 2, "no champion for jena_conv_gru"
    elif case == "too few readings":
        from tests.support import fixtures

        fixtures.write_station_file(tmp_path, "mpi_roof_2024a.csv", "2024-03-01 00:10:00", 50, quoted_header=True,
                                    padded=True, crlf=False)
        args, code, message = ["jena", "--model-dir", str(models["jena_conv_gru"]), "--files",
                               str(tmp_path / "mpi_roof_2024a.csv")], 1, "mpi_roof_2024a.csv: 50 reading(s)"
    else:
        args, code, message = ["imdb", "--text", "great", "--out", str(tmp_path / "x.parquet")], 2, "--out"
    result = _predict(*args, *common)
    assert result.returncode == code, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert "Traceback" not in result.stderr and len(errors) == 1, result.stderr
    assert message in errors[0]


def test_the_flow_publishes_its_result_as_an_artifact(models, fixture_mirror, prefect_harness):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.predict import predict_flow

    predict_flow(dataset="imdb", texts=["w20 not bad w30", "w20 bad not w30"], data_dir=str(models["data"]),
                 artifacts_dir=str(models["artifacts"]))
    predict_flow(dataset="jena", model_dir=str(models["jena_conv_gru"]),
                 files=[str(fixture_mirror / "mpi_roof_2024b.csv")], data_dir=str(models["data"]),
                 artifacts_dir=str(models["artifacts"]))
    with get_client(sync_client=True) as client:
        found = {a.key: a for a in client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["predictions-imdb", "forecast-jena"])))}
    assert found["predictions-imdb"].type == "table" and len(json.loads(found["predictions-imdb"].data)) == 2
    assert found["forecast-jena"].type == "markdown"
    assert "data:image/png;base64," in found["forecast-jena"].data and "°C" in found["forecast-jena"].data
