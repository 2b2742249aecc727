"""The IMDB text path: raw review text to sentiment.

Text is turned into word ranks by the recipe that built the mirror's imdb.npz (shared/datasets/README.md:
lowercase A-Z only; ``!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~``, tab and newline become spaces; split on single spaces;
words missing from imdb_word_index.json dropped), then into the model's input by tasks.model.encode_reviews, exactly
as the training data. So a review of the npz decoded to text and fed through here gives the model the
same input, bit for bit (tests/data/test_predict_encoding.py).

Everything here is a plain function; the Prefect task is tasks.serve.predict. Keras is imported only inside the
functions that run a model: importing this module costs no seconds.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from tasks.core.errors import PredictInputError, SettingsError
from tasks.core.sources import IMDB_MAX_FEATURES, IMDB_MAXLEN, INDEX_FROM

NUM_WORDS = IMDB_MAX_FEATURES  # vocabulary of the IMDB model: ids 0..9999
MAXLEN = IMDB_MAXLEN  # words per review the model reads, the last ones
PREDICT_BATCH = 512  # reviews per model batch: 512 x 500 int32 ids, ~33 MB of activations in the first conv
THRESHOLD = 0.5  # probability above which a review is positive (Keras' binary accuracy: y_pred > 0.5)
EXCERPT_CHARS = 60  # characters of each review shown in the output rows

# The recipe's filters: each of these, tab and newline becomes a space (the apostrophe is not among them).
IMDB_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_TOKEN_TABLE = str.maketrans(
    {**{c: " " for c in IMDB_FILTERS}, **{chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)}}
)


# ---------------------------------------------------------------------------------------------------------------
# IMDB: text to word ranks
# ---------------------------------------------------------------------------------------------------------------
def tokenize(text: str) -> list[str]:
    """The words of one review, by the recipe that built imdb.npz.

    Lowercase A-Z only (other letters stay as they are: "É" is not "é"); each of the recipe's punctuation
    characters, tab and newline becomes a space, so "<br />" becomes the word "br" and "don't" stays one word;
    split on single spaces and drop the empty pieces. Other whitespace (carriage return, no-break space) is part
    of a word, as in the recipe.

    Args:
        text: one raw review.

    Returns:
        Its words, in order; [] for a text with none.
    """
    return list(filter(None, text.translate(_TOKEN_TABLE).split(" ")))


class EncodedTexts(NamedTuple):
    """Word ranks of a batch of texts, with what was lost on the way."""

    ranks: list[np.ndarray]  # per text, int32 raw ranks (1 = most frequent word) of the words in the index
    words: np.ndarray  # (texts,) int64: words in the text after tokenizing, known or not
    known: np.ndarray  # (texts,) int64: words found in the index (the length of each ranks array)


def text_to_ranks(texts: Sequence[str], word_index: Mapping[str, int]) -> EncodedTexts:
    """Raw texts to raw word ranks as stored in imdb.npz: tokenize, look each word up, drop unknown words.

    Args:
        texts: raw reviews.
        word_index: word -> rank (imdb_word_index.json, tasks.ingest.normalize.load_word_index).

    Returns:
        ranks (one int32 array per text, unknown words dropped), words per text and known words per text.
    """
    get = word_index.get
    ranks: list[np.ndarray] = []
    words = np.empty(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        tokens = text.translate(_TOKEN_TABLE).split(" ")  # tokenize(), inlined: this loop is the hot path
        found = [r for r in map(get, tokens) if r is not None]  # "" is not in the index, so empties drop too
        ranks.append(np.array(found, dtype=np.int32))
        words[i] = len(tokens) - tokens.count("")
    known = np.fromiter(map(len, ranks), dtype=np.int64, count=len(ranks))
    return EncodedTexts(ranks, words, known)


def predict_reviews(
    model: Any,
    texts: Sequence[str],
    word_index: Mapping[str, int],
    *,
    num_words: int = NUM_WORDS,
    maxlen: int = MAXLEN,
    batch_size: int = PREDICT_BATCH,
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

    Returns:
        Per review: row (1-based position in `texts`), label ("positive" if probability > 0.5, else
        "negative"), probability (of positive), words (after tokenizing), known_words (in the index),
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
            "label": "positive" if p > THRESHOLD else "negative",
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
# IMDB: readers
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
# IMDB: the reviews a user gives
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
