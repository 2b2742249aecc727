"""The serving model on the mirror: raw text and raw station readings give what the training path gives.

IMDB: every test review of the mirror's imdb.npz decoded to text, and 3,000 roughened ones (capitals, punctuation,
`<br />`, tabs, unknown words: tests/data/test_predict_encoding.py), through ReviewEncoder over the mirror's word
index, give the npz's own encoding bit for bit; a seeded (untrained) imdb_conv served from raw text predicts what it
predicts on encode_reviews of the npz, to 1e-6. Jena: the 144 raw windows of mpi_roof_2024b.csv's last day through
a served jena_conv_gru give forecast_windows' forecasts to 1e-6 °C. Skipped where the mirror is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tasks.core import runs
from tasks.core.config import TrainSettings
from tasks.serve.serving import export_serving
from tests.data.test_predict_encoding import decode, imdb, noisy_sample  # noqa: F401 (imdb: the npz fixture)
from tests.support.serving import load_serving, word_index_files, write_run

pytestmark = pytest.mark.data
BATCH = 500  # reviews a call of the serving model


def in_batches(model, inputs) -> np.ndarray:
    import tensorflow as tf

    return np.concatenate([model(tf.constant(inputs[i: i + BATCH])).numpy() for i in range(0, len(inputs), BATCH)])


def test_raw_test_reviews_encode_to_the_npz_ids_bit_for_bit(imdb: dict) -> None:  # noqa: F811
    from tasks.model.encoding import encode_reviews
    from tasks.serve.serving_layers import ReviewEncoder

    encoder = ReviewEncoder(list(imdb["word_index"]), list(imdb["word_index"].values()), 10_000, 500)
    texts, reviews = noisy_sample(imdb)
    texts += [decode(r, imdb["words"]) for r in imdb["x_test"]]
    reviews = list(reviews) + list(imdb["x_test"])
    np.testing.assert_array_equal(in_batches(encoder, texts), encode_reviews(reviews, 10_000, 500))


def test_served_imdb_model_on_raw_text_equals_it_on_the_npz(imdb: dict, shared_datasets: Path,  # noqa: F811
                                                           tmp_path: Path) -> None:
    import keras

    from tasks.model.imdb_conv import build_imdb_conv
    from tasks.model.encoding import encode_reviews

    keras.utils.set_random_seed(7)
    model = build_imdb_conv()  # untrained: the input, not the skill, is under test
    run_dir = write_run(tmp_path / "imdb_conv", TrainSettings(model="imdb_conv"), model,
                        word_index_files((shared_datasets / "imdb_word_index.json").read_bytes()))
    export_serving(run_dir)
    texts, reviews = noisy_sample(imdb)
    expected = model.predict(encode_reviews(reviews, 10_000, 500), batch_size=BATCH, verbose=0).reshape(-1)
    np.testing.assert_allclose(in_batches(load_serving(run_dir), texts).reshape(-1), expected, atol=1e-6, rtol=0)


def test_served_jena_model_on_raw_readings_equals_the_forecast_path(shared_datasets: Path, tmp_path) -> None:
    import keras

    from tasks.core.records.normalization import NormalizationRecord
    from tasks.model.jena_conv_gru import build_jena_conv_gru
    from tasks.serve.series import forecast, forecast_windows
    from tasks.serve.stations import load_station_frames

    data = load_station_frames([shared_datasets / "mpi_roof_2024b.csv"])
    normalization = NormalizationRecord(features=data.columns, mean=data.features.mean(axis=0),
                                        std=data.features.std(axis=0), target="T (degC)", target_col=1,
                                        lookback=1440, step=3, delay=144)
    keras.utils.set_random_seed(7)
    model = build_jena_conv_gru()
    run_dir = write_run(tmp_path / "jena_conv_gru", TrainSettings(model="jena_conv_gru", lookback=1440, step=3),
                        model, {runs.NORMALIZATION: json.dumps(normalization.to_json()).encode()})
    export_serving(run_dir)
    expected = forecast(model, forecast_windows(data.seconds, data.features, normalization, data.source))
    rows = np.searchsorted(data.seconds, expected.reading_seconds)
    raw = np.stack([data.features[e - 1440 + 1: e + 1] for e in rows])  # (144, 1440, 14) in file units
    assert raw.shape == (144, 1440, 14)
    np.testing.assert_allclose(in_batches(load_serving(run_dir), raw).reshape(-1), expected.forecast_c, atol=1e-6,
                               rtol=0)
