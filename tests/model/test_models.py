"""The three architectures: layer shapes, parameter counts, a loss that falls on a tiny set, IMDB encoding."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tasks.core.config import MODELS
from tasks.core.errors import SettingsError
from tasks.core.profiles import resolve_settings
from tasks.model.architectures import build_model
from tasks.model.bag_of_words import build_bag_of_words
from tasks.model.imdb_conv import build_imdb_conv
from tasks.model.jena_conv import build_jena_conv
from tasks.model.jena_conv_gru import build_jena_conv_gru
from tasks.model.encoding import encode_reviews, multi_hot, multi_hot_batches, offset_reviews

pytestmark = pytest.mark.model

JENA_TIMESTEPS = 240  # the book's window: lookback 1440 rows / step 6 = 240 hourly readings


def layer_shapes(model: keras.Model, sample: np.ndarray) -> list[tuple[str, tuple]]:
    """(layer class, output shape) of every layer after the input, on a concrete batch."""
    hidden = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    probe = keras.Model(model.input, [layer.output for layer in hidden])
    return [(type(layer).__name__, tuple(out.shape)) for layer, out in zip(hidden, probe(sample))]


def loss_of(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    return result["loss"]


# ---------------------------------------------------------------------------------------------------------------
# Shapes and parameter counts
# ---------------------------------------------------------------------------------------------------------------
def test_imdb_conv_matches_the_books_layers_and_parameters():
    model = build_imdb_conv()
    # Embedding 10000 * 128                 = 1,280,000
    # Conv1D(32, 7) on 128: 7 * 128 * 32 + 32 =   28,704
    # Conv1D(32, 7) on 32:  7 * 32 * 32 + 32  =    7,200
    # Dense(1) on 32:       32 + 1            =       33
    assert model.count_params() == 1_315_937
    assert layer_shapes(model, np.zeros((2, 500), dtype="int32")) == [
        ("Embedding", (2, 500, 128)),
        ("Conv1D", (2, 494, 32)),
        ("MaxPooling1D", (2, 98, 32)),
        ("Conv1D", (2, 92, 32)),
        ("GlobalMaxPooling1D", (2, 32)),
        ("Dense", (2, 1)),
    ]
    assert model.layers[-1].activation is keras.activations.sigmoid
    assert model.loss == "binary_crossentropy"
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-4)


def test_imdb_conv_dropout_adds_a_layer_but_no_parameters():
    model = build_imdb_conv(dropout=0.5, learning_rate=1e-3)
    assert model.count_params() == 1_315_937
    assert isinstance(model.layers[-2], keras.layers.Dropout) and model.layers[-2].rate == 0.5
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in build_imdb_conv().layers)


def test_jena_conv_layers_and_parameters():
    model = build_jena_conv()
    # Conv1D(32, 5) on 14: 5 * 14 * 32 + 32 = 2,272
    # Conv1D(32, 5) on 32: 5 * 32 * 32 + 32 = 5,152
    # Dense(1) on 32:      32 + 1           =    33    total 7,457
    assert model.count_params() == 7_457
    assert model.input_shape == (None, None, 14)
    assert layer_shapes(model, np.zeros((2, JENA_TIMESTEPS, 14), dtype="float32")) == [
        ("Conv1D", (2, 236, 32)),
        ("MaxPooling1D", (2, 78, 32)),
        ("Conv1D", (2, 74, 32)),
        ("MaxPooling1D", (2, 37, 32)),
        ("GlobalMaxPooling1D", (2, 32)),
        ("Dense", (2, 1)),
    ]
    assert model.loss == "mae"
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)


def test_jena_conv_gru_layers_and_parameters():
    model = build_jena_conv_gru()
    # Conv1D(32, 5) on 14: 2,272; Conv1D(32, 5) on 32: 5,152
    # GRU(32) on 32, reset_after=True: 3 gates * (32 * 32 input + 32 * 32 recurrent + 2 * 32 biases) = 6,336
    # Dense(1) on 32: 33                                                                total 13,793
    assert model.count_params() == 13_793
    assert layer_shapes(model, np.zeros((2, JENA_TIMESTEPS, 14), dtype="float32")) == [
        ("Conv1D", (2, 236, 32)),
        ("MaxPooling1D", (2, 78, 32)),
        ("Conv1D", (2, 74, 32)),
        ("GRU", (2, 32)),
        ("Dense", (2, 1)),
    ]
    gru = model.get_layer(index=4)
    assert (gru.dropout, gru.recurrent_dropout) == (0.1, 0.5)


def test_fast_variant_has_no_recurrent_dropout_and_the_same_parameters():
    fast = build_model(resolve_settings("jena_conv_gru_fast", "seed", {"learning_rate": "3e-3"}))
    gru = next(layer for layer in fast.layers if isinstance(layer, keras.layers.GRU))
    # cuDNN needs recurrent_dropout 0 and the default tanh / sigmoid activations, reset_after and no unroll.
    assert gru.recurrent_dropout == 0
    assert gru.activation is keras.activations.tanh and gru.recurrent_activation is keras.activations.sigmoid
    assert gru.reset_after and not gru.unroll
    assert fast.count_params() == 13_793
    assert fast.name == "jena_conv_gru_fast"
    assert float(fast.optimizer.learning_rate) == pytest.approx(3e-3)


def test_bag_of_words_layers_and_parameters():
    model = build_bag_of_words()
    # Dense(16) on 10000: 10000 * 16 + 16 = 160,016; Dense(1) on 16: 17
    assert model.count_params() == 160_033
    assert layer_shapes(model, np.zeros((2, 10_000), dtype="float32")) == [("Dense", (2, 16)), ("Dense", (2, 1))]


def test_model_builders_name_every_architecture():
    assert set(MODELS) >= {"imdb_conv", "jena_conv", "jena_conv_gru", "jena_conv_gru_fast"}
    for name in MODELS:
        assert build_model(resolve_settings(name, "seed")).name == name


# ---------------------------------------------------------------------------------------------------------------
# The loss falls on a tiny set
# ---------------------------------------------------------------------------------------------------------------
def test_imdb_conv_loss_falls_on_a_tiny_set():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(3, 1000, size=(64, 500)).astype("int32")  # (reviews, time)
    y = (np.arange(64) % 2).astype("float32")
    # Positive reviews say word 7 a lot: a local pattern the convolutions can find anywhere.
    for i in np.flatnonzero(y):
        x[i, rng.choice(500, size=30, replace=False)] = 7
    model = build_imdb_conv(learning_rate=1e-3)  # the book's 1e-4 needs more than a few epochs
    before = loss_of(model, x, y)
    model.fit(x, y, epochs=6, batch_size=16, verbose=0)
    after = loss_of(model, x, y)
    assert after < 0.7 * before


@pytest.mark.parametrize("builder", [build_jena_conv, build_jena_conv_gru], ids=["jena_conv", "jena_conv_gru"])
def test_jena_loss_falls_on_a_tiny_set(builder):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 40, 14)).astype("float32")  # (windows, time, features)
    y = (x[:, -12:, 1].mean(axis=1) * 3).astype("float32")  # (windows,) recent "temperature"
    model = builder(learning_rate=3e-3)
    before = loss_of(model, x, y)
    model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    after = loss_of(model, x, y)
    assert after < 0.8 * before


# ---------------------------------------------------------------------------------------------------------------
# IMDB encoding
# ---------------------------------------------------------------------------------------------------------------
def test_offsets_follow_keras_load_data_documented_example():
    assert offset_reviews([np.array([1, 5, 9998])])[0].tolist() == [1, 4, 8, 2]
    assert offset_reviews([np.array([1, 5, 9998])], num_words=20_000)[0].tolist() == [1, 4, 8, 10_001]
    assert offset_reviews([np.array([], dtype=np.int64)])[0].tolist() == [1]


def test_encode_reviews_pads_and_truncates_at_the_front():
    short, long_ = np.array([1, 5, 9998]), np.arange(1, 601)
    encoded = encode_reviews([short, long_])
    assert encoded.shape == (2, 500) and encoded.dtype == np.int32
    assert encoded[0, :496].tolist() == [0] * 496 and encoded[0, 496:].tolist() == [1, 4, 8, 2]
    # 601 ids after the start char; the last 500 are ranks 101..600 shifted by 3
    assert encoded[1].tolist() == list(range(104, 604))


def test_encode_reviews_matches_keras_load_data(tmp_path, monkeypatch):
    imdb = pytest.importorskip("keras.src.datasets.imdb")
    if not hasattr(imdb, "get_file"):
        pytest.skip("keras.src.datasets.imdb no longer fetches through get_file")
    rng = np.random.default_rng(1)

    def ragged(n: int) -> np.ndarray:
        out = np.empty(n, dtype=object)
        for i in range(n):
            out[i] = rng.integers(1, 12_000, size=rng.integers(1, 700)).tolist()  # raw ranks, some >= 10000
        return out

    raw_train, raw_test = ragged(6), ragged(4)
    path = tmp_path / "imdb.npz"
    # Labels are review numbers, so load_data's seeded shuffle can be undone.
    np.savez(path, x_train=raw_train, y_train=np.arange(6), x_test=raw_test, y_test=np.arange(4))
    monkeypatch.setattr(imdb, "get_file", lambda *args, **kwargs: str(path))  # never the network

    (x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data(num_words=10_000)
    for raw, keras_x, order in ((raw_train, x_train, y_train), (raw_test, x_test, y_test)):
        expected = keras.utils.pad_sequences(list(keras_x), maxlen=500)
        ours = encode_reviews([np.asarray(raw[i]) for i in order])
        np.testing.assert_array_equal(ours, expected)
        for i, k in enumerate(order):
            assert offset_reviews([np.asarray(raw[k])])[0].tolist() == list(keras_x[i])


def test_multi_hot_marks_each_word_once():
    out = multi_hot([np.array([1, 4, 4, 2]), np.array([], dtype=np.int64)], num_words=6)
    assert out.dtype == np.float32
    assert out.tolist() == [[0, 1, 1, 0, 1, 0], [0] * 6]


def test_multi_hot_refuses_ids_outside_the_vocabulary():
    with pytest.raises(SettingsError, match="review 1"):
        multi_hot([np.array([1]), np.array([1, 6])], num_words=6)
    with pytest.raises(SettingsError, match="review 0 holds id -1"):
        multi_hot([np.array([3, -1])], num_words=6)


def some_reviews(count: int = 23, num_words: int = 12, seed: int = 0) -> list[np.ndarray]:
    """Reviews of 0-15 ids with repeats (short ones empty), int32 like offset_reviews' and int64 alternately."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, num_words, size=rng.integers(0, 16)).astype(np.int32 if i % 2 else np.int64)
            for i in range(count)]


