"""IMDB reviews as model inputs: the ids keras.datasets.imdb.load_data returns, the book's padded sequences, and
multi-hot rows for the bag-of-words baseline (all at once, or batch by batch in tf.data).

Training, evaluation and prediction encode reviews through here, so all three give a model the same input.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import keras
import numpy as np

from tasks.core.errors import SettingsError
from tasks.core.sources import IMDB_MAX_FEATURES, IMDB_MAXLEN, INDEX_FROM, OOV_CHAR, START_CHAR

if TYPE_CHECKING:
    import tensorflow as tf


def offset_reviews(reviews: Sequence[np.ndarray], num_words: int = IMDB_MAX_FEATURES) -> list[np.ndarray]:
    """Raw frequency ranks (as stored in imdb.npz) to the ids keras.datasets.imdb.load_data returns.

    As load_data with its defaults: prepend START_CHAR, add INDEX_FROM to every rank, then map any id
    >= num_words to OOV_CHAR. Raw ranks [1, 5, 9998] become [1, 4, 8, 2] with num_words 10000.

    Args:
        reviews: one int array of raw ranks (1 = most frequent word) per review.
        num_words: vocabulary size; ids from num_words up become OOV_CHAR.

    Returns:
        One int32 array per review, one longer than its input.
    """
    encoded = []
    for review in reviews:
        ids = np.concatenate([[START_CHAR], np.asarray(review, dtype=np.int64) + INDEX_FROM])
        encoded.append(np.where(ids < num_words, ids, OOV_CHAR).astype(np.int32))
    return encoded


def encode_reviews(
    reviews: Sequence[np.ndarray], num_words: int = IMDB_MAX_FEATURES, maxlen: int = IMDB_MAXLEN
) -> np.ndarray:
    """Raw IMDB reviews to the book's padded input: offset ids, then keras pad_sequences with its defaults.

    pad_sequences pads and truncates at the front ("pre"), so a long review keeps its last `maxlen` words, the
    ones the book's model saw.

    Args:
        reviews: one int array of raw ranks per review.
        num_words: vocabulary size.
        maxlen: tokens per review after padding or truncation.

    Returns:
        (reviews, maxlen) int32 ids, PAD_CHAR-padded.
    """
    return keras.utils.pad_sequences(offset_reviews(reviews, num_words), maxlen=maxlen, dtype="int32")


def _distinct_ids(sequences: Sequence[np.ndarray], num_words: int) -> tuple[np.ndarray, np.ndarray]:
    """Each sequence's distinct ids, sorted, all in one int32 array, and where each sequence's ids start.

    A multi-hot row only asks which ids a review holds, so repeats are dropped: IMDB's 20,000 training reviews
    hold 4.8 million ids, 2.6 million distinct within their review. Reviews are taken 4,096 at a time, so the
    int64 scratch stays near 30 MB whatever the number of reviews.

    Returns:
        (ids,) int32 and (sequences + 1,) int64 row splits: sequence i's ids are ids[splits[i]:splits[i + 1]].

    Raises:
        SettingsError: naming the first review that holds an id that is negative or >= num_words.
    """
    chunk = 4096  # reviews per step
    ids, counts = [np.zeros(0, dtype=np.int32)], [np.zeros(0, dtype=np.int64)]
    for first in range(0, len(sequences), chunk):
        part = [np.asarray(review, dtype=np.int64).reshape(-1) for review in sequences[first : first + chunk]]
        lengths = np.array([review.size for review in part], dtype=np.int64)
        flat = np.concatenate(part)  # (ids of this part,)
        outside = (flat < 0) | (flat >= num_words)
        if outside.any():
            position = int(np.argmax(outside))
            review = first + int(np.searchsorted(np.cumsum(lengths), position, side="right"))
            raise SettingsError(f"review {review} holds id {flat[position]}; expected ids in 0..{num_words - 1}")
        keys = np.unique(np.repeat(np.arange(len(part)), lengths) * num_words + flat)  # (review, id) once, sorted
        ids.append((keys % num_words).astype(np.int32))
        counts.append(np.bincount(keys // num_words, minlength=len(part)))
    row_splits = np.zeros(len(sequences) + 1, dtype=np.int64)
    np.cumsum(np.concatenate(counts), out=row_splits[1:])
    return np.concatenate(ids), row_splits


def multi_hot(sequences: Sequence[np.ndarray], num_words: int = IMDB_MAX_FEATURES) -> np.ndarray:
    """1.0 at every id a sequence contains (the book's `vectorize_sequences`).

    Pass unpadded sequences (offset_reviews): in a padded one, PAD_CHAR would count as a word. The whole matrix
    is built at once (25,000 reviews x 10,000 words of float32 is 1 GB): for training or prediction on a full
    split use multi_hot_batches, which builds the same rows one batch at a time.

    Args:
        sequences: one int array of ids per review, each id < num_words.
        num_words: width of the output.

    Returns:
        (sequences, num_words) float32 of 0.0 and 1.0.

    Raises:
        SettingsError: if an id is negative or >= num_words, naming the review.
    """
    ids, row_splits = _distinct_ids(sequences, num_words)
    out = np.zeros((len(sequences), num_words), dtype=np.float32)  # (reviews, words)
    out[np.repeat(np.arange(len(sequences)), np.diff(row_splits)), ids] = 1.0
    return out


def multi_hot_batches(
    sequences: Sequence[np.ndarray],
    labels: np.ndarray | None = None,
    *,
    batch_size: int,
    num_words: int = IMDB_MAX_FEATURES,
    shuffle: bool = False,
    seed: int | None = None,
) -> tf.data.Dataset:
    """multi_hot's rows built one batch at a time: a tf.data.Dataset to give `fit`, `evaluate` or `predict`.

    Only each review's distinct ids are held (10 MB for IMDB's 20,000 training reviews, against 800 MB for
    their dense multi-hot matrix); each batch is made dense by one RaggedBincount in the tf.data threads, while
    the model trains on the previous one. Without shuffling, the batches concatenated equal
    `multi_hot(sequences, num_words)` row for row. With shuffling, the order of the reviews is drawn again at
    every pass over the dataset (every epoch of `fit`) from `seed` and TensorFlow's global seed, as it was when
    the dataset was made: after the same keras.utils.set_random_seed, the same seed gives the same orders.

    Args:
        sequences: one int array of ids per review, unpadded (offset_reviews), each id < num_words.
        labels: (reviews,) labels, batched beside the rows as float32; None yields the rows alone.
        batch_size: reviews per batch; the last batch holds the rest.
        num_words: width of each row.
        shuffle: draw a new order of the reviews on every pass.
        seed: the shuffle's seed; required with shuffle.

    Returns:
        A tf.data.Dataset of (batch, num_words) float32 rows of 0.0 and 1.0, or of (rows, (batch,) labels).

    Raises:
        SettingsError: if an id is negative or >= num_words (naming the review), on a batch size below 1, on a
            label count that differs from the number of reviews, or on shuffle without a seed.
    """
    import tensorflow as tf

    if batch_size < 1:
        raise SettingsError(f"batch_size {batch_size}: expected at least 1")
    if shuffle and seed is None:
        raise SettingsError("shuffle without a seed: pass seed so the same run shuffles the same way")
    if labels is not None:
        labels = np.asarray(labels, dtype=np.float32).reshape(-1)  # (reviews,)
        if labels.size != len(sequences):
            raise SettingsError(f"{len(sequences)} reviews and {labels.size} labels; expected one label each")
    ids, row_splits = _distinct_ids(sequences, num_words)
    ids = tf.RaggedTensor.from_row_splits(ids, row_splits, validate=False)  # (reviews, None) int32 distinct ids
    indices = tf.data.Dataset.range(len(sequences))
    if shuffle:
        indices = indices.shuffle(len(sequences), seed=seed, reshuffle_each_iteration=True)

    def rows(batch):  # (batch,) int64 review numbers -> (batch, num_words) float32
        out = tf.math.bincount(tf.gather(ids, batch), minlength=num_words, maxlength=num_words,
                               binary_output=True, axis=-1, dtype=tf.float32)
        return tf.ensure_shape(out, (None, num_words))  # bincount leaves the shape unknown; Keras needs the width

    if labels is None:
        batches = indices.batch(batch_size).map(rows, num_parallel_calls=tf.data.AUTOTUNE)  # order kept
    else:
        y = tf.constant(labels)
        batches = indices.batch(batch_size).map(lambda batch: (rows(batch), tf.gather(y, batch)),
                                                num_parallel_calls=tf.data.AUTOTUNE)  # order kept
    return batches.prefetch(tf.data.AUTOTUNE)
