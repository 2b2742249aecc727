"""Predictions on new data: raw review text to sentiment, the latest station readings to a 24-hour forecast.

IMDB: text is turned into word ranks by the recipe that built the mirror's imdb.npz (shared/datasets/README.md:
lowercase A-Z only; ``!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~``, tab and newline become spaces; split on single spaces;
words missing from imdb_word_index.json dropped), then into the model's input by tasks.model.architectures.encode_reviews,
exactly as the training data. So a review of the npz decoded to text and fed through here gives the model the
same input, bit for bit (tests/data/test_predict_encoding.py).

Jena: a window is named by its anchor row r as in tasks.model.windows: inputs are rows r - lookback, ..., r - step, the
target is the temperature of row r + delay. To use the newest reading e, the anchor is r = e + step, which may lie
beyond the data; the forecast is for time(e) + (step + delay) x 10 minutes (24 h 30 min at step 3, 25 h at step 6:
the horizon the models were trained and judged on, see tasks.judge.evaluate.persistence_predictions). Every reading of
the last 24 hours gets a forecast; the headline is the newest one's. Inputs are normalized with the model's
training statistics (normalization.json), never the new data's.

Everything here is a plain function; the Prefect wrappers and the CLI live in flows/predict.py. TensorFlow and
Keras are imported only inside the functions that run a model (tasks.model.architectures and tasks.model.windows import them at
module level, so they too are imported lazily): importing this module costs no seconds.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from prefect import task

from tasks.core import atomic
from tasks.core.sources import (
    IMDB_MAX_FEATURES,
    IMDB_MAXLEN,
    INDEX_FROM,
    JENA_FEATURES,
    JENA_SENTINEL,
    JENA_STEP_MINUTES,
    JENA_TARGET,
    JENA_TIMESTAMP,
    JENA_TIMESTAMP_FORMAT,
)
from tasks.core.errors import PredictInputError, SettingsError

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

TEN_MINUTES = JENA_STEP_MINUTES * 60  # seconds between two readings of the station's grid


# ---------------------------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------------------------
def load_model(path: Path) -> Any:
    """A saved model (`model.keras` of a run) ready to predict: loaded without its optimizer and metrics.

    compile=False: prediction needs neither, and it loads in about half the time (bench/predict.py) without
    Keras' warning about optimizer variables it skips.

    Args:
        path: the .keras file.

    Returns:
        The keras.Model.

    Raises:
        PredictInputError: if the file is missing or not a Keras model file.
    """
    import keras

    path = Path(path)
    if not path.is_file():
        raise PredictInputError(f"{path}: no such model file; expected a run's model.keras")
    try:
        return keras.models.load_model(path, compile=False)
    except (ValueError, OSError) as e:
        raise PredictInputError(f"{path}: not a Keras model file ({type(e).__name__}: {e})") from e


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

    The model reads tasks.model.architectures.encode_reviews of the ranks: keras.datasets.imdb's ids (start 1, out of
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
# Output: files and the terminal
# ---------------------------------------------------------------------------------------------------------------
OUTPUT_SUFFIXES = (".csv", ".jsonl")


def write_predictions(rows: Sequence[Mapping[str, Any]], out_path: Path) -> Path:
    """Write prediction rows as CSV or JSON Lines, chosen by the extension, atomically (temporary file + rename).

    Args:
        rows: dicts with the same keys (predict_reviews or Forecast.rows); the first row's keys are the columns.
        out_path: ends in .csv (a header, then one line per row) or .jsonl (one JSON object per line).

    Returns:
        `out_path`.

    Raises:
        SettingsError: on any other extension.
    """
    out_path = Path(out_path)
    suffix = out_path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise SettingsError(f"{out_path}: cannot write predictions as {suffix or 'a file without extension'!r}; "
                            f"expected one of {list(OUTPUT_SUFFIXES)}")
    buffer = io.StringIO(newline="")
    if suffix == ".csv":
        columns = list(rows[0]) if rows else []
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="raise")
        writer.writeheader()
        writer.writerows(rows)
    else:
        for row in rows:
            buffer.write(json.dumps(dict(row), ensure_ascii=False) + "\n")
    return atomic.write_text(out_path, buffer.getvalue())


# ---------------------------------------------------------------------------------------------------------------
# Jena: station readings
# ---------------------------------------------------------------------------------------------------------------
def _when(seconds: int | np.integer) -> str:
    """A time as the station files write it (dd.mm.yyyy HH:MM:SS), for messages: findable in the file."""
    return np.datetime64(int(seconds), "s").item().strftime(JENA_TIMESTAMP_FORMAT)


def _iso(seconds: int | np.integer) -> str:
    """A time as ISO 8601 without zone (station time), for output rows."""
    return str(np.datetime64(int(seconds), "s")).replace("T", " ")


@dataclass(frozen=True)
class StationData:
    """Station readings as they were measured: sorted, one row per time, -9999 left in place (not repaired)."""

    seconds: np.ndarray  # (rows,) int64 seconds since 1970 of each reading (station time), strictly increasing
    features: np.ndarray  # (rows, features) float64 readings; JENA_SENTINEL or NaN where there was none
    columns: tuple[str, ...]  # the feature names, in the column order of `features`
    source: str  # the file names, for messages
    notes: tuple[str, ...]  # what loading changed: repeated times dropped (a repeated row, or files overlapping)


def load_station_frames(paths: Sequence[Path], features: Sequence[str] = JENA_FEATURES) -> StationData:
    """The readings of station CSV files (raw, or zipped) or of a published jena.parquet, combined.

    CSVs are parsed by tasks.ingest.normalize (latin-1, quoted or unquoted headers, padded values, CRLF); unlike
    ingestion, -9999 is left in place so that forecast_windows can tell a missing reading from a real one. Rows
    are sorted by time; a repeated time keeps its first row (as ingestion does). A published Parquet had its
    -9999 interpolated at ingestion.

    Args:
        paths: station files (`.csv`, `.zip`) and/or `.parquet` tables (or a published dataset folder holding
            jena.parquet, e.g. data/processed/jena), in any order; they may overlap.
        features: the columns to read, in the model's order (normalization.json's "features").

    Returns:
        The combined readings.

    Raises:
        PredictInputError: if no path is given, a file is missing or lacks one of `features` (naming both), or a
            time is not dd.mm.yyyy HH:MM:SS (naming the line).
        DataFormatError: from tasks.ingest.normalize, on a file that is not a readable CSV or holds a non-number.
    """
    import pandas as pd

    from tasks.ingest import read_jena, read_jena_csv  # imports pandas, pyarrow and Prefect

    features = tuple(features)
    if not paths:
        raise PredictInputError("no station file given; expected at least one .csv, .zip or .parquet")
    parts_seconds, parts_values, names = [], [], []
    for path in map(Path, paths):
        if path.is_dir() and (path / "jena.parquet").is_file():
            path = path / "jena.parquet"
        names.append(path.name)
        if not path.is_file():
            raise PredictInputError(f"{path}: no such file")
        if path.suffix.lower() == ".parquet":
            seconds, values = read_jena(path)  # JENA_FEATURES order
            missing = [c for c in features if c not in JENA_FEATURES]
            if missing:
                raise PredictInputError(f"{path}: no column(s) {missing}; it has {list(JENA_FEATURES)}")
            values = values[:, [JENA_FEATURES.index(c) for c in features]].astype(np.float64)
        else:
            frame = read_jena_csv(path)  # memoized and shared: read only
            missing = [c for c in (JENA_TIMESTAMP, *features) if c not in frame.columns]
            if missing:
                raise PredictInputError(f"{path}: no column(s) {missing}; the header has {list(frame.columns)}")
            text = frame[JENA_TIMESTAMP].astype("string").str.strip()
            stamps = pd.to_datetime(text, format=JENA_TIMESTAMP_FORMAT, errors="coerce")
            if stamps.isna().any():
                row = int(np.flatnonzero(stamps.isna().to_numpy())[0])
                raise PredictInputError(f"{path}: line {row + 2}: {JENA_TIMESTAMP} {text.iloc[row]!r} is not "
                                        "dd.mm.yyyy HH:MM:SS")
            seconds = stamps.to_numpy().astype("datetime64[s]").astype(np.int64)
            values = frame[list(features)].to_numpy(dtype=np.float64)
        parts_seconds.append(seconds)
        parts_values.append(values)

    seconds = np.concatenate(parts_seconds)
    values = np.concatenate(parts_values)  # (rows, features)
    order = np.argsort(seconds, kind="stable")  # a stable sort: of a repeated time, the first file's row first
    seconds, values = seconds[order], values[order]
    keep = np.concatenate([[True], np.diff(seconds) != 0])
    notes = []
    if not keep.all():
        first = _when(seconds[np.flatnonzero(~keep)[0]])
        notes.append(f"{int((~keep).sum())} repeated time(s) dropped, the first row of each kept (first: {first})")
    return StationData(seconds[keep], values[keep], features, ", ".join(names), tuple(notes))


# ---------------------------------------------------------------------------------------------------------------
# Jena: windows for the newest readings
# ---------------------------------------------------------------------------------------------------------------
NORMALIZATION_KEYS = ("features", "mean", "std", "target_col", "lookback", "step", "delay")


def load_normalization(path: Path) -> dict[str, Any]:
    """A model's normalization.json (tasks/train.py writes it beside model.keras), checked.

    Args:
        path: the file.

    Returns:
        {"features", "mean", "std", "target", "target_col", "lookback", "step", "delay"}.

    Raises:
        PredictInputError: if the file is missing, not JSON, or lacks a key or has lists of different lengths.
    """
    path = Path(path)
    try:
        data = json.loads(_read_bytes(path).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PredictInputError(f"{path}: not a JSON file ({e})") from e
    check_normalization(data, str(path))
    return data


def check_normalization(normalization: Mapping[str, Any], source: str = "normalization") -> None:
    """Raise PredictInputError (naming `source`) unless `normalization` has every key forecast_windows reads."""
    if not isinstance(normalization, Mapping):
        raise PredictInputError(f"{source}: expected a JSON object with keys {list(NORMALIZATION_KEYS)}")
    missing = [k for k in NORMALIZATION_KEYS if k not in normalization]
    if missing:
        raise PredictInputError(f"{source}: no key(s) {missing}; expected {list(NORMALIZATION_KEYS)}")
    n = len(normalization["features"])
    if not (len(normalization["mean"]) == len(normalization["std"]) == n) or not 0 <= normalization["target_col"] < n:
        raise PredictInputError(f"{source}: {n} features, {len(normalization['mean'])} means, "
                                f"{len(normalization['std'])} stds and target_col {normalization['target_col']}; "
                                "expected one mean and std per feature and a target among them")
    lookback, step, delay = (int(normalization[k]) for k in ("lookback", "step", "delay"))
    if step < 1 or lookback < step or lookback % step or delay < 1:
        raise PredictInputError(f"{source}: lookback {lookback}, step {step}, delay {delay}; expected lookback a "
                                "positive multiple of step and delay >= 1 (as tasks.core.config allows for training)")


@dataclass(frozen=True)
class ForecastWindows:
    """The model inputs for every reading of the last 24 hours whose window is whole, in time order."""

    windows: np.ndarray  # (anchors, lookback // step, features) float32, normalized with the model's statistics
    reading_seconds: np.ndarray  # (anchors,) int64: each window's last reading, "now" for its forecast
    target_seconds: np.ndarray  # (anchors,) int64: the time forecast for, reading + (step + delay) x 10 minutes
    persistence_c: np.ndarray  # (anchors,) float64: the temperature at the last reading (°C), the baseline
    target_mean: float  # the model's training mean of the target (°C), to undo the normalization
    target_std: float  # the model's training std of the target (°C)
    source: str  # the files read, for messages and titles
    notes: tuple[str, ...]  # readings of the last 24 hours left without a forecast, and why


def forecast_windows(
    seconds: np.ndarray,
    features: np.ndarray,
    normalization: Mapping[str, Any],
    source: str,
    *,
    columns: Sequence[str] | None = None,
    notes: Sequence[str] = (),
) -> ForecastWindows:
    """The windows of every reading in the last `delay` x 10 minutes (24 hours at delay 144; on a whole grid the
    last `delay` rows): reading e is one of them when time(e) > time(newest) - delay x 10 minutes.

    The reading e of the window anchored at r = e + step (tasks.model.windows' naming) is the window's last input row;
    the window reads rows e - lookback + step, ..., e, every `step`-th, which must lie on a whole 10-minute grid
    (lookback - step + 1 consecutive readings) without a missing reading (-9999 or empty) at the rows read.
    Earlier readings of the last 24 hours whose window fails that are skipped with a note; the newest reading's
    window must pass, or there is nothing to forecast from.

    Args:
        seconds: (rows,) int64 seconds since 1970 of each reading, strictly increasing (load_station_frames).
        features: (rows, features) raw readings in the order of normalization["features"].
        normalization: the model's normalization.json (load_normalization): its training mean and std per
            feature, target_col, lookback, step, delay.
        source: what the readings came from, for messages (file names).
        columns: the names of `features`' columns, when known: checked against the model's features.
        notes: notes to carry over (StationData.notes).

    Returns:
        The windows, their times, the persistence forecasts and the statistics to undo the normalization.

    Raises:
        PredictInputError: naming `source` and a time: a feature the model needs is missing; too few readings for
            one window; a gap (or an off-grid time) inside the newest reading's window; a -9999 or empty reading
            inside it (naming the column); times not strictly increasing.
    """
    from tasks.model import Normalizer, normalize  # imports TensorFlow

    check_normalization(normalization, source)
    names = tuple(normalization["features"])
    lookback, step, delay = (int(normalization[k]) for k in ("lookback", "step", "delay"))
    target_col = int(normalization["target_col"])
    seconds = np.asarray(seconds, dtype=np.int64)
    features = np.asarray(features, dtype=np.float64)
    if columns is not None and tuple(columns) != names:
        missing = [c for c in names if c not in columns]
        if missing:
            raise PredictInputError(f"{source}: no column(s) {missing}; the model reads {list(names)}")
        features = features[:, [list(columns).index(c) for c in names]]
    if features.ndim != 2 or features.shape != (len(seconds), len(names)):
        raise PredictInputError(f"{source}: readings of shape {features.shape} for {len(seconds)} times; the model "
                                f"reads ({len(seconds)}, {len(names)}): {list(names)}")
    span = lookback - step + 1  # consecutive readings one window covers, first to last input row
    hours = span * JENA_STEP_MINUTES / 60
    if len(seconds) < span:
        where = f"from {_when(seconds[0])} to {_when(seconds[-1])}" if len(seconds) else "none"
        raise PredictInputError(
            f"{source}: {len(seconds)} reading(s) ({where}); a window of the model (lookback {lookback}, step "
            f"{step}) needs {span} consecutive 10-minute readings ({hours:.1f} h)"
        )
    steps = np.diff(seconds)  # (rows - 1,) seconds between consecutive readings
    if np.any(steps <= 0):
        bad = int(np.argmax(steps <= 0))
        raise PredictInputError(f"{source}: times not strictly increasing at {_when(seconds[bad + 1])}; expected "
                                "one row per time, sorted (load_station_frames)")

    last = len(seconds) - 1
    in_last_day = np.flatnonzero(seconds > seconds[last] - delay * TEN_MINUTES)  # every reading of the last 24 h
    readings = in_last_day[in_last_day >= span - 1]  # those with rows enough before them
    firsts = readings - (span - 1)  # (anchors,) each window's first row
    off_grid = np.concatenate([[0], np.cumsum(steps != TEN_MINUTES)])  # off-grid steps before each row
    whole = off_grid[readings] == off_grid[firsts]  # no gap or off-grid time from first to last row

    missing = (features == JENA_SENTINEL) | np.isnan(features)  # (rows, features)
    rows_read = firsts[:, None] + step * np.arange(lookback // step)[None, :]  # (anchors, lookback // step)
    missing_read = missing[rows_read]  # (anchors, lookback // step, features)
    complete = ~missing_read.any(axis=(1, 2))

    # The newest reading's window must be usable: say exactly why it is not.
    window_text = f"the newest window, {_when(seconds[last - span + 1])} to {_when(seconds[last])}"
    if not whole[-1]:
        bad = last - span + 1 + int(np.flatnonzero(steps[last - span + 1: last] != TEN_MINUTES)[-1])
        gap = int(steps[bad])
        what = (f"{gap // TEN_MINUTES - 1} reading(s) missing" if gap % TEN_MINUTES == 0 and gap > TEN_MINUTES
                else f"{gap / 60:g} minutes apart, expected {JENA_STEP_MINUTES}")
        raise PredictInputError(
            f"{source}: gap in the 10-minute grid after {_when(seconds[bad])}: next reading {_when(seconds[bad + 1])} "
            f"({what}), inside {window_text}; the model needs {span} consecutive readings ({hours:.1f} h) after the "
            "last gap"
        )
    if not complete[-1]:
        t, c = np.argwhere(missing_read[-1])[-1]
        row = int(rows_read[-1, t])
        raise PredictInputError(
            f"{source}: column {names[c]!r} has no reading ({features[row, c]:g}) at {_when(seconds[row])}, inside "
            f"{window_text}; the model reads it there"
        )

    notes = list(notes)
    too_early = len(in_last_day) - len(readings)
    if too_early:
        notes.append(f"{too_early} reading(s) of the last 24 h from {_when(seconds[in_last_day[0]])} have no forecast: "
                     f"fewer than {span} readings before them")
    usable = whole & complete
    for mask, why in ((~whole, "their window crosses a gap in the 10-minute grid"),
                      (whole & ~complete, "their window holds a -9999 or empty reading")):
        if mask.any():
            at = readings[mask]
            notes.append(f"{len(at)} reading(s) of the last 24 h ({_when(seconds[at[0]])} to "
                         f"{_when(seconds[at[-1]])}) have no forecast: {why}")

    readings, firsts, rows_read = readings[usable], firsts[usable], rows_read[usable]
    lo = int(firsts[0])  # normalize only the rows the windows read
    normalized = normalize(features[lo:], Normalizer.from_json(dict(normalization)))  # (rows - lo, features)
    windows = normalized[rows_read - lo]  # (anchors, lookback // step, features) float32
    return ForecastWindows(
        windows=windows,
        reading_seconds=seconds[readings],
        target_seconds=seconds[readings] + (step + delay) * TEN_MINUTES,
        persistence_c=features[readings, target_col].copy(),
        target_mean=float(normalization["mean"][target_col]),
        target_std=float(normalization["std"][target_col]),
        source=source,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class Forecast:
    """The model's forecast and persistence's for every usable reading of the last 24 hours."""

    reading_seconds: np.ndarray  # (anchors,) int64: time of the window's last reading
    target_seconds: np.ndarray  # (anchors,) int64: the time forecast for
    forecast_c: np.ndarray  # (anchors,) float64: the model's temperature forecast, °C
    persistence_c: np.ndarray  # (anchors,) float64: the temperature at the reading, °C (the book's baseline)
    source: str
    notes: tuple[str, ...]

    @property
    def rows(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per reading: reading_time, target_time (ISO, station time), horizon_hours,
        forecast_c, persistence_c."""
        return [
            {"reading_time": _iso(r), "target_time": _iso(t), "horizon_hours": (int(t) - int(r)) / 3600,
             "forecast_c": round(float(f), 3), "persistence_c": round(float(p), 3)}
            for r, t, f, p in zip(self.reading_seconds, self.target_seconds, self.forecast_c, self.persistence_c)
        ]

    @property
    def headline(self) -> dict[str, Any]:
        """The forecast from the newest reading: the one a user asks for."""
        return self.rows[-1]

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "headline": self.headline, "notes": list(self.notes), "rows": self.rows}


