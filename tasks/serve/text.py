"""The text-classification kind of the serve stage (tasks.serve.kinds): raw review text to sentiment, and a run's
serving model that takes raw text.

Text is turned into word ranks by the recipe that built the mirror's imdb.npz (tasks.serve.tokens), then into
the model's input by tasks.model.encode_reviews, exactly as the training data. So a review of the npz decoded to
text and fed through here gives the model the same input, bit for bit (tests/data/test_predict_encoding.py). A
saved model predicts with the word index its run trained with (tasks.serve.word_index).

Everything here is a plain function; the Prefect task is tasks.serve.predict. Keras is imported only inside the
functions that run a model: importing this module costs no seconds.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tasks.core import runs
from tasks.core.config import TrainSettings
from tasks.core.errors import PredictInputError, SettingsError
from tasks.core.log import log
from tasks.core.sources import IMDB_MAX_FEATURES, IMDB_MAXLEN, INDEX_FROM
from tasks.serve.common import PREDICTIONS, load_model, write_predictions
from tasks.serve.tokens import text_to_ranks
from tasks.serve.user_text import (  # the batch, threshold and excerpt of every text prediction
    EXCERPT_CHARS,
    PREDICT_BATCH,
    SIGNATURE_INPUT,
    THRESHOLD,
    predict_texts,
    run_vocabulary,
    vocabulary_serving,
)
from tasks.serve.word_index import run_word_index, word_index_file

NUM_WORDS = IMDB_MAX_FEATURES  # vocabulary of the IMDB model: ids 0..9999
MAXLEN = IMDB_MAXLEN  # words per review the model reads, the last ones
# the serving model's input name, output name and what the output is
SIGNATURE = (SIGNATURE_INPUT, "probability", "probability that the review is positive (of each label, past two)")
OUTPUT_DTYPE = "float32"  # the serving model's output, as serving.json states it
SERVING_CODE = ("serve.text", "serve.user_text", "serve.tokens", "serve.word_index", "serve.serving_layers",
                "core.vocabulary")  # what builds its serving
# model, below tasks/ (tasks.serve.serving adds its own)


# ---------------------------------------------------------------------------------------------------------------
# Word ranks to sentiment
# ---------------------------------------------------------------------------------------------------------------
def predict_reviews(
    model: Any,
    texts: Sequence[str],
    word_index: Mapping[str, int],
    *,
    num_words: int = NUM_WORDS,
    maxlen: int = MAXLEN,
    batch_size: int = PREDICT_BATCH,
    labels: tuple[str, str] = ("negative", "positive"),
) -> list[dict[str, Any]]:
    """Sentiment of raw reviews: one row per review, in input order.

    The model reads tasks.model.encode_reviews of the ranks: keras.datasets.imdb's ids (start 1, out of
    vocabulary 2, rank + 3), padded or truncated at the front to `maxlen`, as in training. A review with no word
    in the index still gets the model's probability (for a start token and padding only), flagged: the flag,
    not the label, is the answer there.

    Args:
        model: a loaded IMDB model: (batch, maxlen) int32 ids -> (batch, 1) probability of positive.
        texts: raw reviews; an empty one is allowed and flagged.
        word_index: word -> rank.
        num_words: the model's vocabulary; ids from num_words up become out-of-vocabulary.
        maxlen: tokens the model reads per review.
        batch_size: reviews per model batch.
        labels: the names of label 0 and label 1, as the dataset's spec names them (IMDB's text.labels).

    Returns:
        Per review: row (1-based position in `texts`), label (the second name, "positive", if probability > 0.5,
        else the first, "negative"), probability (of the second), words (after tokenizing), known_words (in the index),
        vocab_words (known and inside the model's num_words), flag ("" or why the prediction means little),
        excerpt (the text's start).

    Raises:
        SettingsError: if the model does not read (batch, maxlen) inputs.
    """
    from tasks.model import encode_reviews  # imports Keras

    shape = getattr(model, "input_shape", None)
    if shape is not None and (len(shape) != 2 or shape[1] not in (None, maxlen)):
        raise SettingsError(f"the model reads inputs of shape {shape}; expected (batch, {maxlen}) word ids "
                            "(an IMDB model, and maxlen as it was trained with)")
    encoded = text_to_ranks(texts, word_index)
    x = encode_reviews(encoded.ranks, num_words, maxlen)  # (reviews, maxlen) int32
    if len(texts):
        from tasks.model import in_order  # Keras' own numpy adapter logs a TensorFlow C++ error line per call

        probabilities = np.asarray(model.predict(in_order(x, batch_size=batch_size), verbose=0),
                                   dtype=np.float64).reshape(-1)
    else:
        probabilities = np.empty(0)
    rows = []
    for i, (text, p) in enumerate(zip(texts, probabilities)):
        ranks = encoded.ranks[i]
        vocab = int(np.count_nonzero(ranks < num_words - INDEX_FROM))
        rows.append({
            "row": i + 1,
            "label": labels[1] if p > THRESHOLD else labels[0],
            "probability": float(p),
            "words": int(encoded.words[i]),
            "known_words": int(encoded.known[i]),
            "vocab_words": vocab,
            "flag": review_flag(int(encoded.words[i]), int(encoded.known[i]), vocab, maxlen),
            "excerpt": " ".join(text[: EXCERPT_CHARS * 2].split())[:EXCERPT_CHARS],
        })
    return rows


def review_flag(words: int, known: int, vocab: int, maxlen: int = MAXLEN) -> str:
    """Why a review's prediction means little, or "" when nothing is amiss.

    Args:
        words: words after tokenizing.
        known: of those, words in the index.
        vocab: of those, words inside the model's vocabulary.
        maxlen: tokens the model reads (the start token is one of them).

    Returns:
        "empty review", "no known words", "no words in the model's vocabulary", "read the last N of M words"
        (a long review: the model reads its end only) or "".
    """
    if words == 0:
        return "empty review"
    if known == 0:
        return "no known words"
    if vocab == 0:
        return "no words in the model's vocabulary"
    if known + 1 > maxlen:  # + the start token; pad_sequences keeps the last maxlen ids
        return f"read the last {maxlen} of {known} words"
    return ""


# ---------------------------------------------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------------------------------------------
def _decode_utf8(data: bytes, path: Path) -> str:
    """`data` as UTF-8 (a leading byte-order mark dropped), or an error naming the line and byte offset."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise PredictInputError(
            f"{path}: line {line}, column {column} (byte offset {e.start}): bytes {data[e.start:e.end]!r} are not "
            f"UTF-8 ({e.reason}); expected a UTF-8 text file (re-save it as UTF-8)"
        ) from e
    return text.removeprefix("\ufeff")


def _read_bytes(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as e:
        raise PredictInputError(f"{path}: no such file") from e
    except IsADirectoryError as e:
        raise PredictInputError(f"{path}: is a folder; expected a file") from e


def read_reviews_file(path: Path) -> list[str]:
    """Reviews from a text file, one per line (UTF-8; LF or CRLF line ends).

    A blank line is an empty review, kept so that output row n is input line n; predict_reviews flags it
    "empty review". The newline that ends the last line does not start another review.

    Args:
        path: the file.

    Returns:
        One text per line, without its line end.

    Raises:
        PredictInputError: if the file is missing, not UTF-8 (naming the line and byte offset) or empty.
    """
    path = Path(path)
    text = _decode_utf8(_read_bytes(path), path)
    lines = text.split("\n")  # not splitlines(): it also splits at \x0b, \x1c, \x85, \u2028 ... inside reviews
    if lines[-1] == "":
        lines.pop()
    if not lines:
        raise PredictInputError(f"{path}: empty file; expected one review per line")
    return [line.removesuffix("\r") for line in lines]


def read_reviews_csv(path: Path, column: str) -> list[str]:
    """Reviews from one column of a CSV file with a header row (UTF-8; quoted fields may span lines).

    An empty cell is an empty review, kept and flagged like a blank line.

    Args:
        path: the file.
        column: the header of the column holding the review text.

    Returns:
        One text per data row, in file order.

    Raises:
        PredictInputError: if the file is missing, not UTF-8, has no header, lacks `column` (listing the columns
            it has), or a row is too short to hold it (naming the line).
    """
    path = Path(path)
    text = _decode_utf8(_read_bytes(path), path)
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))  # a long review is a review (default: 128 KiB)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise PredictInputError(f"{path}: empty file; expected a CSV header row naming a column {column!r}") from None
    except csv.Error as e:
        raise PredictInputError(f"{path}: line 1: not a CSV header ({e})") from e
    names = [name.strip() for name in header]
    if column not in names:
        raise PredictInputError(f"{path}: no column {column!r}; the header has {names}")
    at = names.index(column)
    texts = []
    try:
        for fields in reader:
            if not fields:  # csv yields [] for a blank line between rows
                continue
            if len(fields) <= at:
                raise PredictInputError(
                    f"{path}: line {reader.line_num}: {len(fields)} field(s), no value for column {column!r} "
                    f"(field {at + 1} of {len(names)})"
                )
            texts.append(fields[at])
    except csv.Error as e:
        raise PredictInputError(f"{path}: line {reader.line_num}: not valid CSV ({e})") from e
    return texts


