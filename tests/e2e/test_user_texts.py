"""Issue 24 part 1 end to end: a user's labelled texts (three labels, a CSV the test writes) through train-all
from a spec file alone: ingest, a vocabulary from the training split, imdb_conv on them with a softmax, judged
against majority and bag of words with accuracy, macro-F1 and a confusion matrix; its serving/ SavedModel takes
raw strings; predict reads a CSV of texts and names the labels. Bad data publishes nothing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from flows.predict import predict_flow
from flows.train_all import train_all_flow
from tasks.core.errors import DataFormatError
from tests.support.text_corpus import corpus, write_csv

pytestmark = pytest.mark.e2e
LABELS = ("billing", "bug", "praise")
SPEC = """name = "{name}"
kind = "text"
format = "text_files"
description = "support tickets, three labels"

[sources]
files = [{{ name = "{csv}" }}]

[text.files]
layout = "table"
fractions = {{ train = 0.7, val = 0.1, test = 0.2 }}

[text.vocabulary]
standardize = "lower_and_strip_punctuation"
max_tokens = 200

[settings]
num_words = 200
maxlen = 50
"""


def write_spec(folder: Path, name: str, csv_name: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(SPEC.format(name=name, csv=csv_name), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tickets(prefect_harness, tmp_path_factory):
    base = tmp_path_factory.mktemp("user-texts")
    write_csv(base / "tickets.csv", corpus(600, labels=3))
    spec = write_spec(base, "tickets", "tickets.csv")
    data, artifacts = base / "data", base / "artifacts"
    report = train_all_flow(profile="smoke", data_dir=str(data), artifacts_dir=str(artifacts), dataset=str(spec),
                            models=["imdb_conv"], train_on="local")
    return {"base": base, "data": data, "artifacts": artifacts, "report": Path(report)}


def test_the_version_holds_texts_and_the_training_vocabulary(tickets):
    import pyarrow.parquet as pq

    published = tickets["data"] / "processed" / "tickets"
    table = pq.read_table(published / "texts.parquet").to_pandas()
    assert len(table) == 600 and table["split"].value_counts().to_dict() == {"train": 420, "test": 120, "val": 60}
    vocabulary = json.loads((published / "vocabulary.json").read_text(encoding="utf-8"))
    assert vocabulary["labels"] == list(LABELS) and vocabulary["texts"] == 420
    assert vocabulary["tokens"][:2] == ["", "[UNK]"] and "invoice" in vocabulary["tokens"]
    assert (tickets["data"] / "specs" / "tickets.toml").is_file()  # found by name by any later process


def test_a_softmax_model_judged_with_macro_f1_and_a_confusion_matrix(tickets):
    text = tickets["report"].read_text(encoding="utf-8")
    assert "imdb_conv@tickets" in text and "macro-F1" in text and "Confusion matrix (rows true" in text
    run = next(tickets["artifacts"].glob("runs/*/imdb_conv@tickets"))
    metrics = json.loads((run / "metrics.json").read_text())
    test = metrics["test"]
    assert len(test["confusion_matrix"]) == 3 and sum(map(sum, test["confusion_matrix"])) == 120
    assert 0 <= test["macro_f1"] <= 1
    majority = metrics["baselines"]["majority"]["val"]
    assert majority["accuracy"] == pytest.approx(1 / 3)  # stratified: each label a third of every split
    assert metrics["validation"]["accuracy"] > majority["accuracy"]  # the signal words are learnt
    assert (run / "vocabulary.json").read_bytes() == (tickets["data"] / "processed" / "tickets" /
                                                      "vocabulary.json").read_bytes()
    assert (run / "confusion.png").is_file() or any(run.rglob("confusion.png"))


def test_serving_takes_raw_strings_and_predict_names_the_labels(tickets):
    import tensorflow as tf

    run = next(tickets["artifacts"].glob("runs/*/imdb_conv@tickets"))
    manifest = json.loads((run / "serving" / "serving.json").read_text())
    assert manifest["vocabulary"]["labels"] == list(LABELS) and manifest["output"]["shape"] == [None, 3]
    texts = ["the invoice was charged twice, refund please", "app crash error on start", "love it, thanks team"]
    served = tf.saved_model.load(str(run / "serving" / "saved_model")).signatures["serving_default"]
    probabilities = next(iter(served(reviews=tf.constant(texts)).values())).numpy()
    assert probabilities.shape == (3, 3) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)

    new = tickets["base"] / "new.csv"
    with new.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["text"], *[[t] for t in texts]])
    out = Path(predict_flow("tickets", model_dir=str(run), csv_file=str(new), data_dir=str(tickets["data"]),
                            artifacts_dir=str(tickets["artifacts"])))
    rows = list(csv.DictReader((out / "predictions.csv").open(encoding="utf-8")))
    assert [r["row"] for r in rows] == ["1", "2", "3"]
    assert [r["label"] for r in rows] == [LABELS[i] for i in probabilities.argmax(axis=1)]  # serving agrees
    assert np.allclose([float(r["probability"]) for r in rows], probabilities.max(axis=1), atol=1e-5)


def test_one_label_only_publishes_nothing(tickets):
    base = tickets["base"]
    write_csv(base / "one.csv", [(t, "bug") for t, _ in corpus(50)])
    spec = write_spec(base, "one_label", "one.csv")
    with pytest.raises(DataFormatError, match=r"one.csv.*one label only \('bug'\)"):
        train_all_flow(profile="smoke", data_dir=str(tickets["data"]), artifacts_dir=str(tickets["artifacts"]),
                       dataset=str(spec), models=["imdb_conv"], train_on="local")
    assert not (tickets["data"] / "processed" / "one_label").exists()
    assert not (tickets["data"] / "specs" / "one_label.toml").exists()


def test_a_local_folder_per_label_is_ingested_again_only_when_it_changes(prefect_harness, tmp_path):
    from flows.ingest import ingest_flow
    from tests.support.text_corpus import write_folders, write_spec as write_text_spec

    rows = corpus(240, labels=3)
    folder = write_folders(tmp_path / "tickets_tree", rows[:160], split="train")
    write_folders(folder, rows[160:], split="test")
    spec = write_text_spec(tmp_path, "tree", "tickets_tree", layout="folders")
    data = tmp_path / "data"

    first = Path(ingest_flow(str(spec), data_dir=str(data), artifacts_dir=str(tmp_path / "artifacts"))).resolve()
    table = pq.read_table(first / "texts.parquet").to_pandas()
    assert len(table) == 240 and set(table["label"]) == set(LABELS)
    assert (table["split"] == "test").sum() == 80  # the data's own test folder
    assert (data / "raw" / "tickets_tree" / "test" / "bug").is_dir()  # read from its snapshot

    again = Path(ingest_flow(str(spec), data_dir=str(data), artifacts_dir=str(tmp_path / "artifacts"))).resolve()
    assert again == first  # unchanged content: the same version

    (folder / "train" / "bug" / "99999.txt").write_text("the app shows an error and a crash", encoding="utf-8")
    changed = Path(ingest_flow(str(spec), data_dir=str(data), artifacts_dir=str(tmp_path / "artifacts"))).resolve()
    assert changed != first and len(pq.read_table(changed / "texts.parquet")) == 241
    drift = json.loads((data / "validation" / "tree.drift.json").read_text())
    assert "error" not in drift and drift["reference"]["kind"] == "previous_version"
    assert "label shares" in {f["name"] for f in drift["features"]} and drift["flagged"] == []
