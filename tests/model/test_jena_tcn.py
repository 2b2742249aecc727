"""jena_tcn (beyond the book): layer shapes, parameter counts, causality, the same outputs as a dilated causal
Conv1D stack, a saved model that loads without custom code, the loss falls on a tiny set, its settings."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from tasks.core.errors import SettingsError
from tasks.core.profiles import resolve_settings
from tasks.model.architectures import build_model
from tasks.model.jena_tcn import build_jena_tcn, tcn_dilations

pytestmark = pytest.mark.model

JENA_TIMESTEPS = 240  # the book's window at step 6: lookback 1440 rows / 6


def layer_shapes(model: keras.Model, sample: np.ndarray) -> list[tuple[str, tuple]]:
    """(layer class, output shape) of every layer after the input, on a concrete batch."""
    hidden = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    probe = keras.Model(model.input, [layer.output for layer in hidden])
    return [(type(layer).__name__, tuple(out.shape)) for layer, out in zip(hidden, probe(sample))]


def test_dilations_grow_by_the_kernel_until_the_field_covers_the_window():
    assert tcn_dilations(240, 2) == [1, 2, 4, 8, 16, 32, 64, 128]  # 2**8 = 256 >= 240 > 128
    assert tcn_dilations(256, 2) == [1, 2, 4, 8, 16, 32, 64, 128]
    assert tcn_dilations(257, 2)[-1] == 256
    assert tcn_dilations(240, 3) == [1, 3, 9, 27, 81]  # 243
    assert tcn_dilations(240, 4) == [1, 4, 16, 64]  # 256
    assert tcn_dilations(480, 4) == [1, 4, 16, 64, 256]  # step 3: 1,024
    assert tcn_dilations(1, 2) == [1]
    with pytest.raises(ValueError, match="kernel_size=1"):
        tcn_dilations(240, 1)


def stream_after(model: keras.Model, dilation: int):
    """The residual stream's layer after the causal layer of that dilation (its norm, when there is one)."""
    names = {layer.name for layer in model.layers}
    return model.get_layer(f"norm_d{dilation}" if f"norm_d{dilation}" in names else f"stream_d{dilation}")


