"""Two or more labels: a softmax and sparse categorical cross-entropy beyond two, accuracy, macro-F1 and the
confusion matrix, the majority baseline for any count, a k x k confusion plot, and a user's published texts read
into padded ids with the version's vocabulary."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tasks.core.errors import DataFormatError
from tasks.core.vocabulary import build_vocabulary
from tasks.judge.baselines import majority_baseline
from tasks.judge.metrics import label_metrics, multiclass_metrics
from tests.support.text_corpus import corpus


def test_macro_f1_and_the_confusion_matrix_by_hand():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_prob = np.eye(3)[[0, 0, 1, 1, 2, 2]]
    m = multiclass_metrics(y_true, y_prob)
    assert m["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    # F1 per label: 2*2/(2+3)=0.8, 2*1/(2+2)=0.5, 2*1/(2+1)=2/3
    assert m["f1"] == pytest.approx([0.8, 0.5, 2 / 3]) and m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert m["accuracy"] == pytest.approx(4 / 6) and m["reviews"] == 6
    assert "roc_auc" in label_metrics(np.array([0, 1]), np.array([0.2, 0.9]))  # two labels: the binary figures
    with pytest.raises(DataFormatError, match="label 3 found; expected label numbers 0..2"):
        multiclass_metrics(np.array([3]), np.ones((1, 3)))


def test_the_majority_baseline_for_three_labels():
    m = majority_baseline(np.array([0, 2, 2, 1]), np.array([2, 2, 0, 1]), labels=3)
    assert m["predicted_class"] == 2 and m["accuracy"] == 0.5
    assert m["confusion_matrix"] == [[0, 0, 1], [0, 0, 1], [0, 0, 2]]
    assert m["macro_f1"] == pytest.approx((0 + 0 + 2 * 2 / (4 + 2)) / 3)


def test_text_models_end_in_a_softmax_for_more_than_two_labels():
    from tasks.model.bag_of_words import build_bag_of_words
    from tasks.model.imdb_conv import build_imdb_conv
    from tasks.model.imdb_dilated import build_imdb_dilated

    for model in (build_imdb_conv(100, 50, 8, labels=4), build_imdb_dilated(100, 50, 8, filters=8, labels=4),
                  build_bag_of_words(100, labels=4)):
        assert model.output_shape == (None, 4) and model.layers[-1].activation.__name__ == "softmax"
        assert model.loss == "sparse_categorical_crossentropy"
    two = build_imdb_conv(100, 50, 8)
    assert two.output_shape == (None, 1) and two.loss == "binary_crossentropy"
    assert two.count_params() == build_imdb_conv(100, 50, 8, labels=2).count_params()


def test_a_three_by_three_confusion_plot(tmp_path):
    from tasks.publish.plots import plot_confusion_matrix

    out = plot_confusion_matrix([[5, 1, 0], [0, 4, 2], [1, 0, 6]], tmp_path / "confusion.png", title="t",
                                labels=("billing", "bug", "praise"))
    assert out.stat().st_size > 1000
    with pytest.raises(ValueError, match="expected 3 x 3"):
        plot_confusion_matrix([[1, 0], [0, 1]], tmp_path / "x.png", title="t", labels=("a", "b", "c"))


def test_published_texts_become_padded_ids_and_label_numbers(tmp_path):
    from types import SimpleNamespace

    from tasks.model.text import prepare_texts

    rows = corpus(90)
    splits = (["train"] * 60 + ["val"] * 15 + ["test"] * 15)
    pq.write_table(pa.table({"text": [t for t, _ in rows], "label": [lab for _, lab in rows], "split": splits}),
                   tmp_path / "texts.parquet")
    vocabulary = build_vocabulary([t for t, _ in rows[:60]], "lower_and_strip_punctuation", 30,
                                  ["praise", "bug", "billing"])
    (tmp_path / "vocabulary.json").write_text(vocabulary.to_json(), encoding="utf-8")
    s = SimpleNamespace(num_words=20, maxlen=16, labels=3, max_train_samples=0, max_test_samples=0,
                        validation_split=0.2)
    data = prepare_texts(tmp_path, s)
    assert {k: v.shape for k, v in data.x.items()} == {"train": (60, 16), "val": (15, 16), "test": (15, 16)}
    assert data.x["train"].max() < 20 and data.y["train"].dtype == np.int32
    # label numbers in the vocabulary's order, the texts' own
    first = data.x["test"][0]
    test_rows = [r for r, sp in zip(rows, splits) if sp == "test"]
    matches = [i for i, (t, _) in enumerate(test_rows)
               if (vocabulary.encode([t], 16, 20)[0] == first).all()]
    assert {("praise", "bug", "billing")[int(data.y["test"][0])]} <= {test_rows[i][1] for i in matches}
    assert json.loads((tmp_path / "vocabulary.json").read_text())["labels"] == ["praise", "bug", "billing"]
