"""imdb_dilated (beyond the book): layer shapes, parameter count within the issue's cap, the loss falls on a
tiny set, and its settings reach the builder."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest

from tasks.core.config import PUBLISHED, TrainSettings, check_settings
from tasks.core.errors import SettingsError
from tasks.model.architectures import build_model
from tasks.model.imdb_conv import build_imdb_conv
from tasks.model.imdb_dilated import build_imdb_dilated

pytestmark = pytest.mark.model

PUBLISHED_IMDB_CONV = 1_315_937  # build_imdb_conv's parameters (tests/model/test_models.py)


def layer_shapes(model: keras.Model, sample: np.ndarray) -> list[tuple[str, str, tuple]]:
    """(layer class, name, output shape) of every layer after the input, on a concrete batch."""
    hidden = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    probe = keras.Model(model.input, [layer.output for layer in hidden])
    return [(type(layer).__name__, layer.name, tuple(out.shape)) for layer, out in zip(hidden, probe(sample))]


def test_imdb_dilated_layers_and_parameters():
    model = build_imdb_dilated()
    # Embedding 10000 * 128                        = 1,280,000
    # stem Conv1D(64, 3) on 128: 3 * 128 * 64 + 64   =    24,640
    # 4 dilated Conv1D(64, 3) on 64: 4 * (3 * 64 * 64 + 64) = 49,408
    # Dense(1) on 128 pooled features: 128 + 1     =       129
    assert model.count_params() == 1_354_177 <= 2 * PUBLISHED_IMDB_CONV
    assert PUBLISHED_IMDB_CONV == build_imdb_conv().count_params()
    shapes = layer_shapes(model, np.zeros((2, 500), dtype="int32"))
    assert [(kind, shape) for kind, _, shape in shapes] == [
        ("Embedding", (2, 500, 128)),
        ("Conv1D", (2, 500, 64)),  # the stem: "same" padding keeps every word position
        ("Conv1D", (2, 500, 64)), ("Add", (2, 500, 64)),
        ("Conv1D", (2, 500, 64)), ("Add", (2, 500, 64)),
        ("Conv1D", (2, 500, 64)), ("Add", (2, 500, 64)),
        ("Conv1D", (2, 500, 64)), ("Add", (2, 500, 64)),
        ("GlobalMaxPooling1D", (2, 64)),
        ("GlobalAveragePooling1D", (2, 64)),
        ("Concatenate", (2, 128)),
        ("Dense", (2, 1)),
    ]
    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv1D)]
    assert [layer.dilation_rate for layer in convolutions] == [(1,), (2,), (4,), (8,), (16,)]
    assert all(layer.padding == "same" and layer.kernel_size == (3,) for layer in convolutions)
    assert model.layers[-1].activation is keras.activations.sigmoid
    assert model.loss == "binary_crossentropy"


def test_imdb_dilated_reads_any_maxlen_and_its_regularizers_add_no_parameters():
    plain = build_imdb_dilated(maxlen=1000)
    regularized = build_imdb_dilated(maxlen=1000, embedding_dropout=0.3, word_dropout=0.3, dropout=0.5)
    assert plain.input_shape == (None, 1000)
    assert plain.count_params() == regularized.count_params() == 1_354_177  # no weight depends on the length
    kinds = [type(layer).__name__ for layer in regularized.layers]
    assert kinds.count("SpatialDropout1D") == 1 and kinds.count("Dropout") == 2
    assert not {"SpatialDropout1D", "Dropout"} & {type(layer).__name__ for layer in plain.layers}


def test_word_dropout_zeroes_whole_word_vectors_while_training_only():
    model = build_imdb_dilated(maxlen=200, word_dropout=0.5)
    layer = model.get_layer("word_dropout")
    vectors = np.ones((4, 200, 128), dtype="float32")  # (reviews, time, channels)
    dropped = keras.ops.convert_to_numpy(layer(vectors, training=True))
    # Each word's 128 channels are all kept (scaled by 1 / (1 - rate)) or all zero; about half the words go
    per_word = np.unique(dropped, axis=2)
    assert per_word.shape == (4, 200, 1) and set(np.unique(per_word)) == {0.0, 2.0}
    assert 0.35 < float((per_word == 0).mean()) < 0.65
    assert np.array_equal(keras.ops.convert_to_numpy(layer(vectors, training=False)), vectors)


def test_imdb_dilated_wider_and_deeper_stays_within_twice_the_published_model():
    # The widest setting a tune grid may try: 128 channels, 5 dilated blocks (receptive field 63 words).
    model = build_imdb_dilated(filters=128, dilation_levels=5)
    # 1,280,000 + 6 convolutions * (3 * 128 * 128 + 128) + (256 + 1) = 1,575,937
    assert model.count_params() == 1_575_937 <= 2 * PUBLISHED_IMDB_CONV


def test_its_settings_reach_the_builder():
    s = TrainSettings(model="imdb_dilated", **{**PUBLISHED["imdb_dilated"], "filters": 32, "dilation_levels": 2,
                                                "maxlen": 300})
    check_settings(s)
    model = build_model(s)
    assert model.name == "imdb_dilated" and model.input_shape == (None, 300)
    assert [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv1D)] == [
        "stem", "dilated_2", "dilated_4"]
    assert model.get_layer("stem").filters == 32
    assert isinstance(model.optimizer, keras.optimizers.Adam)


@pytest.mark.parametrize("bad", [dict(filters=0), dict(kernel_size=0), dict(dilation_levels=-1)])
def test_settings_that_cannot_build_are_refused(bad):
    s = dataclasses.replace(TrainSettings(model="imdb_dilated", **PUBLISHED["imdb_dilated"]), **bad)
    with pytest.raises(SettingsError, match=next(iter(bad))):
        check_settings(s)


def test_imdb_dilated_loss_falls_on_a_tiny_set():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(3, 1000, size=(64, 200)).astype("int32")  # (reviews, time)
    y = (np.arange(64) % 2).astype("float32")
    # Positive reviews hold the phrase "7 _ _ _ 9" a few times: a gapped pattern a dilated kernel spans.
    for i in np.flatnonzero(y):
        for start in rng.choice(190, size=4, replace=False):
            x[i, start], x[i, start + 4] = 7, 9
    model = build_imdb_dilated(maxlen=200, learning_rate=1e-3)
    before = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    model.fit(x, y, epochs=6, batch_size=16, verbose=0)
    after = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    assert after < 0.7 * before
