"""A user's label names everywhere: a two-label dataset whose labels are "ham" and "spam" is trained, judged, drawn,
reported and predicted with, and every one of them names its labels as the data does, never negative/positive.
Real files: the texts published as the text_files reader publishes them, a real (tiny) model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tasks.core import runs
from tasks.core.datasets import user_spec
from tasks.core.profiles import resolve_settings
from tasks.core.records.metrics import label_names
from tests.support.published import publish_texts
from tests.support.text_corpus import write_spec

pytestmark = pytest.mark.unit
SIGNAL = {"spam": ["winner", "prize", "free", "claim", "offer"], "ham": ["meeting", "lunch", "report", "family"]}
FILLER = ["the", "a", "my", "today", "it", "is", "and", "we", "please", "this", "with", "your"]
TINY = {"epochs": "2", "batch_size": "32", "max_train_samples": "0", "max_test_samples": "0"}


def messages(n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = ("ham", "spam")[i % 2]
        words = list(rng.choice(FILLER, size=6)) + list(rng.choice(SIGNAL[label], size=3))
        rng.shuffle(words)
        rows.append((" ".join(words), label))
    return rows


@pytest.fixture(scope="module")
def spam_run(tmp_path_factory):
    from tasks.judge.evaluate import evaluate_model
    from tasks.model.train import train_model

    base = tmp_path_factory.mktemp("spamham")
    user_spec(write_spec(base, "spamham", "messages.csv"))  # known by name in this process, as the CLI makes it
    publish_texts(base / "data" / "processed" / "spamham", "spamham", messages(300))
    run_dir = runs.run_dir(base / "artifacts", "r1", "imdb_conv@spamham")
    train_model(resolve_settings("imdb_conv@spamham", "smoke", TINY), base / "data", run_dir, "r1")
    metrics = evaluate_model(run_dir, base / "data", run_dir)
    return base, run_dir, metrics


def test_the_metrics_record_the_labels_as_the_data_names_them(spam_run):
    _, run_dir, metrics = spam_run
    assert metrics["labels"] == ["ham", "spam"]  # sorted, as the data names them: label 0, label 1
    assert json.loads((run_dir / "metrics.json").read_text())["labels"] == ["ham", "spam"]
    assert label_names(metrics) == ("ham", "spam")
    assert label_names({"test": {"confusion_matrix": [[1, 0], [0, 1]]}}) == ("negative", "positive")  # older file
    profile = json.loads((run_dir / runs.DATA_PROFILE).read_text())  # drift's reference, by label name
    assert profile["dataset"] == "spamham" and set(profile["label_shares"]) == {"ham", "spam"}
    assert sum(profile["label_shares"].values()) == pytest.approx(1)


def test_the_figures_name_the_labels(spam_run, monkeypatch):
    import tasks.publish.text as publish_text
    from tasks.publish.figures import plot_evaluation

    drawn = {}
    for name in ("plot_confusion_matrix", "plot_roc"):
        real = getattr(publish_text, name)

        def spy(*args, real=real, name=name, **kwargs):
            drawn[name] = kwargs.get("labels")
            return real(*args, **kwargs)
        monkeypatch.setattr(publish_text, name, spy)
    _, run_dir, _ = spam_run
    paths = plot_evaluation(run_dir)
    assert {p.name for p in paths} >= {"roc.png", "confusion.png"}
    assert drawn == {"plot_confusion_matrix": ("ham", "spam"), "plot_roc": ("ham", "spam")}


def test_the_report_names_the_labels_of_its_confusion_matrix(spam_run):
    from tasks.publish.report import report_markdown

    _, run_dir, metrics = spam_run
    text = report_markdown([{"metrics": metrics, "run_dir": str(run_dir)}], "r1", "smoke")
    line = next(line for line in text.splitlines() if line.startswith("- Test accuracy"))
    matrix = metrics["test"]["confusion_matrix"]
    assert ("Confusion matrix (rows true, columns predicted, labels ham, spam): "
            f"{matrix[0][0]} {matrix[0][1]}; {matrix[1][0]} {matrix[1][1]}.") in line
    assert "negative" not in text and "positive" not in text.replace("false positive", "")


def test_predictions_and_a_baselines_answer_name_the_labels(spam_run):
    from tasks.serve.predict import baseline_answer
    from tasks.serve.text import predict_reviews_from

    base, run_dir, metrics = spam_run
    rows = predict_reviews_from(run_dir, ["claim your free prize winner", "lunch meeting about the report"],
                                base / "predictions")
    assert [r["label"] for r in rows] == ["spam", "ham"]  # two epochs learn the signal words
    written = (base / "predictions" / "predictions.csv").read_text(encoding="utf-8")
    assert ",spam," in written and ",ham," in written
    record = {"baseline": "majority", "baselines": {"majority": {"predicted_class": 1}}}
    assert baseline_answer(rows[0], record, run_dir) == "spam"
    record["baselines"]["majority"]["predicted_class"] = 0
    assert baseline_answer(rows[0], record, run_dir) == "ham"