def one_hot_rows(reviews: list[np.ndarray], num_words: int) -> np.ndarray:
    """The book's vectorize_sequences, review by review: the reference both multi-hot encoders must match."""
    out = np.zeros((len(reviews), num_words), dtype=np.float32)
    for i, ids in enumerate(reviews):
        out[i, ids] = 1.0
    return out


def test_multi_hot_matches_the_books_loop():
    reviews = some_reviews()
    np.testing.assert_array_equal(multi_hot(reviews, num_words=12), one_hot_rows(reviews, 12))


def test_multi_hot_batches_concatenated_equal_multi_hot():
    reviews = some_reviews()
    batches = list(multi_hot_batches(reviews, batch_size=5, num_words=12).as_numpy_iterator())
    assert [b.shape for b in batches] == [(5, 12)] * 4 + [(3, 12)]  # the last batch holds the rest
    assert all(b.dtype == np.float32 for b in batches)
    np.testing.assert_array_equal(np.concatenate(batches), multi_hot(reviews, num_words=12))


def test_multi_hot_batches_shuffled_keep_each_row_with_its_label_and_reshuffle_every_pass():
    reviews = some_reviews()
    dense = multi_hot(reviews, num_words=12)
    labels = np.arange(len(reviews))  # a label that names its review, to follow the rows
    dataset = multi_hot_batches(reviews, labels, batch_size=4, num_words=12, shuffle=True, seed=7)
    orders = []
    for _ in range(2):  # two passes, as two epochs of fit
        rows, order = zip(*dataset.as_numpy_iterator())
        order = np.concatenate(order).astype(int)
        np.testing.assert_array_equal(np.concatenate(rows), dense[order])  # each row beside its own label
        assert sorted(order) == list(range(len(reviews)))  # every review once a pass
        orders.append(order.tolist())
    assert orders[0] != orders[1]
    again = multi_hot_batches(reviews, labels, batch_size=4, num_words=12, shuffle=True, seed=7)
    assert [np.concatenate([y for _, y in again.as_numpy_iterator()]).astype(int).tolist() for _ in range(2)] == orders
    other = multi_hot_batches(reviews, labels, batch_size=4, num_words=12, shuffle=True, seed=8)
    assert np.concatenate([y for _, y in other.as_numpy_iterator()]).astype(int).tolist() != orders[0]


