"""New text through tasks.serve.text gives the model exactly the input the mirror's imdb.npz gives it, and station
files of the mirror give whole forecast windows.

Reviews of the npz are decoded back to text with the word index, roughened with what the mirror's recipe removes
(capitals, punctuation, `<br />` for the word "br", tabs and newlines, words outside the index), and encoded again
by tasks.serve.text: the ranks must equal the npz's, and the predictions of a seeded (untrained) model through the
text path must equal those through the npz path. Skipped where the mirror is absent (see tests/conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tasks.serve.series import forecast_windows
from tasks.serve.stations import load_station_frames
from tasks.serve.text import predict_reviews
from tasks.serve.tokens import text_to_ranks, tokenize

pytestmark = pytest.mark.data

NOISY_REVIEWS = 3_000  # reviews roughened and predicted on (of train and test); every test review is re-encoded plain
SEPARATORS = (" ", " ", " ", "  ", "\t", "\n", ", ", ". ", "! ", "?? ", " (", ") ", ' "', '" ', " -- ", ": ", "...")
UNKNOWN = "qxzzyq"  # not a word of the index (checked below): the recipe drops it
UPPER_ASCII = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def mirror_sha256(mirror: Path, name: str) -> str:
    sums = dict(reversed(line.split("  ")) for line in (mirror / "SHA256SUMS").read_text().splitlines())
    return sums[name]


@pytest.fixture(scope="module")
def imdb(shared_datasets: Path) -> dict:
    from tasks.ingest.imdb_reviews import load_imdb_npz, load_word_index

    arrays = load_imdb_npz(shared_datasets / "imdb.npz", mirror_sha256(shared_datasets, "imdb.npz"))
    word_index = load_word_index(shared_datasets / "imdb_word_index.json")
    return {**arrays, "word_index": word_index, "words": {rank: word for word, rank in word_index.items()}}


def decode(review, words: dict[int, str]) -> str:
    return " ".join(words[r] for r in review)


def roughen(review, words: dict[int, str], rng: np.random.Generator) -> str:
    """The review as a person might have typed it: words the recipe maps back to the same ranks."""
    tokens = [words[r] for r in review]
    caps = rng.random(len(tokens))
    seps = rng.integers(0, len(SEPARATORS), len(tokens))
    out = []
    for token, cap, sep in zip(tokens, caps, seps):
        if token == "br":
            token = "<br />"  # how the word got into the npz: the review's HTML line break
        elif cap < 0.1:
            token = token.translate(UPPER_ASCII)  # A-Z only: the recipe does not lowercase "É"
        elif cap < 0.2:
            token = token[:1].translate(UPPER_ASCII) + token[1:]
        elif cap > 0.98:
            token = f"{token} {UNKNOWN}"
        out.append(token + SEPARATORS[sep])
    return "".join(out)


def test_every_word_of_the_index_is_one_token_of_the_recipe(imdb: dict) -> None:
    unstable = [w for w in imdb["word_index"] if tokenize(w) != [w]]
    assert unstable == [] and UNKNOWN not in imdb["word_index"]


def test_test_reviews_decoded_to_text_encode_back_to_the_npz_ranks(imdb: dict) -> None:
    reviews = imdb["x_test"]
    encoded = text_to_ranks([decode(r, imdb["words"]) for r in reviews], imdb["word_index"])
    assert len(encoded.ranks) == 25_000
    for i, (ours, theirs) in enumerate(zip(encoded.ranks, reviews)):
        assert ours.tolist() == list(theirs), f"test review {i}"
    np.testing.assert_array_equal(encoded.known, [len(r) for r in reviews])


def noisy_sample(imdb: dict) -> tuple[list[str], list]:
    rng = np.random.default_rng(113)
    picks = [("x_train", i) for i in rng.choice(25_000, NOISY_REVIEWS // 2, replace=False)]
    picks += [("x_test", i) for i in rng.choice(25_000, NOISY_REVIEWS - len(picks), replace=False)]
    reviews = [imdb[split][i] for split, i in picks]
    return [roughen(r, imdb["words"], rng) for r in reviews], reviews


def test_roughened_reviews_encode_back_to_the_npz_ranks(imdb: dict) -> None:
    texts, reviews = noisy_sample(imdb)
    assert sum("<br />" in t for t in texts) > 100 and sum("\t" in t for t in texts) > 1000  # the noise is there
    encoded = text_to_ranks(texts, imdb["word_index"])
    for i, (ours, theirs) in enumerate(zip(encoded.ranks, reviews)):
        assert ours.tolist() == list(theirs), f"roughened review {i}: {texts[i][:200]!r}"
    assert (encoded.words > encoded.known).sum() > NOISY_REVIEWS // 2  # the unknown words were counted, then dropped


def test_predictions_through_text_equal_predictions_through_the_npz(imdb: dict) -> None:
    import keras

    from tasks.model.imdb_conv import build_imdb_conv
    from tasks.model.encoding import encode_reviews

    keras.utils.set_random_seed(7)
    model = build_imdb_conv()  # untrained: the input, not the skill, is under test
    texts, reviews = noisy_sample(imdb)
    rows = predict_reviews(model, texts, imdb["word_index"], batch_size=256)
    expected = model.predict(encode_reviews(reviews, 10_000, 500), batch_size=256, verbose=0).reshape(-1)
    np.testing.assert_array_equal([r["probability"] for r in rows], expected.astype(np.float64))
    assert [r["label"] for r in rows] == ["positive" if p > 0.5 else "negative" for p in expected]
    assert all(r["known_words"] == len(rev) for r, rev in zip(rows, reviews))


def test_station_file_gives_a_window_for_every_reading_of_its_last_day(shared_datasets: Path) -> None:
    """mpi_roof_2024b.csv ends 20.10.2024 08:10:00 on a whole grid; its -9999 are in max. PAR, not read."""
    from tasks.core.sources import JENA_FEATURES

    data = load_station_frames([shared_datasets / "mpi_roof_2024b.csv"])
    normalization = {"features": list(JENA_FEATURES), "mean": data.features.mean(axis=0).tolist(),
                     "std": data.features.std(axis=0).tolist(), "target": "T (degC)", "target_col": 1,
                     "lookback": 1440, "step": 3, "delay": 144}
    w = forecast_windows(data.seconds, data.features, normalization, data.source, columns=data.columns)
    assert w.windows.shape == (144, 480, 14) and w.notes == ()
    assert str(w.reading_seconds[-1].astype("datetime64[s]")) == "2024-10-20T08:10:00"
    assert np.isfinite(w.windows).all()


def test_both_station_files_combine_with_the_repeated_row_noted(shared_datasets: Path) -> None:
    data = load_station_frames([shared_datasets / "mpi_roof_2024b.csv", shared_datasets / "mpi_roof_2024a.csv"])
    assert len(data.seconds) == 19_537 - 1 + 19_132 and np.all(np.diff(data.seconds) > 0)
    assert data.notes == ("1 repeated time(s) dropped, the first row of each kept (first: 13.04.2024 06:00:00)",)
