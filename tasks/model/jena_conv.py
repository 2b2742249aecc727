"""A 1D convnet on Jena windows (Deep Learning with Python, 1st ed., listing 6.47): `jena_conv`.

Its registration (settings, published values) is in tasks.core.architectures. Parameter counts are pinned in
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
    return build_jena_conv(n_features, input_noise=s.input_noise, dropout=s.dropout, learning_rate=s.learning_rate,
                           optimizer=optimizer)


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
    x = noisy(inputs, input_noise)
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
