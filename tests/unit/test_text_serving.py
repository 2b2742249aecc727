"""A user's texts served raw: the serving layer (TensorFlow string ops) encodes every text as the training data
was (tasks.core.vocabulary), for each standardization recipe; predictions name the labels."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.core.vocabulary import RECIPES, build_vocabulary
from tests.support.text_corpus import corpus

TRICKY = [
    "Great app, LOVE it!!  Thanks\tteam\n(refund?) don't-charge me",
    "  leading and trailing spaces  ",
    "",
    "CRASH!!!crash...Crash;error",
    "Étoile café: <br />broken; it's late",
    "a" * 3 + " " + "unknownword " * 40,
]


@pytest.mark.parametrize("standardize", sorted(RECIPES))
def test_the_serving_layer_encodes_as_training_does(standardize):
    from tasks.serve.serving_layers import VocabularyEncoder

    texts = [t for t, _ in corpus(120)] + TRICKY
    vocabulary = build_vocabulary(texts[:100] + TRICKY, standardize, 40, ["a", "b", "c"])
    layer = VocabularyEncoder(vocabulary.tokens, standardize, num_words=30, maxlen=12)
    served = np.asarray(layer(np.array(texts, dtype=object)))
    assert (served == vocabulary.encode(texts, 12, 30)).all()


def test_predictions_name_the_labels_and_the_serving_model_agrees(tmp_path):
    import keras

    from tasks.model.imdb_conv import build_imdb_conv
    from tasks.serve.serving_layers import VocabularyEncoder
    from tasks.serve.text import predict_texts

    rows = corpus(60)
    vocabulary = build_vocabulary([t for t, _ in rows], "lower_and_strip_punctuation", 50, ["billing", "bug",
                                                                                            "praise"])
    model = build_imdb_conv(50, 50, 8, labels=3)
    texts = [t for t, _ in rows[:5]] + [""]
    predicted = predict_texts(model, texts, vocabulary, num_words=50, maxlen=50)
    assert [r["row"] for r in predicted] == [1, 2, 3, 4, 5, 6]
    assert {r["label"] for r in predicted} <= {"billing", "bug", "praise"}
    assert predicted[-1]["flag"] == "empty text"
    raw = keras.Input(shape=(), dtype="string")
    serving = keras.Model(raw, model(VocabularyEncoder(vocabulary.tokens, "lower_and_strip_punctuation", 50, 50)(raw)))
    probabilities = np.asarray(serving(np.array(texts, dtype=object)))
    assert probabilities.shape == (6, 3)
    assert [vocabulary.labels[i] for i in probabilities.argmax(axis=1)] == [r["label"] for r in predicted]
    assert np.allclose(probabilities.max(axis=1), [r["probability"] for r in predicted], atol=1e-5)