def test_layers_and_parameters_at_kernel_2():
    model = build_jena_tcn(kernel_size=2)
    # Conv1D(28, 1) on 14: 14 * 28 + 28 = 420
    # 8 x Conv1D(28, 2) on 28: 2 * 28 * 28 + 28 = 1,596 -> 12,768
    # Dense(1) on 28: 29                                 total 13,217
    assert model.count_params() == 13_217
    assert build_jena_tcn(kernel_size=2, layer_norm=True).count_params() == 13_217 + 8 * 2 * 28
    assert model.input_shape == (None, JENA_TIMESTEPS, 14)
    shapes = layer_shapes(model, np.zeros((2, JENA_TIMESTEPS, 14), dtype="float32"))
    assert shapes[:2] == [("ZeroPadding1D", (2, 256, 14)), ("Conv1D", (2, 256, 28))]  # the stream
    causal = [shape for name, shape in shapes if name == "Conv1D"][1:]
    assert causal == [(2, 256 // 2 ** (i + 1), 28) for i in range(8)]  # each layer keeps every other step
    assert [shape for name, shape in shapes if name == "Add"] == causal
    assert shapes[-2:] == [("Flatten", (2, 28)), ("Dense", (2, 1))]
    assert model.loss == "mae"


def test_layers_and_parameters_at_kernel_4_and_the_book_window():
    model = build_jena_tcn(kernel_size=4, layer_norm=True)
    # Conv1D(28, 1) on 14: 420; 4 x [Conv1D(28, 4) on 28: 4 * 28 * 28 + 28 = 3,164; norm 56] = 12,880; Dense 29
    assert model.count_params() == 13_329
    assert build_jena_tcn(kernel_size=4).count_params() == 13_329 - 4 * 56
    shapes = layer_shapes(model, np.zeros((2, JENA_TIMESTEPS, 14), dtype="float32"))
    assert [shape for name, shape in shapes if name == "LayerNormalization"] == [
        (2, 64, 28), (2, 16, 28), (2, 4, 28), (2, 1, 28)]
    # In the range of jena_conv_gru's 13,793 (the "small model"), at the book's step 3 too
    assert 10_000 < build_jena_tcn(timesteps=480, kernel_size=4).count_params() < 17_000


def test_a_window_of_a_whole_power_needs_no_padding_and_regularizers_add_no_parameters():
    plain = build_jena_tcn(timesteps=243, kernel_size=3)
    assert not any(isinstance(layer, layers.ZeroPadding1D) for layer in plain.layers)
    regularized = build_jena_tcn(timesteps=243, kernel_size=3, block_dropout=0.1, input_noise=0.05, dropout=0.2)
    assert not any(isinstance(layer, layers.LayerNormalization) for layer in plain.layers)
    assert regularized.count_params() == plain.count_params()
    kinds = {type(layer).__name__ for layer in regularized.layers}
    assert {"SpatialDropout1D", "GaussianNoise", "Dropout"} <= kinds
    assert not {"SpatialDropout1D", "GaussianNoise", "Dropout"} & {type(layer).__name__ for layer in plain.layers}


# ---------------------------------------------------------------------------------------------------------------
# Causality: what the stack computes is a dilated causal Conv1D stack read at the steps the forecast needs
# ---------------------------------------------------------------------------------------------------------------
def dilated_twin(model: keras.Model, timesteps: int, kernel_size: int, layer_norm: bool) -> keras.Model:
    """The same weights as Conv1D(padding="causal", dilation_rate=k**l) over every step: the textbook TCN, whose
    output at each step is the stack's (batch, padded steps, filters) stream after its last layer."""
    dilations = tcn_dilations(timesteps, kernel_size)
    steps = kernel_size * dilations[-1]
    inputs = keras.Input(shape=(timesteps, 14))
    x = layers.ZeroPadding1D((steps - timesteps, 0))(inputs) if steps > timesteps else inputs
    x = layers.Conv1D(model.get_layer("stream").filters, 1, name="twin_stream")(x)
    for d in dilations:
        h = layers.Conv1D(x.shape[-1], kernel_size, padding="causal", dilation_rate=d, activation="relu",
                          name=f"twin_d{d}")(x)
        x = layers.Add()([x, h])
        x = layers.LayerNormalization(name=f"twin_norm_d{d}")(x) if layer_norm else x
    twin = keras.Model(inputs, x)
    twin.get_layer("twin_stream").set_weights(model.get_layer("stream").get_weights())
    for d in dilations:
        twin.get_layer(f"twin_d{d}").set_weights(model.get_layer(f"causal_d{d}").get_weights())
        if layer_norm:
            twin.get_layer(f"twin_norm_d{d}").set_weights(model.get_layer(f"norm_d{d}").get_weights())
    return twin


@pytest.mark.parametrize("timesteps, kernel_size, layer_norm", [(48, 2, False), (40, 3, True), (60, 4, True)])
def test_the_forecast_is_a_dilated_causal_stack_read_at_the_last_step(timesteps, kernel_size, layer_norm):
    keras.utils.set_random_seed(0)
    model = build_jena_tcn(timesteps=timesteps, kernel_size=kernel_size, filters=8, layer_norm=layer_norm)
    rng = np.random.default_rng(0)
    for layer in model.layers:  # layer norm starts as the identity: random scales make the check sharper
        if isinstance(layer, layers.LayerNormalization):
            layer.set_weights([rng.normal(1, 0.3, w.shape) for w in layer.get_weights()])
    twin = dilated_twin(model, timesteps, kernel_size, layer_norm)
    x = rng.normal(size=(4, timesteps, 14)).astype("float32")
    stream = twin.predict(x, verbose=0)  # (batch, padded steps, filters)
    last = keras.Model(model.input, stream_after(model, tcn_dilations(timesteps, kernel_size)[-1]).output)
    np.testing.assert_allclose(last.predict(x, verbose=0)[:, -1], stream[:, -1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kernel_size, layer_norm", [(2, False), (4, True)])
def test_no_step_of_the_dilated_stack_changes_when_a_later_input_step_does(kernel_size, layer_norm):
    """The sub-model up to the last temporal layer, at every step: changing input step t' changes no output step
    t < t', and changes the output at t' (the residual stream carries it)."""
    timesteps = 64
    model = build_jena_tcn(timesteps=timesteps, kernel_size=kernel_size, filters=8, layer_norm=layer_norm)
    twin = dilated_twin(model, timesteps, kernel_size, layer_norm)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, timesteps, 14)).astype("float32")
    before = twin.predict(x, verbose=0)[0]  # (steps, filters)
    for t_changed in (0, 1, 17, 40, timesteps - 1):
        changed = x.copy()
        changed[0, t_changed] += 5.0
        after = twin.predict(changed, verbose=0)[0]
        np.testing.assert_array_equal(after[:t_changed], before[:t_changed])
        assert not np.allclose(after[t_changed], before[t_changed])


def test_each_layer_kept_step_depends_on_no_later_input_and_the_forecast_on_every_step():
    """The model itself: the stream after each layer holds the steps at the end of each group of k; none of them
    changes when a later input step does, and the forecast changes whichever input step does."""
    timesteps, k = 240, 2
    model = build_jena_tcn(timesteps=timesteps, kernel_size=k, filters=8)
    dilations = tcn_dilations(timesteps, k)
    probe = keras.Model(model.input, [stream_after(model, d).output for d in dilations] + [model.output])
    pad = k * dilations[-1] - timesteps
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1, timesteps, 14)).astype("float32")
    before = probe.predict(x, verbose=0)
    for t_changed in (0, 100, 201, timesteps - 1):
        changed = x.copy()
        changed[0, t_changed] += 5.0
        after = probe.predict(changed, verbose=0)
        for d, b, a in zip(dilations, before, after):
            group = k * d  # input steps per kept step of this layer's output
            ends = np.arange(b.shape[1]) * group + group - 1 - pad  # the input step each kept step ends at
            earlier = ends < t_changed
            np.testing.assert_array_equal(a[0, earlier], b[0, earlier])
        assert not np.allclose(after[-1], before[-1])  # the forecast: its receptive field covers the window