def test_multi_hot_batches_give_fit_a_new_order_every_epoch():
    # Keras 3's fit on numpy arrays, with a seed set, repeats its first order every epoch; this must not.
    import tensorflow as tf

    orders: list[list[int]] = []

    class Recorder(keras.Model):
        def train_step(self, data):
            _, y = data
            tf.py_function(lambda labels: orders.append(labels.numpy().astype(int).tolist()), [y], [])
            return {"batch": tf.size(y)}

    keras.utils.set_random_seed(5)
    inputs = keras.Input((12,))
    model = Recorder(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    reviews = some_reviews(count=24)
    model.fit(multi_hot_batches(reviews, np.arange(24), batch_size=8, num_words=12, shuffle=True, seed=5),
              epochs=3, shuffle=False, verbose=0)
    epochs = [sum(orders[i : i + 3], []) for i in (0, 3, 6)]  # 3 batches an epoch
    assert all(sorted(order) == list(range(24)) for order in epochs)
    assert len({tuple(order) for order in epochs}) == 3


def test_multi_hot_batches_refuse_ids_outside_the_vocabulary_naming_the_review():
    with pytest.raises(SettingsError, match="review 1 holds id 6; expected ids in 0..5"):
        multi_hot_batches([np.array([1]), np.array([1, 6])], batch_size=2, num_words=6)
    # Past the first 4,096 reviews (encoded a part at a time), the number is still the review's own.
    reviews = [np.array([], dtype=np.int32)] * 5000 + [np.array([2, -3])]
    with pytest.raises(SettingsError, match="review 5000 holds id -3"):
        multi_hot_batches(reviews, batch_size=512, num_words=6)


def test_multi_hot_batches_refuse_bad_arguments():
    reviews = some_reviews(count=3)
    with pytest.raises(SettingsError, match="batch_size 0"):
        multi_hot_batches(reviews, batch_size=0, num_words=12)
    with pytest.raises(SettingsError, match="without a seed"):
        multi_hot_batches(reviews, batch_size=2, num_words=12, shuffle=True)
    with pytest.raises(SettingsError, match="3 reviews and 2 labels"):
        multi_hot_batches(reviews, [0, 1], batch_size=2, num_words=12)


# ---------------------------------------------------------------------------------------------------------------
# Levers against overfitting that leave the architecture as published (issue 11)
# ---------------------------------------------------------------------------------------------------------------
def test_the_regularizers_add_no_parameters_and_are_off_by_default():
    plain = {m: build_model(resolve_settings(m, "seed")) for m in ("imdb_conv", "jena_conv", "jena_conv_gru")}
    assert {m: model.count_params() for m, model in plain.items()} == {
        "imdb_conv": build_imdb_conv().count_params(), "jena_conv": build_jena_conv().count_params(),
        "jena_conv_gru": build_jena_conv_gru().count_params()}
    kinds = (keras.layers.Dropout, keras.layers.SpatialDropout1D, keras.layers.GaussianNoise)
    assert not any(isinstance(layer, kinds) for model in plain.values() for layer in model.layers)
    assert not any(model.optimizer.use_ema for model in plain.values())

    imdb = build_model(resolve_settings("imdb_conv", "seed", {"embedding_dropout": "0.2", "dropout": "0.5",
                                                              "weight_decay": "0.01", "optimizer": "adam",
                                                              "weight_averaging": "0.99"}))
    assert imdb.count_params() == 1_315_937
    assert isinstance(imdb.layers[2], keras.layers.SpatialDropout1D) and imdb.layers[2].rate == 0.2
    assert type(imdb.optimizer).__name__ == "Adam" and imdb.optimizer.weight_decay == pytest.approx(0.01)
    assert imdb.optimizer.use_ema and imdb.optimizer.ema_momentum == pytest.approx(0.99)

    gru = resolve_settings("jena_conv_gru", "seed", {"input_noise": "0.2", "gru_dropout": "0.3", "dropout": "0.1"})
    model = build_model(gru)
    assert model.count_params() == plain["jena_conv_gru"].count_params()
    assert isinstance(model.layers[1], keras.layers.GaussianNoise) and model.layers[1].stddev == 0.2
    assert next(layer for layer in model.layers if isinstance(layer, keras.layers.GRU)).dropout == 0.3
    assert isinstance(model.layers[-2], keras.layers.Dropout)
    # noise only while training: inference sees the inputs as they are
    x = np.random.default_rng(0).normal(size=(2, 48, 14)).astype("float32")
    np.testing.assert_array_equal(model(x, training=False), model(x, training=False))
    assert gru.as_record()["input_noise"] == 0.2


def test_the_published_output_layer_is_a_plain_dense_under_binary_cross_entropy():
    model = build_imdb_conv(output_layer="published")
    assert model.count_params() == 1_315_937
    assert model.layers[-1].activation is keras.activations.linear
    assert model.loss == "binary_crossentropy"
    with pytest.raises(SettingsError, match="output_layer"):
        build_imdb_conv(output_layer="softmax")


def test_the_cosine_schedule_starts_at_the_learning_rate_and_ends_near_zero():
    from tasks.core.profiles import resolve_settings
    from tasks.model.train import learning_rate_at

    s = resolve_settings("jena_conv_gru", "seed", {"lr_schedule": "cosine", "epochs": "10"})
    rates = [learning_rate_at(s, e) for e in range(10)]
    assert rates[0] == pytest.approx(1e-3) and rates[5] == pytest.approx(5e-4)
    assert all(a > b for a, b in zip(rates, rates[1:])) and rates[-1] < 0.03 * rates[0]
    constant = resolve_settings("jena_conv_gru", "seed")
    assert {learning_rate_at(constant, e) for e in range(10)} == {1e-3}


def weights_built_while_another_thread_draws(model: str) -> list[list[np.ndarray]]:
    """The weights of `model` built twice from the same seed, while another thread draws from Python's `random`
    (as Prefect's threads do while a task trains)."""
    import random
    import threading

    from tasks.core.profiles import resolve_settings
    from tasks.model.architectures import build_model

    s = resolve_settings(model, "smoke")
    stop = threading.Event()
    drawing = threading.Thread(target=lambda: [random.random() for _ in iter(stop.is_set, True)], daemon=True)
    drawing.start()
    try:
        built = []
        for _ in range(2):
            keras.utils.set_random_seed(s.seed)
            built.append([w.copy() for w in build_model(s).get_weights()])
    finally:
        stop.set()
        drawing.join()
    return built


@pytest.mark.parametrize("model", ["jena_conv", "jena_conv_gru"])
def test_the_same_seed_builds_the_same_weights_whatever_other_threads_draw(model):
    first, second = weights_built_while_another_thread_draws(model)
    assert len(first) == len(second) and all(np.array_equal(a, b) for a, b in zip(first, second))