# ---------------------------------------------------------------------------------------------------------------
# The reviews a user gives
# ---------------------------------------------------------------------------------------------------------------
def gather_reviews(texts: Sequence[str] | None, file: Path | str | None, csv_file: Path | str | None,
                   column: str) -> list[str]:
    """The reviews to predict, from exactly one source: texts given as they are, a text file, or a CSV column."""
    given = [name for name, value in (("--text", texts), ("--file", file), ("--csv", csv_file)) if value]
    if len(given) != 1:
        raise SettingsError(f"give the reviews one way: --text, --file or --csv (got {', '.join(given) or 'none'})")
    if texts:
        return [str(t) for t in texts]
    if file:
        return read_reviews_file(Path(file))
    return read_reviews_csv(Path(csv_file), column)


# ---------------------------------------------------------------------------------------------------------------
# Over a saved model folder
# ---------------------------------------------------------------------------------------------------------------
def predict_reviews_from(model_dir: Path, texts: list[str], out_dir: Path) -> list[dict[str, Any]]:
    """predict_reviews with a saved IMDB model and the word index it was trained with (the run's own copy, never
    the data folder's: tasks.serve.word_index.run_word_index); the rows, also written to out_dir/predictions.csv.

    Raises:
        SettingsError: if the run has no word index of its own and the dataset version it trained on is gone.
        DataFormatError: if the run's copy does not match its recorded sha256.
    """
    settings = runs.read_settings(model_dir)
    vocabulary = run_vocabulary(model_dir)
    if vocabulary is not None:  # a user's texts: the run's own vocabulary
        model = load_model(Path(model_dir) / runs.MODEL)
        rows = predict_texts(model, texts, vocabulary, num_words=settings.num_words, maxlen=settings.maxlen)
    else:
        index = run_word_index(model_dir)
        log(index.note, logging.INFO if index.own else logging.WARNING)  # a fallback is said where it is seen
        model = load_model(Path(model_dir) / runs.MODEL)
        names = tuple(settings.spec.text.labels) if settings.spec.text and len(settings.spec.text.labels) == 2 \
            else ("negative", "positive")
        rows = predict_reviews(model, texts, index.words, num_words=settings.num_words, maxlen=settings.maxlen,
                               labels=names)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    write_predictions(rows, Path(out_dir) / PREDICTIONS)
    return rows


