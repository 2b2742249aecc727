"""Content of the Prefect artifacts: metrics table, report, validation results, plots; keys; no-op publishing."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

import tasks.publish.artifacts as report  # the publishing functions, and plots_markdown's MAX_EMBEDDED_PNG
from tasks.core.errors import DataFormatError
from tasks.publish.artifacts import METRICS_TABLE_KEY, REPORT_KEY, plots_key, plots_markdown, validation_key
from tasks.publish.report import metrics_table_rows, report_markdown
from tasks.publish.validation import validation_markdown
from tasks.core.artifacts import ARTIFACT_KEY_PATTERN, artifact_key
from tasks.core.tables import describe_months
from tasks.model.progress import ProgressReporter, epoch_description, progress_key
from tasks.publish.curves import plot_training_curves
from tasks.publish.plots import plot_confusion_matrix
from tasks.ingest.suite_runner import SuiteResult, results_to_json

pytestmark = pytest.mark.unit

IMDB = {
    "model": "imdb_conv", "profile": "smoke", "run_id": "20261128-120000-ab12", "epochs_planned": 3,
    "epochs_run": 3, "best_epoch": 2, "monitor": "val_accuracy",
    "validation": {"reviews": 300, "accuracy": 0.88123, "roc_auc": 0.94},
    "test": {"reviews": 500, "accuracy": 0.8711, "roc_auc": 0.93},
    "baselines": {"majority": {"val": {"accuracy": 0.5}, "test": {"accuracy": 0.5}},
                  "bag_of_words": {"val": {"accuracy": 0.862}, "test": {"accuracy": 0.85}}},
    "blessing": {"blessed": True, "baseline": "bag_of_words", "baseline_value": 0.862, "margin": 0.005,
                 "reason": "val accuracy 0.8812 beats bag_of_words 0.862 by 0.005: blessed"},
    "blessed": True, "device": "CPU (2 cores)", "training_seconds": 30.0, "seconds_per_epoch": 10.0,
    "data": {"sha256": "a" * 64}, "git_commit": "abc123",
}
JENA = {
    "model": "jena_conv", "profile": "smoke", "run_id": "20261128-120000-ab12", "epochs_planned": 2,
    "epochs_run": 2, "best_epoch": 1, "monitor": "val_loss",
    "validation": {"mae": 0.452, "mae_celsius": 3.84, "windows": 64},
    "test": {"mae": 0.47, "mae_celsius": 4.0, "windows": 64},
    "baselines": {"persistence": {"val": {"mae": 0.29, "mae_celsius": 2.47}, "test": {"mae": 0.3}},
                  "mean": {"val": {"mae": 0.88}, "test": {"mae": 0.9}}},
    "blessing": {"blessed": False, "baseline": "persistence", "baseline_value": 0.29, "margin": 0.005,
                 "reason": "val MAE 0.452 does not beat persistence 0.29 by 0.005: not blessed"},
    "blessed": False, "device": "CPU (2 cores)", "training_seconds": 4.0, "seconds_per_epoch": 2.0,
    "data": {"sha256": "b" * 64}, "git_commit": "abc123",
}
RESULTS = [
    {"metrics": IMDB, "promotion": {"model": "imdb_conv", "run_id": IMDB["run_id"], "promoted": True,
                                    "reason": "val accuracy 0.8812 beats champion 20261127-0900-cd34's 0.874",
                                    "metric": "val accuracy", "candidate_value": 0.88123,
                                    "champion_run_id": IMDB["run_id"], "champion_value": 0.88123,
                                    "previous_champion_run_id": "20261127-0900-cd34"}},
    {"metrics": JENA, "promotion": {"model": "jena_conv", "run_id": JENA["run_id"], "promoted": False,
                                    "reason": "not blessed: val MAE 0.452 does not beat persistence 0.29 by 0.005",
                                    "metric": "val MAE", "candidate_value": 0.452, "champion_run_id": "old-1",
                                    "champion_value": 0.27, "previous_champion_run_id": "old-1"}},
]


def test_metrics_table_has_one_row_per_model_with_the_same_columns():
    rows = metrics_table_rows(RESULTS)
    assert [r["model"] for r in rows] == ["imdb_conv", "jena_conv"]
    assert list(rows[0]) == list(rows[1])  # one header for the whole table
    imdb, jena = rows
    assert imdb["metric"] == "accuracy" and imdb["val"] == "0.8812" and imdb["test"] == "0.8711"
    assert imdb["val_normalized"] == 0.8812 and imdb["test_normalized"] == 0.8711
    assert imdb["val_majority"] == "0.5" and imdb["val_bag_of_words"] == "0.862" and imdb["val_persistence"] is None
    assert imdb["blessed"] is True and imdb["promoted"] is True and imdb["champion_val"] == 0.8812
    # Jena in °C first, the normalized MAE beside it
    assert jena["metric"] == "MAE °C" and jena["val"] == "3.84 °C (0.452)" and jena["test"] == "4.00 °C (0.47)"
    assert jena["val_normalized"] == 0.452 and jena["test_normalized"] == 0.47
    assert jena["val_persistence"] == "2.47 °C (0.29)" and jena["val_mean"] == "0.88"
    assert jena["val_majority"] is None
    assert jena["blessed"] is False and jena["promoted"] is False
    assert jena["champion_run_id"] == "old-1" and jena["champion_val"] == 0.27
    assert (jena["best_epoch"], jena["epochs_run"], jena["seconds_per_epoch"], jena["device"]) == (
        1, 2, 2.0, "CPU (2 cores)")


def test_metrics_table_without_a_registry_step_leaves_promotion_empty():
    [row] = metrics_table_rows([{"metrics": IMDB, "promotion": None}])
    assert row["promoted"] is None and row["champion_run_id"] is None


def test_report_states_every_verdict_and_its_reason():
    text = report_markdown(RESULTS, "20261128-120000-ab12", "smoke")
    assert "20261128-120000-ab12" in text and "`smoke`" in text
    assert "2 models trained; 1 blessed" in text and "1 promoted" in text
    for item in RESULTS:
        assert f"## {item['metrics']['model']}" in text
        assert item["metrics"]["blessing"]["reason"] in text
        assert item["promotion"]["reason"] in text
    assert "**Blessed: yes.**" in text and "**Blessed: no.**" in text
    assert "**Promoted: yes.**" in text and "**Promoted: no.**" in text
    assert "| imdb_conv | accuracy | 0.8812 | 0.8711 | bag_of_words 0.862 | yes | yes |" in text
    assert "| jena_conv | MAE | 3.84 °C (0.452) | 4.00 °C (0.47) | persistence 2.47 °C (0.29) | no | no |" in text
    assert "Test MAE 4.00 °C (0.47 normalized) over 64 windows" in text


def test_report_says_reused_not_trained_and_how_to_train_again():
    reused = [{**item, "reused": True} for item in RESULTS]
    text = report_markdown(reused, "r2", "quick")
    headline = text.split("\n")[2]
    assert "trained" not in headline.split(";")[0] and "2 reused" in headline and "`--force`" in text and "`force=true`" in text
    assert "imdb_conv (reused)" in text


def test_report_never_says_a_champion_was_kept_when_there_is_none():
    first = [{"metrics": JENA, "promotion": {**RESULTS[1]["promotion"], "champion_run_id": None,
                                             "champion_value": None, "previous_champion_run_id": None}}]
    text = report_markdown(first, "r3", "quick")
    assert "kept" not in text and "| none yet |" in text


def test_report_says_when_no_promotion_was_decided():
    text = report_markdown([{"metrics": JENA, "promotion": None}], "r1", "quick")
    assert "**Promoted: not decided.**" in text and "1 model trained" in text


JENA_SPLITS = {  # measured on the 2024 station files, 28-day blocks, lookback 1440, delay 144
    "train": {"rows": 19536, "ranges": 3, "windows": 14784, "purged_windows": 3168,
              "months": ["2024-01", "2024-02", "2024-04", "2024-05", "2024-08", "2024-09"],
              "windows_by_season": {"DJF": 4896, "MAM": 3408, "JJA": 2880, "SON": 3600}},
    "val": {"rows": 11068, "ranges": 3, "windows": 6316, "purged_windows": 3168,
            "months": ["2024-02", "2024-03", "2024-06", "2024-07", "2024-09", "2024-10"],
            "windows_by_season": {"DJF": 576, "MAM": 1872, "JJA": 1947, "SON": 1921}},
    "test": {"rows": 8064, "ranges": 2, "windows": 4896, "purged_windows": 3168,
             "months": ["2024-03", "2024-04", "2024-07"], "windows_by_season": {"MAM": 2448, "JJA": 2448}},
}


def test_months_read_as_runs_with_their_year():
    assert describe_months(["2024-01", "2024-02", "2024-04", "2024-05", "2024-08"]) == "Jan-Feb, Apr-May, Aug 2024"
    assert describe_months(["2023-11", "2023-12", "2024-01", "2024-03", "2025-06"]) == (
        "Nov 2023-Jan 2024; Mar 2024; Jun 2025")
    assert describe_months([]) == ""


def test_report_has_a_split_table_for_jena_and_none_for_imdb():
    jena = {**JENA, "splits": JENA_SPLITS,
            "settings": {"split": "blocked", "block_days": 28, "block_pattern": "train,train,val,test"}}
    imdb = {**IMDB, "splits": {"train": {"reviews": 20000}, "val": {"reviews": 5000}, "test": {"reviews": 25000}}}
    text = report_markdown([{"metrics": jena, "promotion": None}, {"metrics": imdb, "promotion": None}], "r", "seed")
    assert ("Split `blocked`: 28-day blocks of the calendar dealt train,train,val,test, repeating; no window reads "
            "another split's rows, which costs 9,504 of the 35,500 windows the record holds without split "
            "boundaries (27%).") in text
    assert "| split | rows | windows | purged windows | months | windows by season of the target |" in text
    assert ("| train | 19,536 | 14,784 | 3,168 | Jan-Feb, Apr-May, Aug-Sep 2024 "
            "| DJF 4,896, MAM 3,408, JJA 2,880, SON 3,600 |") in text
    assert "| test | 8,064 | 4,896 | 3,168 | Mar-Apr, Jul 2024 | MAM 2,448, JJA 2,448 |" in text
    assert text.count("| split | rows |") == 1  # IMDB's splits are reviews, not a table of windows
    contiguous = report_markdown([{"metrics": {**jena, "settings": {"split": "contiguous"}}, "promotion": None}],
                                 "r", "seed")
    assert "Split `contiguous` (the book's)" in contiguous


def write_validation(folder: Path, dataset: str, stage: str, results: list[SuiteResult]) -> Path:
    path = folder / f"{dataset}.{stage}.json"
    path.write_text(results_to_json(dataset, stage, results))
    return path


LABELS_NOT_BINARY = {  # a hard finding as tasks.ingest.suite_runner._describe writes it
    "expectation": "expect_column_values_to_be_in_set", "why": "labels are 0/1", "column": "label",
    "arguments": {"value_set": [0, 1]}, "unexpected_count": 3, "unexpected_percent": 0.012,
    "examples": [2, 2, 7], "observed": None,
}
ROW_COUNT = {
    "expectation": "expect_table_row_count_to_equal", "why": "25,000 reviews per split", "column": None,
    "arguments": {"value": 25000}, "unexpected_count": None, "unexpected_percent": None, "examples": [],
    "observed": 24999,
}
SENTINELS = {
    "expectation": "expect_column_values_to_not_be_in_set", "why": "-9999 marks a missing reading (repaired)",
    "column": "wv (m/s)", "arguments": {"value_set": [-9999.0]}, "unexpected_count": 2, "unexpected_percent": 0.1,
    "examples": [-9999.0, -9999.0], "observed": None,
}


def test_validation_markdown_shows_fail_with_counts_and_examples(tmp_path):
    raw = write_validation(tmp_path, "imdb", "raw", [
        SuiteResult("imdb.raw", "train", 25_000, failed_hard=[LABELS_NOT_BINARY, ROW_COUNT], evaluated=6),
        SuiteResult("imdb.raw", "test", 25_000, failed_soft=[SENTINELS], evaluated=6),
    ])
    text = validation_markdown("imdb", [raw, tmp_path / "imdb.normalized.json"])
    assert text.splitlines()[0] == "# Validation of imdb: FAIL"
    assert "1 of 2 stages ran; 12 expectations evaluated, 2 failed hard" in text and "1 failed soft" in text
    assert "## raw: FAIL" in text and "## normalized: not run" in text
    assert "| train | imdb.raw | 25,000 | 6 | 2 | 0 | FAIL |" in text
    assert "| test | imdb.raw | 25,000 | 6 | 0 | 1 | PASS |" in text
    assert "| **hard** | train | label | expect_column_values_to_be_in_set | labels are 0/1 | 3 of 25,000 rows" in text
    assert "[2, 2, 7]" in text and "observed 24999" in text
    assert "| soft | test | wv (m/s) |" in text


def test_validation_markdown_passes_when_every_stage_passed(tmp_path):
    paths = [write_validation(tmp_path, "jena", stage, [SuiteResult(f"jena.{stage}", "jena.parquet", 10,
                                                                    evaluated=4)])
             for stage in ("raw", "normalized")]
    text = validation_markdown("jena", paths)
    assert text.startswith("# Validation of jena: PASS") and "FAIL" not in text
    assert "## raw: PASS" in text and "## normalized: PASS" in text


def test_validation_markdown_refuses_a_corrupt_report(tmp_path):
    bad = tmp_path / "imdb.raw.json"
    bad.write_text("{")
    with pytest.raises(DataFormatError, match="imdb.raw.json is not valid JSON"):
        validation_markdown("imdb", [bad])


def test_plots_markdown_embeds_every_png_as_a_decodable_data_uri(tmp_path):
    history = {"accuracy": [0.6, 0.8], "val_accuracy": [0.7, 0.75], "loss": [0.6, 0.4], "val_loss": [0.5, 0.45]}
    curves = plot_training_curves(history, tmp_path / "curves.png", title="t", metric="accuracy",
                                  metric_label="Accuracy")
    confusion = plot_confusion_matrix([[5, 1], [2, 6]], tmp_path / "confusion.png", title="t")
    (tmp_path / "metrics.json").write_text("{}")

    text = plots_markdown(tmp_path, "imdb_conv")
    images = re.findall(r"!\[(\w+)\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", text)
    assert [name for name, _ in images] == ["curves", "confusion"]  # curves first, as PLOT_TITLES orders them
    assert [base64.b64decode(data, validate=True) for _, data in images] == [curves.read_bytes(),
                                                                           confusion.read_bytes()]
    assert "## Training curves" in text and "## Confusion matrix on the test set" in text


def test_plots_markdown_names_what_it_cannot_embed(tmp_path, monkeypatch):
    (tmp_path / "fake.png").write_bytes(b"not a png")
    assert "`fake.png` is not a PNG" in plots_markdown(tmp_path, "m")
    assert "No plots" in plots_markdown(tmp_path / "empty", "m")
    plot_confusion_matrix([[5, 1], [2, 6]], tmp_path / "confusion.png", title="t")
    monkeypatch.setattr(report, "MAX_EMBEDDED_PNG", 100)
    assert "too large to embed" in plots_markdown(tmp_path, "m")


def test_keys_are_stable_and_valid():
    keys = [METRICS_TABLE_KEY, REPORT_KEY, validation_key("imdb"), validation_key("jena"), plots_key("imdb_conv"),
            plots_key("jena_conv_gru_fast"), progress_key("jena_conv")]
    assert keys == ["train-all-metrics", "train-all-report", "validation-imdb", "validation-jena",
                    "plots-imdb-conv", "plots-jena-conv-gru-fast", "training-progress-jena-conv"]
    assert all(re.fullmatch(ARTIFACT_KEY_PATTERN, k) for k in keys)
    assert artifact_key("Train", "ALL  metrics!") == "train-all-metrics"


def test_epoch_description():
    assert epoch_description(3, 10, {"val_loss": 0.3112, "loss": 0.25, "lr": True}) == (
        "epoch 3/10 loss=0.25 val_loss=0.3112")
    assert epoch_description(1, 2) == "epoch 1/2"


def test_publishing_outside_a_prefect_run_does_nothing():
    assert report.publish_metrics_table(metrics_table_rows(RESULTS)) is None
    assert report.publish_report("# r") is None
    assert report.publish_validation("imdb", "# v") is None
    assert report.publish_plots("imdb_conv", "# p") is None
    progress = ProgressReporter(progress_key("jena_conv"), total=2)
    progress.update(1, "epoch 1/2")
    progress.update(2, "epoch 2/2")
    assert progress.artifact_id is None