# ---------------------------------------------------------------------------------------------------------------
# Saved, trained, configured
# ---------------------------------------------------------------------------------------------------------------
def test_a_saved_model_loads_in_safe_mode_and_forecasts_the_same(tmp_path):
    model = build_jena_tcn(timesteps=48, block_dropout=0.1, input_noise=0.1, dropout=0.1)
    x = np.random.default_rng(3).normal(size=(3, 48, 14)).astype("float32")
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras", compile=False)  # safe_mode: no custom code
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_loss_falls_on_a_tiny_set():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 40, 14)).astype("float32")  # (windows, time, features)
    y = (x[:, -12:, 1].mean(axis=1) * 3 + x[:, :5, 2].mean(axis=1)).astype("float32")  # recent and early steps
    model = build_jena_tcn(timesteps=40, learning_rate=3e-3)
    before = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    after = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    assert after < 0.7 * before


def test_settings_build_it_for_their_window_and_refuse_a_kernel_that_never_widens():
    seed = resolve_settings("jena_tcn", "seed")
    assert seed.family == "jena" and seed.lookback // seed.step == JENA_TIMESTEPS
    model = build_model(seed, 14)
    assert model.name == "jena_tcn" and model.input_shape == (None, JENA_TIMESTEPS, 14)
    assert model.count_params() == build_jena_tcn(filters=seed.filters, kernel_size=seed.kernel_size).count_params()
    assert type(model.optimizer).__name__.lower() == seed.optimizer
    smoke = resolve_settings("jena_tcn", "smoke")
    assert build_model(smoke, 14).input_shape == (None, smoke.lookback // smoke.step, 14)
    tuned = resolve_settings("jena_tcn", "seed", {"block_dropout": "0.1", "filters": "16", "layer_norm": "true"})
    kinds = {type(layer).__name__ for layer in build_model(tuned, 14).layers}
    assert {"SpatialDropout1D", "LayerNormalization"} <= kinds
    with pytest.raises(SettingsError, match="kernel_size=1"):
        resolve_settings("jena_tcn", "seed", {"kernel_size": "1"})
    with pytest.raises(SettingsError, match="block_dropout"):
        resolve_settings("jena_tcn", "seed", {"block_dropout": "1.0"})