def forecast(model: Any, windows: ForecastWindows) -> Forecast:
    """Run the model on every window in one batch and turn its output back into °C.

    Args:
        model: a loaded Jena model, (batch, time, features) -> (batch, 1) normalized temperature.
        windows: from forecast_windows.

    Returns:
        Per reading: the model's forecast and persistence's, in °C; `headline` is the newest.

    Raises:
        PredictInputError: if the model reads a different number of features than the windows hold.
    """
    expected = model.input_shape[-1] if getattr(model, "input_shape", None) else None
    if expected is not None and expected != windows.windows.shape[-1]:
        raise PredictInputError(f"{windows.source}: windows of {windows.windows.shape[-1]} features; the model "
                                f"reads {expected} (is normalization.json the model's own?)")
    predicted = np.asarray(model.predict_on_batch(windows.windows), dtype=np.float64).reshape(-1)  # normalized
    return Forecast(
        reading_seconds=windows.reading_seconds,
        target_seconds=windows.target_seconds,
        forecast_c=predicted * windows.target_std + windows.target_mean,
        persistence_c=windows.persistence_c,
        source=windows.source,
        notes=windows.notes,
    )


def observed_temperature(data: StationData, target: str = JENA_TARGET) -> tuple[np.ndarray, np.ndarray]:
    """The measured temperature of station readings, for plots: (seconds, °C with NaN where none was read)."""
    values = data.features[:, data.columns.index(target)].astype(np.float64)
    return data.seconds, np.where(values == JENA_SENTINEL, np.nan, values)