def predict(model_dir: Path, inputs: Mapping[str, Any], data_dir: Path, out_dir: Path) -> list[dict[str, Any]]:
    """The predictions of a saved model for the reviews a user gives (inputs: texts, file, csv_file, column; the
    run holds its word index, so data_dir is not read), written to out_dir."""
    texts = gather_reviews(inputs.get("texts"), inputs.get("file"), inputs.get("csv_file"),
                           inputs.get("column") or "text")
    return predict_reviews_from(model_dir, texts, out_dir)


# ---------------------------------------------------------------------------------------------------------------
# The serving model: raw review strings in
# ---------------------------------------------------------------------------------------------------------------
def unservable(model_dir: Path) -> str | None:
    """Why a finished run gets no serving model (no word index or vocabulary to read raw text with), or None."""
    if word_index_file(model_dir) is None and run_vocabulary(model_dir) is None:
        return "no word index to read raw text with (trained on a dataset without word_index.json)"
    return None


def with_encoder(model: Any, word_index: dict[str, int], num_words: int, maxlen: int, name: str) -> Any:
    """(batch,) raw review strings -> (batch, 1) probability: ReviewEncoder, then `model`.

    Raises:
        SettingsError: if `model` does not read (batch, maxlen) word ids.
    """
    import keras

    from tasks.serve.serving_layers import ReviewEncoder

    shape = tuple(model.input_shape)
    if len(shape) != 2 or shape[1] not in (None, maxlen):
        raise SettingsError(f"{model.name} reads inputs of shape {shape}; an IMDB serving model feeds (batch, "
                            f"{maxlen}) word ids")
    texts = keras.Input(shape=(), dtype="string", name=SIGNATURE[0])  # (batch,)
    ids = ReviewEncoder(list(word_index), list(word_index.values()), num_words, maxlen, name="encode_reviews")(texts)
    return keras.Model(texts, model(ids), name=name)  # (batch, 1)


def build_serving(model: Any, model_dir: Path, settings: TrainSettings, name: str) -> tuple[Any, dict[str, Any]]:
    """The serving model of a run (with_encoder over its own word index, or VocabularyEncoder over its own
    vocabulary), and what it was built from."""
    vocabulary = run_vocabulary(model_dir)
    if vocabulary is not None:  # a user's texts
        return vocabulary_serving(model, model_dir, settings, vocabulary, name)
    index = run_word_index(model_dir)
    log(index.note)
    built = with_encoder(model, index.words, settings.num_words, settings.maxlen, name)
    return built, {"word_index": {"file": str(index.path), "sha256": index.sha256, "words": len(index.words)},
                   "num_words": settings.num_words, "maxlen": settings.maxlen}


def input_spec(built: Any) -> Any:
    """The SavedModel signature's input: (batch,) strings."""
    import tensorflow as tf

    return tf.TensorSpec([None], tf.string, name=SIGNATURE[0])
