"""The three architectures of Deep Learning with Python §6.4 and the IMDB bag-of-words baseline.

Every `build_*` returns a compiled Keras 3 model, ready for `fit`; `learning_rate` is an argument of each so a
profile can tune it without touching the architecture. Parameter counts are pinned in tests/model/test_models.py.
The reviews they read are encoded by tasks.model.encoding.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import keras
from keras import layers

from tasks.core.config import IMDB_LEARNING_RATE, RMSPROP_LEARNING_RATE
from tasks.core.errors import SettingsError
from tasks.core.sources import IMDB_MAX_FEATURES, IMDB_MAXLEN, JENA_FEATURES
from tasks.model.imdb_dilated import build_imdb_dilated
from tasks.model.jena_tcn import build_jena_tcn


@contextmanager
def own_default_seeds(seed: int) -> Iterator[None]:
    """Layers built inside draw their default seeds from a generator of their own, seeded with `seed`.

    Keras gives every initializer and dropout built without a seed one drawn from Python's global `random`
    (keras.src.random.seed_generator.make_default_seed). Prefect's threads draw from that generator too, at times
    of their own, so the same `keras.utils.set_random_seed` could build different weights from one run to the next
    in the same process. Not thread-safe itself: models are built one at a time.
    """
    from keras.src.random import seed_generator

    shared = seed_generator.python_random
    seed_generator.python_random = random.Random(seed)
    try:
        yield
    finally:
        seed_generator.python_random = shared


def _binary_metrics() -> list:
    return ["accuracy", keras.metrics.AUC(name="auc")]


OPTIMIZERS: dict[str, Callable[..., keras.optimizers.Optimizer]] = {  # TrainSettings.optimizer -> its class
    "rmsprop": keras.optimizers.RMSprop,  # the book's
    "adam": keras.optimizers.Adam,
}


def make_optimizer(name: str = "rmsprop", learning_rate: float = RMSPROP_LEARNING_RATE,
                   weight_decay: float = 0.0, weight_averaging: float = 0.0) -> keras.optimizers.Optimizer:
    """An optimizer by name. `weight_decay` is Keras 3's decoupled decay (each step shrinks every weight by
    learning_rate * weight_decay of itself): it fights overfitting without adding a parameter.
    `weight_averaging` > 0 keeps an exponential moving average of the weights with that momentum (Keras'
    use_ema); tasks.model.checkpoint.AveragedWeights swaps it in for validation and for the kept checkpoints."""
    if name not in OPTIMIZERS:
        raise SettingsError(f"optimizer={name!r}: must be one of {', '.join(OPTIMIZERS)}")
    averaging = dict(use_ema=True, ema_momentum=weight_averaging) if weight_averaging else {}
    return OPTIMIZERS[name](learning_rate=learning_rate, weight_decay=weight_decay or None, **averaging)


# ---------------------------------------------------------------------------------------------------------------
# IMDB
# ---------------------------------------------------------------------------------------------------------------
OUTPUT_LAYERS = {"sigmoid": "sigmoid", "published": None}  # TrainSettings.output_layer -> Dense(1)'s activation


def build_imdb_conv(
    max_features: int = IMDB_MAX_FEATURES,
    maxlen: int = IMDB_MAXLEN,
    embedding_dim: int = 128,
    *,
    dropout: float = 0.0,
    embedding_dropout: float = 0.0,
    output_layer: str = "sigmoid",
    learning_rate: float = IMDB_LEARNING_RATE,
    optimizer: keras.optimizers.Optimizer | None = None,
) -> keras.Model:
    """The book's IMDB 1D convnet (listing 6.45): 1,315,937 parameters with the defaults.

    The published model ended in a plain Dense(1) and trained it with binary cross-entropy, a loss on
    probabilities, so its logits were read as probabilities. We end in Dense(1, activation="sigmoid"): same
    parameter count, and the loss means what it says.

    Args:
        max_features: vocabulary size (ids 0..max_features - 1).
        maxlen: tokens per review.
        embedding_dim: width of each word vector.
        dropout: rate of a Dropout before the output layer; 0 (the book) leaves it out. Adds no parameters.
        embedding_dropout: rate of a SpatialDropout1D on the word vectors (whole vectors dropped); 0 (the book)
            leaves it out. Adds no parameters.
        output_layer: "sigmoid" (ours) or "published": the book's plain Dense(1) under binary cross-entropy,
            kept to measure what the fix costs (RESULTS.md). Keras clips such an output to (0, 1) before the
            log, so a logit outside that range gets no gradient.
        learning_rate: RMSprop step size (the book's 1e-4).
        optimizer: an optimizer to compile with instead of RMSprop(learning_rate) (make_optimizer).

    Returns:
        A compiled model: (batch, maxlen) int32 ids -> (batch, 1) probability of a positive review.
    """
    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="tokens")  # (batch, time)
    x = layers.Embedding(max_features, embedding_dim)(inputs)  # (batch, 500, 128)
    if embedding_dropout > 0:
        x = layers.SpatialDropout1D(embedding_dropout)(x)
    x = layers.Conv1D(32, 7, activation="relu")(x)  # (batch, 494, 32)
    x = layers.MaxPooling1D(5)(x)  # (batch, 98, 32)
    x = layers.Conv1D(32, 7, activation="relu")(x)  # (batch, 92, 32)
    x = layers.GlobalMaxPooling1D()(x)  # (batch, 32)
    if dropout > 0:
        x = layers.Dropout(dropout)(x)
    if output_layer not in OUTPUT_LAYERS:
        raise SettingsError(f"output_layer={output_layer!r}: must be one of {', '.join(OUTPUT_LAYERS)}")
    outputs = layers.Dense(1, activation=OUTPUT_LAYERS[output_layer])(x)  # (batch, 1)
    model = keras.Model(inputs, outputs, name="imdb_conv")
    model.compile(
        optimizer=optimizer or keras.optimizers.RMSprop(learning_rate=learning_rate),
        loss="binary_crossentropy",
        metrics=_binary_metrics(),
    )
    return model


def build_bag_of_words(
    max_features: int = IMDB_MAX_FEATURES, *, learning_rate: float = RMSPROP_LEARNING_RATE
) -> keras.Model:
    """The IMDB baseline: a multi-hot bag of words into one small hidden layer (160,033 parameters).

    The book's chapter 3 version has two Dense(16) hidden layers; one is enough for a baseline.

    Args:
        max_features: vocabulary size, the width of the multi-hot vector.
        learning_rate: RMSprop step size.

    Returns:
        A compiled model: (batch, max_features) multi-hot float32 -> (batch, 1) probability of a positive review.
    """
    inputs = keras.Input(shape=(max_features,), name="multi_hot")  # (batch, words)
    x = layers.Dense(16, activation="relu")(inputs)  # (batch, 16)
    outputs = layers.Dense(1, activation="sigmoid")(x)  # (batch, 1)
    model = keras.Model(inputs, outputs, name="bag_of_words")
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate),
        loss="binary_crossentropy",
        metrics=_binary_metrics(),
    )
    return model


# ---------------------------------------------------------------------------------------------------------------
# Jena
# ---------------------------------------------------------------------------------------------------------------
def build_jena_conv(
    n_features: int = len(JENA_FEATURES),
    *,
    learning_rate: float = RMSPROP_LEARNING_RATE,
    input_noise: float = 0.0,
    dropout: float = 0.0,
    optimizer: keras.optimizers.Optimizer | None = None,
) -> keras.Model:
    """A 1D convnet on Jena windows (7,457 parameters with 14 features).

    The book's listing 6.47 stacks three Conv1D(32, 5) with MaxPooling1D(3) after the first two; this project's
    specification uses two Conv1D with pools of 3 then 2, which we follow.

    Args:
        n_features: measurements per timestep.
        learning_rate: RMSprop step size (the book's default RMSprop()).
        input_noise, dropout, optimizer: as for build_jena_conv_gru.

    Returns:
        A compiled model, MAE loss: (batch, time, features) -> (batch, 1) normalized temperature. Any window
        length of at least 22 timesteps fits.
    """
    inputs = keras.Input(shape=(None, n_features), name="window")  # (batch, time, features)
    x = _input_noise(inputs, input_noise)
    x = layers.Conv1D(32, 5, activation="relu")(x)  # (batch, time - 4, 32)
    x = layers.MaxPooling1D(3)(x)  # (batch, (time - 4) // 3, 32)
    x = layers.Conv1D(32, 5, activation="relu")(x)
    x = layers.MaxPooling1D(2)(x)
    x = layers.GlobalMaxPooling1D()(x)  # (batch, 32)
    if dropout > 0:
        x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(1)(x)  # (batch, 1)
    model = keras.Model(inputs, outputs, name="jena_conv")
    model.compile(optimizer=optimizer or keras.optimizers.RMSprop(learning_rate=learning_rate), loss="mae")
    return model


def build_jena_conv_gru(
    n_features: int = len(JENA_FEATURES),
    recurrent_dropout: float = 0.5,
    *,
    learning_rate: float = RMSPROP_LEARNING_RATE,
    gru_dropout: float = 0.1,
    input_noise: float = 0.0,
    dropout: float = 0.0,
    optimizer: keras.optimizers.Optimizer | None = None,
) -> keras.Model:
    """The book's convnet-then-GRU (listing 6.49): convolutions shorten the window, a GRU reads it in order.

    13,793 parameters with 14 features. Keras 3's GRU defaults to reset_after=True (the cuDNN formulation),
    which has 96 more parameters than the Keras 2.0 GRU the book used.

    Args:
        n_features: measurements per timestep.
        recurrent_dropout: dropout on the GRU's recurrent state (the book's 0.5). 0 makes the layer eligible
            for the fused cuDNN kernel on a GPU, many times faster: the "fast" variant.
        learning_rate: RMSprop step size (the book's default RMSprop()).
        gru_dropout: dropout on the GRU's inputs (the book's 0.1).
        input_noise: standard deviation of Gaussian noise added to the (normalized) inputs while training; 0
            (the book) adds none. No parameters: it only makes memorizing a small training set harder.
        dropout: rate of a Dropout before the output layer; 0 (the book) leaves it out. No parameters.
        optimizer: an optimizer to compile with instead of RMSprop(learning_rate) (make_optimizer).

    Returns:
        A compiled model, MAE loss: (batch, time, features) -> (batch, 1) normalized temperature.
    """
    inputs = keras.Input(shape=(None, n_features), name="window")  # (batch, time, features)
    x = _input_noise(inputs, input_noise)
    x = layers.Conv1D(32, 5, activation="relu")(x)  # (batch, time - 4, 32)
    x = layers.MaxPooling1D(3)(x)  # (batch, (time - 4) // 3, 32)
    x = layers.Conv1D(32, 5, activation="relu")(x)  # (batch, (time - 4) // 3 - 4, 32)
    x = layers.GRU(32, dropout=gru_dropout, recurrent_dropout=recurrent_dropout)(x)  # (batch, 32)
    if dropout > 0:
        x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(1)(x)  # (batch, 1)
    name = "jena_conv_gru" if recurrent_dropout > 0 else "jena_conv_gru_fast"
    model = keras.Model(inputs, outputs, name=name)
    model.compile(optimizer=optimizer or keras.optimizers.RMSprop(learning_rate=learning_rate), loss="mae")
    return model


def _input_noise(x, stddev: float):
    """Gaussian noise on the inputs while training (none at inference); the input itself when stddev is 0."""
    return layers.GaussianNoise(stddev)(x) if stddev > 0 else x


MODEL_BUILDERS: dict[str, Callable[..., keras.Model]] = {
    "imdb_conv": build_imdb_conv,
    "jena_conv": build_jena_conv,
    "jena_conv_gru": build_jena_conv_gru,
    "jena_conv_gru_fast": partial(build_jena_conv_gru, recurrent_dropout=0.0),
    "imdb_dilated": build_imdb_dilated,  # beyond the book: tasks.model.imdb_dilated
    "jena_tcn": build_jena_tcn,  # beyond the book: tasks.model.jena_tcn
}
SETTINGS_ARGUMENTS: dict[str, Callable[[Any, int], dict]] = {  # model -> its builder's arguments from TrainSettings
    "imdb_conv": lambda s, n_features: dict(max_features=s.num_words, maxlen=s.maxlen, dropout=s.dropout,
                                            embedding_dropout=s.embedding_dropout, output_layer=s.output_layer),
    "jena_conv": lambda s, n_features: dict(n_features=n_features, input_noise=s.input_noise, dropout=s.dropout),
    "jena_conv_gru": lambda s, n_features: dict(n_features=n_features, recurrent_dropout=s.recurrent_dropout,
                                                gru_dropout=s.gru_dropout, input_noise=s.input_noise,
                                                dropout=s.dropout),
    "imdb_dilated": lambda s, n_features: dict(max_features=s.num_words, maxlen=s.maxlen, filters=s.filters,
                                               kernel_size=s.kernel_size, dilation_levels=s.dilation_levels,
                                               embedding_dropout=s.embedding_dropout, word_dropout=s.word_dropout,
                                               dropout=s.dropout),
    "jena_tcn": lambda s, n_features: dict(n_features=n_features, timesteps=s.lookback // s.step, filters=s.filters,
                                           kernel_size=s.kernel_size, block_dropout=s.block_dropout,
                                           layer_norm=s.layer_norm, input_noise=s.input_noise, dropout=s.dropout),
}
SETTINGS_ARGUMENTS["jena_conv_gru_fast"] = SETTINGS_ARGUMENTS["jena_conv_gru"]


def build_model(s, n_features: int = len(JENA_FEATURES)) -> keras.Model:
    """The architecture a TrainSettings names, with its knobs (optimizer, learning rate, dropout, vocabulary).

    Args:
        s: tasks.core.config.TrainSettings.
        n_features: measurements per timestep (Jena models; IMDB ignores it).
    """
    arguments = SETTINGS_ARGUMENTS[s.model](s, n_features)
    with own_default_seeds(s.seed):  # the same seed builds the same weights, whatever else the process does
        optimizer = make_optimizer(s.optimizer, s.learning_rate, s.weight_decay, s.weight_averaging)
        return MODEL_BUILDERS[s.model](learning_rate=s.learning_rate, optimizer=optimizer, **arguments)
