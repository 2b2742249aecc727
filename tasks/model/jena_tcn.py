"""Beyond the book: a temporal convolutional network on Jena windows (`jena_tcn`).

The chapter opens on 1D convnets "typically with dilated kernels" rivalling RNNs at a fraction of the cost
(WaveNet), then shows only undilated ones. This is the dilated one for the temperature forecast: a stack of causal
convolutions of kernel k whose dilations grow by k from layer to layer (1, 2, 4, ... at k = 2), until the last
layer's receptive field covers the whole window; each layer adds to a residual stream instead of replacing it,
and the forecast reads the stream at the window's last timestep, which has seen every step. Layer norm after each
addition is an option (off in the chosen settings: on validation it did worse, RESULTS.md); what the model needs
against 14,784 overlapping training windows is dropout and input noise.

The forecast reads one timestep, so the stack is computed only where that step's receptive field reads it (the
"fast WaveNet" trick): layer l with dilation k**l is read every k**(l + 1) steps, and at those steps a causal
convolution of dilation k**l is a Conv1D(kernel k, stride k) over the previous layer's kept steps, with the same
weights and outputs (tests/model/test_jena_tcn.py checks both against a Conv1D(padding="causal", dilation_rate=
k**l) stack). The window is padded with zeros in front to k**layers steps; each layer has k times fewer steps
than the one below, so the whole stack costs about k / (k - 1) times its first layer, and nothing is sequential:
an epoch costs a fraction of the GRU's (bench/epochs.py).

The window length is fixed when the model is built (the number of layers is chosen for it). Every layer is a
built-in Keras layer, so a saved model loads without custom code. Parameter counts are pinned in
tests/model/test_jena_tcn.py; the issue keeps them in the range of `jena_conv_gru`'s 13,793.
"""

from __future__ import annotations

import keras
from keras import layers

from tasks.core.config import RMSPROP_LEARNING_RATE
from tasks.core.sources import JENA_FEATURES


def tcn_dilations(timesteps: int, kernel_size: int) -> list[int]:
    """Dilations 1, k, k**2, ... until a causal stack of them, kernel k, sees `timesteps` steps.

    The stack's last step sees 1 + (k - 1) * (1 + k + ... + k**(L - 1)) = k**L steps after L layers.

    Raises:
        ValueError: a kernel below 2 (it cannot widen the field) or fewer than one timestep.
    """
    if kernel_size < 2 or timesteps < 1:
        raise ValueError(f"kernel_size={kernel_size}, timesteps={timesteps}: need kernel_size >= 2, timesteps >= 1")
    dilations = [1]
    while kernel_size * dilations[-1] < timesteps:
        dilations.append(kernel_size * dilations[-1])
    return dilations


def build(s, n_features: int, optimizer: keras.optimizers.Optimizer) -> keras.Model:
    """The model a run's settings (tasks.core.config.TrainSettings) name: its window is lookback // step steps."""
    return build_jena_tcn(n_features, s.lookback // s.step, filters=s.filters, kernel_size=s.kernel_size,
                          block_dropout=s.block_dropout, layer_norm=s.layer_norm, input_noise=s.input_noise,
                          dropout=s.dropout, learning_rate=s.learning_rate, optimizer=optimizer)


def build_jena_tcn(
    n_features: int = len(JENA_FEATURES),
    timesteps: int = 240,
    *,
    filters: int = 28,
    kernel_size: int = 2,
    block_dropout: float = 0.0,
    layer_norm: bool = False,
    input_noise: float = 0.0,
    dropout: float = 0.0,
    learning_rate: float = RMSPROP_LEARNING_RATE,
    optimizer: keras.optimizers.Optimizer | None = None,
) -> keras.Model:
    """Causal dilated convolutions on a residual stream, read at the last timestep, into Dense(1).

    13,217 parameters with the defaults (14 features, 240 timesteps: the book's lookback 1440 at step 6, padded
    to 256; dilations 1 to 128, a receptive field of 256 steps):
        Conv1D(28, 1) on 14 (the stream):            14 * 28 + 28     =    420
        8 x Conv1D(28, 2, dilation d) on 28:         2 * 28 * 28 + 28 =  1,596   12,768
        Dense(1) on 28:                                                              29
    layer_norm adds 2 * 28 = 56 a layer (13,665).
    Shapes at layer l (0-based, k = kernel_size): the stream holds 256 / k**(l + 1) steps after it.

    Args:
        n_features: measurements per timestep.
        timesteps: window length (lookback // step); the dilations cover it.
        filters: width of the residual stream and of every convolution.
        kernel_size: taps per causal convolution, and the factor between dilations (2: doubling).
        block_dropout: rate of a SpatialDropout1D (whole feature maps) on each layer's output before it joins the
            stream; 0 leaves it out. No parameters.
        layer_norm: a LayerNormalization of the stream after each layer (per timestep, over the filters, so it
            never looks ahead).
        input_noise: standard deviation of Gaussian noise on the (normalized) inputs while training; 0 adds none.
        dropout: rate of a Dropout before the output layer; 0 leaves it out. No parameters.
        learning_rate: RMSprop step size, when no optimizer is given.
        optimizer: an optimizer to compile with instead of RMSprop(learning_rate) (make_optimizer).

    Returns:
        A compiled model, MAE loss: (batch, timesteps, features) -> (batch, 1) normalized temperature.
    """
    dilations = tcn_dilations(timesteps, kernel_size)
    k, steps = kernel_size, kernel_size * dilations[-1]  # steps: the receptive field, >= timesteps
    inputs = keras.Input(shape=(timesteps, n_features), name="window")  # (batch, time, features)
    x = layers.GaussianNoise(input_noise)(inputs) if input_noise > 0 else inputs
    if steps > timesteps:  # zeros before the window: what a causal convolution's padding reads there
        x = layers.ZeroPadding1D((steps - timesteps, 0))(x)  # (batch, steps, features)
    x = layers.Conv1D(filters, 1, name="stream")(x)  # (batch, steps, filters)
    for d in dilations:
        # Kept steps (batch, steps, filters) -> (batch, steps / k, filters): at the last step of each group of k,
        # the causal convolution of dilation d reads the group, and the residual is that last step itself.
        h = layers.Conv1D(filters, k, strides=k, activation="relu", name=f"causal_d{d}")(x)
        if block_dropout > 0:
            h = layers.SpatialDropout1D(block_dropout)(h)
        groups = layers.Reshape((steps // k, k, filters))(x)  # (batch, steps / k, k, filters)
        last = layers.Cropping2D(((0, 0), (k - 1, 0)))(groups)  # (batch, steps / k, 1, filters)
        steps //= k
        x = layers.Add(name=f"stream_d{d}")([layers.Reshape((steps, filters))(last), h])  # (batch, steps, filters)
        if layer_norm:
            x = layers.LayerNormalization(name=f"norm_d{d}")(x)  # per timestep, over the filters: no look ahead
    x = layers.Flatten()(x)  # (batch, filters): the window's last step, which has seen all of it
    if dropout > 0:
        x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(1)(x)  # (batch, 1)
    model = keras.Model(inputs, outputs, name="jena_tcn")
    model.compile(optimizer=optimizer or keras.optimizers.RMSprop(learning_rate=learning_rate), loss="mae")
    return model