# ---------------------------------------------------------------------------------------------------------------
# Which model, and the stage over a model folder
# ---------------------------------------------------------------------------------------------------------------
DEFAULT_MODEL = {"imdb": "imdb_conv", "jena": "jena_conv_gru"}  # dataset -> the model used unless one is named
PREDICTIONS = "predictions.csv"  # in artifacts/predictions/<id>/<model>/: one row per review or forecast
FORECAST = "forecast.json"  # Jena: the headline, every forecast of the last 24 h, notes
FORECAST_PLOT = "forecast.png"


def choose_model(dataset: str, model: str | None, model_dir: Path | str | None, registry_dir: Path) -> Path:
    """The model folder to predict with: `model_dir` if given, else the champion of `model` (default the
    dataset's DEFAULT_MODEL); it must be a finished run of the dataset's family.

    Raises:
        SettingsError: on an unknown dataset, no champion yet (saying how to get one), or a folder of another family.
    """
    from tasks.core import runs
    from tasks.judge import champion_model_dir

    if dataset not in DEFAULT_MODEL:
        raise SettingsError(f"unknown dataset {dataset!r}; allowed: {', '.join(DEFAULT_MODEL)}")
    if model_dir is None:
        model_dir = champion_model_dir(Path(registry_dir), model or DEFAULT_MODEL[dataset])
    model_dir = runs.check_model_dir(model_dir)
    settings = runs.read_settings(model_dir)
    if settings.family != dataset:
        raise SettingsError(f"{model_dir} holds a {settings.model} model ({settings.family}); `predict {dataset}` "
                            f"needs a {dataset} model, e.g. {DEFAULT_MODEL[dataset]}")
    return model_dir


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


