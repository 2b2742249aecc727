"""The book's convnet-then-GRU on Jena windows (Deep Learning with Python, 1st ed., listing 6.49): `jena_conv_gru`,
and `jena_conv_gru_fast` (the same with recurrent_dropout 0, eligible for cuDNN).

Their registrations (settings, published values) are in tasks.core.architectures. Parameter counts are pinned in
tests/model/test_models.py.
"""

from __future__ import annotations

import keras
from keras import layers

from tasks.core.config import RMSPROP_LEARNING_RATE
from tasks.core.sources import JENA_FEATURES
from tasks.model.blocks import noisy


def build(s, n_features: int, optimizer: keras.optimizers.Optimizer) -> keras.Model:
    """The model a run's settings (tasks.core.config.TrainSettings) name, for `n_features` per timestep."""
    return build_jena_conv_gru(n_features, s.recurrent_dropout, gru_dropout=s.gru_dropout, input_noise=s.input_noise,
                               dropout=s.dropout, learning_rate=s.learning_rate, optimizer=optimizer)


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
    x = noisy(inputs, input_noise)
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
