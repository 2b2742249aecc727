"""A run's serving model (tasks/serve/serving.py): raw input in, the training path's prediction out.

IMDB: raw review strings through the serving model give what the trained model gives on the training encoding
(text_to_ranks, then encode_reviews); Jena: raw readings give what forecast_windows' normalized windows give. The
SavedModel predicts the same in a fresh Python that never imports this project, from a copy of serving/ alone; an
old run keeps its own vocabulary after a new IMDB version changes the word index. Tiny, untrained models: the
preprocessing, not the skill, is under test.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tasks.core import runs
from tasks.core.config import TrainSettings
from tasks.core.errors import DataFormatError, SettingsError
from tasks.core.records.normalization import NormalizationRecord
from tasks.core.sources import JENA_FEATURES
from tasks.serve import serving, word_index
from tasks.serve.tokens import text_to_ranks
from tests.support.serving import load_serving, word_index_files, write_run

pytestmark = pytest.mark.unit

NUM_WORDS, MAXLEN = 60, 60  # a tiny vocabulary, so ranks from 57 up are out of it
WORDS = {"the": 1, "movie": 2, "don't": 3, "br": 4, "great": 5, "not": 11, "bad": 12, "École": 6, "[UNK]": 7,
         "Big": 8, "rare": 56, "rarer": 57, "rarest": 80, **{f"w{i}": i for i in range(13, 50)}}
REVIEWS = [
    "The MOVIE was great!!! Not bad, not BAD.<br /><br />Don't\tmiss\nit",
    "",  # empty: the start token alone
    "zzz qqq [UNK] Big",  # no known word: "[UNK]" and "Big" cannot come out of the recipe
    "ÉCOLE École rare rarer rarest",  # É is not lowercased; rarer and rarest are out of the vocabulary
    "a\rb the\u00a0movie  the   movie",  # only space, tab and newline split
    " ".join(f"w{13 + i % 37}" for i in range(150)),  # longer than MAXLEN: its last words only
    "w13 " * (MAXLEN - 1),  # exactly MAXLEN ids with the start token
    "w14 " * MAXLEN,  # one more: the start token is cut
]


@pytest.fixture(scope="module")
def imdb_run(tmp_path_factory) -> Path:
    import keras

    from tasks.model.imdb_conv import build_imdb_conv

    keras.utils.set_random_seed(3)
    model = build_imdb_conv(max_features=NUM_WORDS, maxlen=MAXLEN, embedding_dim=8)
    settings = TrainSettings(model="imdb_conv", num_words=NUM_WORDS, maxlen=MAXLEN)
    run_dir = write_run(tmp_path_factory.mktemp("runs") / "imdb_conv", settings, model,
                        word_index_files(json.dumps(WORDS).encode()))
    serving.export_serving(run_dir)
    return run_dir


def training_path_probabilities(run_dir: Path, texts: list[str], words: dict[str, int]) -> np.ndarray:
    """What training would feed the model, as the model predicts it: (texts,) probabilities."""
    import keras

    from tasks.model.encoding import encode_reviews

    model = keras.models.load_model(run_dir / runs.MODEL, compile=False)
    ids = encode_reviews(text_to_ranks(texts, words).ranks, NUM_WORDS, MAXLEN)
    return model.predict(ids, verbose=0).reshape(-1)


# ---------------------------------------------------------------------------------------------------------------
# IMDB
# ---------------------------------------------------------------------------------------------------------------
def test_review_encoder_gives_the_training_ids_bit_for_bit() -> None:
    import tensorflow as tf

    from tasks.model.encoding import encode_reviews
    from tasks.serve.serving_layers import ReviewEncoder

    encoder = ReviewEncoder(list(WORDS), list(WORDS.values()), NUM_WORDS, MAXLEN)
    expected = encode_reviews(text_to_ranks(REVIEWS, WORDS).ranks, NUM_WORDS, MAXLEN)
    np.testing.assert_array_equal(encoder(tf.constant(REVIEWS)).numpy(), expected)
    np.testing.assert_array_equal(encoder(tf.constant(REVIEWS)[:, None]).numpy(), expected)  # (batch, 1) too
    assert expected[3].tolist()[-6:] == [1, 9, 9, 59, 2, 2]  # École twice, rare (59 < 60); rarer, rarest out


def test_serving_model_on_raw_reviews_equals_the_training_path(imdb_run: Path) -> None:
    import tensorflow as tf

    expected = training_path_probabilities(imdb_run, REVIEWS, WORDS)
    got = load_serving(imdb_run)(tf.constant(REVIEWS)).numpy().reshape(-1)
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0)
    assert np.ptp(expected) > 1e-4  # the reviews differ to the model: equal outputs mean equal inputs


def test_serving_folder_says_what_goes_in_and_out(imdb_run: Path) -> None:
    folder = imdb_run / runs.SERVING
    assert sorted(p.name for p in folder.iterdir()) == ["model.keras", "saved_model", "serving.json"]
    manifest = json.loads((folder / serving.MANIFEST).read_text())
    assert manifest["input"] == {"name": "reviews", "dtype": "string", "shape": [None]}
    assert manifest["output"]["name"] == "probability" and manifest["signature"] == "serving_default"
    assert manifest["word_index"]["sha256"] == hashlib.sha256((imdb_run / runs.WORD_INDEX).read_bytes()).hexdigest()
    assert (manifest["num_words"], manifest["maxlen"]) == (NUM_WORDS, MAXLEN)


def test_export_is_kept_when_made_by_the_same_code(imdb_run: Path) -> None:
    manifest = imdb_run / runs.SERVING / serving.MANIFEST
    stamp = manifest.stat().st_mtime_ns
    assert serving.export_serving(imdb_run) == imdb_run / runs.SERVING
    assert manifest.stat().st_mtime_ns == stamp


def test_a_failed_export_leaves_no_half_folder_and_keeps_the_earlier_one(imdb_run: Path, tmp_path, monkeypatch):
    run_dir = tmp_path / "imdb_conv"
    shutil.copytree(imdb_run, run_dir)
    before = (run_dir / runs.SERVING / serving.MANIFEST).read_bytes()
    monkeypatch.setattr(serving, "serving_code", lambda: "other code")  # so the export runs again

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(serving, "export_saved_model", broken)
    with pytest.raises(OSError, match="disk full"):
        serving.export_serving(run_dir)
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith("serving")) == ["serving"]
    assert (run_dir / runs.SERVING / serving.MANIFEST).read_bytes() == before

    shutil.rmtree(run_dir / runs.SERVING)
    with pytest.raises(OSError, match="disk full"):
        serving.export_serving(run_dir)
    assert not [p for p in run_dir.iterdir() if p.name.startswith("serving")]


def test_an_old_run_keeps_its_vocabulary_after_a_new_version_changes_the_word_index(imdb_run, tmp_path) -> None:
    """The data folder's index changes (a new IMDB version); the run's copy does not, nor do its predictions."""
    from tasks.serve.common import load_model
    from tasks.serve.text import predict_reviews, predict_reviews_from

    data = tmp_path / "data" / "processed" / "imdb"
    data.mkdir(parents=True)
    (data / "word_index.json").write_text(json.dumps(WORDS))
    texts = REVIEWS[:1] + ["not bad the movie w20 w21", "bad not great w30 w31 w32"]
    before = [r["probability"] for r in predict_reviews_from(imdb_run, texts, tmp_path / "p1")]

    reshuffled = dict(zip(WORDS, np.random.default_rng(0).permutation(list(WORDS.values())).tolist()))
    (data / "word_index.json").write_text(json.dumps(reshuffled))  # the new version's vocabulary
    after = [r["probability"] for r in predict_reviews_from(imdb_run, texts, tmp_path / "p2")]
    assert after == before
    np.testing.assert_allclose(load_serving(imdb_run).predict(np.array(texts, dtype=object), verbose=0).reshape(-1),
                               before, atol=1e-6, rtol=0)
    model = load_model(imdb_run / runs.MODEL)
    with_new = [r["probability"] for r in predict_reviews(model, texts, reshuffled, num_words=NUM_WORDS,
                                                          maxlen=MAXLEN)]
    assert np.abs(np.subtract(with_new, before)).max() > 1e-4  # the new index would have changed them


def test_a_run_without_its_own_word_index_uses_its_version_or_says_what_to_do(imdb_run, tmp_path) -> None:
    run_dir = tmp_path / "runs" / "imdb_conv"
    shutil.copytree(imdb_run, run_dir)
    (run_dir / runs.WORD_INDEX).unlink()
    version = tmp_path / "version"
    version.mkdir()
    (version / "word_index.json").write_text(json.dumps(WORDS))
    (run_dir / runs.TRAINING).write_text(json.dumps({"data": {"path": str(version)}}))
    index = word_index.run_word_index(run_dir)
    assert (index.path, index.own, index.words) == (version / "word_index.json", False, WORDS)
    assert "the run keeps no copy" in index.note

    shutil.rmtree(version)
    with pytest.raises(SettingsError, match="has no word_index.json .* train the model again, or copy that version"):
        word_index.run_word_index(run_dir)
    shutil.rmtree(run_dir / runs.SERVING)
    assert serving.export_serving(run_dir) is None and not (run_dir / runs.SERVING).exists()


def test_a_changed_word_index_copy_is_refused(imdb_run, tmp_path) -> None:
    run_dir = tmp_path / "imdb_conv"
    shutil.copytree(imdb_run, run_dir)
    (run_dir / runs.WORD_INDEX).write_text(json.dumps({**WORDS, "the": 2}))
    with pytest.raises(DataFormatError, match=r"word_index.json: sha256 .* but .*word_index.sha256 says"):
        word_index.run_word_index(run_dir)


def test_a_missing_word_index_sha256_is_an_error_never_a_skipped_check(imdb_run, tmp_path) -> None:
    run_dir = tmp_path / "imdb_conv"
    shutil.copytree(imdb_run, run_dir)
    (run_dir / runs.WORD_INDEX_SHA256).unlink()
    with pytest.raises(DataFormatError, match=r"word_index.sha256 is missing, so the run's word index cannot be "
                                              r"checked"):
        word_index.run_word_index(run_dir)
    (run_dir / runs.WORD_INDEX).write_text(json.dumps({**WORDS, "the": 2}))
    with pytest.raises(DataFormatError, match=r"word_index.sha256 is missing"):
        word_index.run_word_index(run_dir)


def test_the_serving_record_of_the_word_index_is_checked_too(imdb_run, tmp_path) -> None:
    run_dir = tmp_path / "imdb_conv"
    shutil.copytree(imdb_run, run_dir)
    changed = json.dumps({**WORDS, "the": 2}).encode()
    (run_dir / runs.WORD_INDEX).write_bytes(changed)  # and its .sha256 rewritten to match: serving.json disagrees
    (run_dir / runs.WORD_INDEX_SHA256).write_text(f"{hashlib.sha256(changed).hexdigest()}  word_index.json\n")
    with pytest.raises(DataFormatError, match=r"word_index.json: sha256 .* but .*serving.json says"):
        word_index.run_word_index(run_dir)
    shutil.rmtree(run_dir / runs.SERVING)  # the .sha256 alone then vouches for the index it names
    assert word_index.run_word_index(run_dir).words == {**WORDS, "the": 2}


# ---------------------------------------------------------------------------------------------------------------
# Jena
# ---------------------------------------------------------------------------------------------------------------
LOOKBACKS = {"jena_conv": (144, 6), "jena_conv_gru": (72, 3)}  # (lookback, step): 24 timesteps each


@pytest.fixture(scope="module")
def station() -> tuple[np.ndarray, np.ndarray]:
    """Two days of raw 10-minute readings: (rows,) seconds and (rows, 14) float64 in file units."""
    from tests.support.fixtures import synthetic_weather

    import pandas as pd

    frame = synthetic_weather("2024-03-01 00:10:00", 300, seed=5)
    stamps = pd.to_datetime(frame["Date Time"], format="%d.%m.%Y %H:%M:%S").to_numpy()
    return stamps.astype("datetime64[s]").astype(np.int64), frame[list(JENA_FEATURES)].to_numpy(dtype=np.float64)


@pytest.fixture(scope="module")
def jena_runs(tmp_path_factory, station) -> dict[str, Path]:
    import keras

    from tasks.model.jena_conv import build_jena_conv
    from tasks.model.jena_conv_gru import build_jena_conv_gru

    _, features = station
    base = tmp_path_factory.mktemp("runs")
    out = {}
    for name, build in (("jena_conv", build_jena_conv), ("jena_conv_gru", build_jena_conv_gru)):
        lookback, step = LOOKBACKS[name]
        keras.utils.set_random_seed(4)
        run_dir = write_run(base / name, TrainSettings(model=name, lookback=lookback, step=step, delay=12), build())
        NormalizationRecord(features=JENA_FEATURES, mean=features.mean(axis=0) + 0.123456789, std=features.std(axis=0),
                            target="T (degC)", target_col=1, lookback=lookback, step=step,
                            delay=12).write(run_dir / runs.NORMALIZATION)
        serving.export_serving(run_dir)
        out[name] = run_dir
    return out


@pytest.mark.parametrize("name", list(LOOKBACKS))
def test_serving_model_on_raw_readings_equals_the_forecast_path(name, jena_runs, station) -> None:
    import tensorflow as tf

    from tasks.serve.common import load_model
    from tasks.serve.series import forecast, forecast_windows, read_normalization

    run_dir, (seconds, features) = jena_runs[name], station
    normalization = read_normalization(run_dir / runs.NORMALIZATION)
    expected = forecast(load_model(run_dir / runs.MODEL), forecast_windows(seconds, features, normalization, "test"))
    rows = np.searchsorted(seconds, expected.reading_seconds)  # each forecast's newest reading
    lookback = normalization.lookback
    raw = np.stack([features[e - lookback + 1: e + 1] for e in rows])  # (12, lookback, 14): the last readings
    got = load_serving(run_dir)(tf.constant(raw)).numpy().reshape(-1)
    np.testing.assert_allclose(got, expected.forecast_c, atol=1e-6, rtol=0)
    assert len(rows) == 12 and np.ptp(expected.forecast_c) > 1e-3


@pytest.mark.parametrize("name", list(LOOKBACKS))
def test_jena_serving_reads_every_step_th_reading_ending_at_the_newest(name, jena_runs, station) -> None:
    """Changing every reading the model does not read leaves the forecast; changing the first one read moves it.

    (Not the newest: the convnets' valid Conv1D and floored MaxPooling1D drop the last few timesteps of a window.)
    """
    import tensorflow as tf

    (lookback, step), (_, features) = LOOKBACKS[name], station
    model = load_serving(jena_runs[name])
    raw = features[None, -lookback:].copy()  # (1, lookback, 14)
    base = model(tf.constant(raw)).numpy()
    unread, read = raw.copy(), raw.copy()
    skipped = np.setdiff1d(np.arange(lookback), np.arange(step - 1, lookback, step))
    unread[0, skipped] += 10.0
    read[0, step - 1] += 10.0
    assert len(skipped) == lookback - lookback // step
    assert model(tf.constant(unread)).numpy() == pytest.approx(base, abs=1e-12)
    assert np.abs(model(tf.constant(read)).numpy() - base).max() > 1e-4


# ---------------------------------------------------------------------------------------------------------------
# The SavedModel with TensorFlow alone
# ---------------------------------------------------------------------------------------------------------------
PLAIN_TENSORFLOW = """
import json, sys
import numpy as np
import tensorflow as tf
imdb = tf.saved_model.load("imdb/saved_model").signatures["serving_default"]
jena = tf.saved_model.load("jena/saved_model").signatures["serving_default"]
reviews = json.loads(open("reviews.json").read())
readings = np.load("readings.npy")
out = {"probability": imdb(reviews=tf.constant(reviews))["probability"].numpy().tolist(),
       "forecast_c": jena(readings=tf.constant(readings))["forecast_c"].numpy().tolist(),
       "project_imported": any(m == "tasks" or m.startswith(("tasks.", "flows", "tests")) for m in sys.modules)}
print(json.dumps(out))
"""


def test_a_copy_of_serving_alone_predicts_the_same_with_plain_tensorflow(imdb_run, jena_runs, station, tmp_path):
    import tensorflow as tf

    _, features = station
    readings = np.stack([features[-144:], features[-150:-6]])  # (2, 144, 14)
    shutil.copytree(imdb_run / runs.SERVING, tmp_path / "imdb")
    shutil.copytree(jena_runs["jena_conv"] / runs.SERVING, tmp_path / "jena")
    (tmp_path / "reviews.json").write_text(json.dumps(REVIEWS))
    np.save(tmp_path / "readings.npy", readings)
    # -I: no current folder, no PYTHONPATH, no user site on sys.path, so nothing of this project can be imported
    result = subprocess.run([sys.executable, "-I", "-c", PLAIN_TENSORFLOW], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300, env={"TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""})
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["project_imported"] is False
    np.testing.assert_allclose(out["probability"], training_path_probabilities(imdb_run, REVIEWS, WORDS),
                               atol=1e-6, rtol=0)
    in_process = load_serving(jena_runs["jena_conv"])(tf.constant(readings)).numpy().reshape(-1)
    np.testing.assert_allclose(out["forecast_c"], in_process, atol=1e-6, rtol=0)