def predict_reviews_from(model_dir: Path, texts: list[str], data_dir: Path, out_dir: Path) -> list[dict[str, Any]]:
    """predict_reviews with a saved IMDB model and the published word index; the rows, also written to
    out_dir/predictions.csv.

    Raises:
        SettingsError: if the IMDB dataset (its word index) has not been ingested.
    """
    from tasks.core import runs
    from tasks.ingest import load_word_index

    index_path = Path(data_dir) / "processed" / "imdb" / "word_index.json"
    if not index_path.is_file():
        raise SettingsError(f"no IMDB word index at {index_path}: run `seqconv ingest imdb --data-dir {data_dir}` "
                            "first (raw text is encoded with the word index the model was trained with)")
    settings = runs.read_settings(model_dir)
    model = load_model(Path(model_dir) / runs.MODEL)
    rows = predict_reviews(model, texts, load_word_index(index_path), num_words=settings.num_words,
                           maxlen=settings.maxlen)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    write_predictions(rows, Path(out_dir) / PREDICTIONS)
    return rows


def forecast_from(model_dir: Path, files: Sequence[Path | str] | None, data_dir: Path,
                  out_dir: Path) -> list[dict[str, Any]]:
    """The forecast of a saved Jena model from station files (default the published dataset): one row per
    reading of the last 24 h, also written with the headline and notes to out_dir (predictions.csv,
    forecast.json, forecast.png).

    Raises:
        SettingsError: if no file is named and no Jena dataset has been ingested.
        PredictInputError: on readings that cannot be forecast from (too few, a gap, a missing reading), naming
            the file and the time.
    """
    from tasks.core import runs
    from tasks.publish import plot_forecast

    model_dir = Path(model_dir)
    normalization = load_normalization(model_dir / runs.NORMALIZATION)
    if files:
        paths = [Path(f) for f in files]
    else:
        published = Path(data_dir) / "processed" / "jena"
        if not (published / "jena.parquet").is_file():
            raise SettingsError(f"no station files named and no Jena dataset at {published}: name files with "
                                f"--files, or run `seqconv ingest jena --data-dir {data_dir}` first")
        paths = [published]
    data = load_station_frames(paths, normalization["features"])
    windows = forecast_windows(data.seconds, data.features, normalization, data.source, columns=data.columns,
                               notes=data.notes)
    result = forecast(load_model(model_dir / runs.MODEL), windows)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_predictions(result.rows, out_dir / PREDICTIONS)
    model_name = runs.read_settings(model_dir).model
    headline = result.headline
    seen_seconds, seen_c = observed_temperature(data)
    plot_forecast(seen_seconds, seen_c, result.target_seconds, result.forecast_c, result.persistence_c,
                  out_dir / FORECAST_PLOT, model_name=model_name,
                  title=f"{model_name}: {headline['forecast_c']:.1f} °C at {headline['target_time']} "
                        f"(last reading {headline['reading_time']}, {data.source})")
    atomic.write_json(out_dir / FORECAST, {**result.to_json(), "model_dir": str(model_dir.resolve()),
                                           "model": model_name})
    return result.rows


