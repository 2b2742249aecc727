"""The Prefect artifacts of a run, published by a real flow to the test server and read back through its API.

Whether the UI shows them (pictures included) was checked by eye with headless Chromium: docs/ui-plots-artifact.png
and scripts/ui_screenshot.sh. Here: each artifact kind arrives with its stable key, type and content.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from prefect import flow, task

from tasks.model import progress as training_progress
from tasks.publish import artifacts, curves, plots, report
from tasks.publish.validation import validation_markdown
from tasks.judge.registry import promote_model
from tasks.ingest.suite_runner import SuiteResult, results_to_json

pytestmark = pytest.mark.e2e

HISTORY = {"accuracy": [0.6, 0.8], "val_accuracy": [0.7, 0.75], "loss": [0.6, 0.4], "val_loss": [0.5, 0.45]}
METRICS = {
    "model": "imdb_conv", "profile": "smoke", "run_id": "e2e-run", "epochs_planned": 2, "epochs_run": 2,
    "best_epoch": 2, "monitor": "val_accuracy",
    "validation": {"reviews": 300, "accuracy": 0.75, "roc_auc": 0.8},
    "test": {"reviews": 500, "accuracy": 0.74, "roc_auc": 0.79},
    "baselines": {"majority": {"val": {"accuracy": 0.5}, "test": {"accuracy": 0.5}},
                  "bag_of_words": {"val": {"accuracy": 0.7}, "test": {"accuracy": 0.69}}},
    "blessing": {"blessed": True, "baseline": "bag_of_words", "baseline_value": 0.7, "margin": 0.005,
                 "reason": "val accuracy 0.75 beats bag_of_words 0.7 by 0.005: blessed"},
    "blessed": True, "device": "CPU (2 cores)", "seconds_per_epoch": 1.5, "data": {"sha256": "c" * 64},
    "git_commit": "abc123",
}
FAILED_LABELS = {
    "expectation": "expect_column_values_to_be_in_set", "why": "labels are 0/1", "column": "label",
    "arguments": {"value_set": [0, 1]}, "unexpected_count": 3, "unexpected_percent": 0.012, "examples": [2, 2, 7],
    "observed": None,
}


def fake_run(folder: Path) -> Path:
    """A finished imdb_conv run folder: metrics.json, model.keras and two real plots."""
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(METRICS))
    (folder / "model.keras").write_bytes(b"stand-in")
    curves.plot_training_curves(HISTORY, folder / "curves.png", title="imdb_conv: training curves",
                                metric="accuracy", metric_label="Accuracy")
    plots.plot_confusion_matrix([[120, 30], [45, 105]], folder / "confusion.png", title="imdb_conv: confusion")
    return folder


@task
def train_with_progress(epochs: int) -> None:
    """Stands in for training: one progress update per epoch."""
    progress = training_progress.ProgressReporter(training_progress.progress_key("imdb_conv"), total=epochs)
    for epoch in range(1, epochs + 1):
        progress.update(epoch, training_progress.epoch_description(epoch, epochs, {"val_loss": 0.5 / epoch}))


@flow(name="publish-artifacts-e2e")
def publish_everything(run_dir: str, registry_dir: str, validation_report: str) -> None:
    train_with_progress(2)
    promotion = promote_model(Path(registry_dir), "imdb_conv", Path(run_dir))
    results = [{"metrics": METRICS, "promotion": promotion}]
    artifacts.publish_metrics_table(report.metrics_table_rows(results))
    artifacts.publish_report(report.report_markdown(results, "e2e-run", "smoke"))
    artifacts.publish_validation("imdb", validation_markdown("imdb", [Path(validation_report)]))
    artifacts.publish_plots("imdb_conv", artifacts.plots_markdown(Path(run_dir), "imdb_conv"))


def latest(key: str):
    """The newest artifact with `key`, read through the Prefect API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                                      sort=ArtifactSort.CREATED_DESC, limit=1)
    assert found, f"no artifact with key {key!r}"
    return found[0]


def test_a_flow_publishes_every_artifact_kind(prefect_harness, tmp_path):
    run_dir = fake_run(tmp_path / "runs" / "e2e-run" / "imdb_conv")
    validation = tmp_path / "imdb.raw.json"
    validation.write_text(results_to_json("imdb", "raw", [
        SuiteResult("imdb.raw", "train", 25_000, failed_hard=[FAILED_LABELS], evaluated=6)]))

    publish_everything(str(run_dir), str(tmp_path / "registry"), str(validation))

    table = latest("train-all-metrics")
    assert table.type == "table"
    [row] = json.loads(table.data)
    assert row["model"] == "imdb_conv" and row["val"] == "0.75" and row["val_normalized"] == 0.75
    assert row["promoted"] is True and row["champion_run_id"] == "e2e-run" and row["val_bag_of_words"] == "0.7"

    markdown = latest("train-all-report")
    assert markdown.type == "markdown"
    assert "**Promoted: yes.** first champion" in markdown.data and METRICS["blessing"]["reason"] in markdown.data

    checks = latest("validation-imdb")
    assert checks.type == "markdown" and checks.data.startswith("# Validation of imdb: FAIL")
    assert "3 of 25,000 rows" in checks.data

    plots = latest("plots-imdb-conv")
    assert plots.type == "markdown" and plots.flow_run_id is not None
    images = re.findall(r"!\[(\w+)\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", plots.data)
    assert [name for name, _ in images] == ["curves", "confusion"]
    assert base64.b64decode(images[0][1]) == (run_dir / "curves.png").read_bytes()

    progress = latest("training-progress-imdb-conv")
    assert progress.type == "progress" and progress.data == 100.0
    assert progress.description == "epoch 2/2 val_loss=0.25" and progress.task_run_id is not None

    assert json.loads((tmp_path / "registry" / "imdb_conv.json").read_text())["run_id"] == "e2e-run"