# ---------------------------------------------------------------------------------------------------------------
# Prefect tasks
# ---------------------------------------------------------------------------------------------------------------
PREDICTORS = {  # dataset -> how its predictions are made from the inputs a user gives
    "imdb": lambda model_dir, inputs, data_dir, out_dir: predict_reviews_from(
        model_dir, gather_reviews(inputs.get("texts"), inputs.get("file"), inputs.get("csv_file"),
                                  inputs.get("column") or "text"), data_dir, out_dir),
    "jena": lambda model_dir, inputs, data_dir, out_dir: forecast_from(model_dir, inputs.get("files"), data_dir,
                                                                       out_dir),
}


@task(task_run_name="predict {dataset} with {model_dir.name}")
def predict_task(dataset: str, model_dir: Path, inputs: dict, data_dir: Path, out_dir: Path,
                 out: str | None = None) -> str:
    """Predictions of a saved model in out_dir (and a copy in `out`, .csv or .jsonl); returns predictions.csv."""
    if out and Path(out).suffix.lower() not in OUTPUT_SUFFIXES:  # before any work
        raise SettingsError(f"--out {out}: expected a file ending in {' or '.join(OUTPUT_SUFFIXES)}")
    rows = PREDICTORS[dataset](Path(model_dir), inputs, Path(data_dir), Path(out_dir))
    if out:
        write_predictions(rows, Path(out))
    return str(Path(out_dir) / PREDICTIONS)
