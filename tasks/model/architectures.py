"""The three architectures of Deep Learning with Python §6.4, the IMDB bag-of-words baseline, and IMDB encoding.

Every `build_*` returns a compiled Keras 3 model, ready for `fit`; `learning_rate` is an argument of each so a
profile can tune it without touching the architecture. Parameter counts are pinned in tests/model/test_models.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
from keras import layers

from tasks.core.config import IMDB_LEARNING_RATE, RMSPROP_LEARNING_RATE
from tasks.core.sources import (  # the encoding constants belong to the data; re-exported here for the models' callers
    IMDB_MAX_FEATURES,
    IMDB_MAXLEN,
    INDEX_FROM,
    JENA_FEATURES,
    OOV_CHAR,
    PAD_CHAR,
    START_CHAR,
)
from tasks.core.errors import SettingsError

if TYPE_CHECKING:
    import tensorflow as tf


def _binary_metrics() -> list:
    return ["accuracy", keras.metrics.AUC(name="auc")]


OPTIMIZERS: dict[str, Callable[..., keras.optimizers.Optimizer]] = {  # TrainSettings.optimizer -> its class
    "rmsprop": keras.optimizers.RMSprop,  # the book's
    "adam": keras.optimizers.Adam,
}


def make_optimizer(name: str = "rmsprop", learning_rate: float = RMSPROP_LEARNING_RATE,
                   weight_decay: float = 0.0, weight_averaging: float = 0.0) -> keras.optimizers.Optimizer:
    """An optimizer by name. `weight_decay` is Keras 3's decoupled decay (each step shrinks every weight by
    learning_rate * weight_decay of itself): it fights overfitting without adding a parameter.
    `weight_averaging` > 0 keeps an exponential moving average of the weights with that momentum (Keras'
    use_ema); tasks.model.checkpoint.AveragedWeights swaps it in for validation and for the kept checkpoints."""
    if name not in OPTIMIZERS:
        raise SettingsError(f"optimizer={name!r}: must be one of {', '.join(OPTIMIZERS)}")
    averaging = dict(use_ema=True, ema_momentum=weight_averaging) if weight_averaging else {}
    return OPTIMIZERS[name](learning_rate=learning_rate, weight_decay=weight_decay or None, **averaging)


# ---------------------------------------------------------------------------------------------------------------
# IMDB
# ---------------------------------------------------------------------------------------------------------------
OUTPUT_LAYERS = {"sigmoid": "sigmoid", "published": None}  # TrainSettings.output_layer -> Dense(1)'s activation


def build_imdb_conv(
    max_features: int = IMDB_MAX_FEATURES,
    maxlen: int = IMDB_MAXLEN,
    embedding_dim: int = 128,
    *,
    dropout: float = 0.0,
    embedding_dropout: float = 0.0,
    output_layer: str = "sigmoid",
    learning_rate: float = IMDB_LEARNING_RATE,
    optimizer: keras.optimizers.Optimizer | None = None,
) -> keras.Model:
    """The book's IMDB 1D convnet (listing 6.45): 1,315,937 parameters with the defaults.

    The published model ended in a plain Dense(1) and trained it with binary cross-entropy, a loss on
    probabilities, so its logits were read as probabilities. We end in Dense(1, activation="sigmoid"): same
    parameter count, and the loss means what it says.

    Args:
        max_features: vocabulary size (ids 0..max_features - 1).
        maxlen: tokens per review.
        embedding_dim: width of each word vector.
        dropout: rate of a Dropout before the output layer; 0 (the book) leaves it out. Adds no parameters.
        embedding_dropout: rate of a SpatialDropout1D on the word vectors (whole vectors dropped); 0 (the book)
            leaves it out. Adds no parameters.
        output_layer: "sigmoid" (ours) or "published": the book's plain Dense(1) under binary cross-entropy,
            kept to measure what the fix costs (RESULTS.md). Keras clips such an output to (0, 1) before the
            log, so a logit outside that range gets no gradient.
        learning_rate: RMSprop step size (the book's 1e-4).
        optimizer: an optimizer to compile with instead of RMSprop(learning_rate) (make_optimizer).

    Returns:
        A compiled model: (batch, maxlen) int32 ids -> (batch, 1) probability of a positive review.
    """
    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="tokens")  # (batch, time)
    x = layers.Embedding(max_features, embedding_dim)(inputs)  # (batch, 500, 128)
    if embedding_dropout > 0:
        x = layers.SpatialDropout1D(embedding_dropout)(x)
    x = layers.Conv1D(32, 7, activation="relu")(x)  # (batch, 494, 32)
    x = layers.MaxPooling1D(5)(x)  # (batch, 98, 32)
    x = layers.Conv1D(32, 7, activation="relu")(x)  # (batch, 92, 32)
    x = layers.GlobalMaxPooling1D()(x)  # (batch, 32)
    if dropout > 0:
        x = layers.Dropout(dropout)(x)
    if output_layer not in OUTPUT_LAYERS:
        raise SettingsError(f"output_layer={output_layer!r}: must be one of {', '.join(OUTPUT_LAYERS)}")
    outputs = layers.Dense(1, activation=OUTPUT_LAYERS[output_layer])(x)  # (batch, 1)
    model = keras.Model(inputs, outputs, name="imdb_conv")
    model.compile(
        optimizer=optimizer or keras.optimizers.RMSprop(learning_rate=learning_rate),
        loss="binary_crossentropy",
        metrics=_binary_metrics(),
    )
    return model


def build_bag_of_words(
    max_features: int = IMDB_MAX_FEATURES, *, learning_rate: float = RMSPROP_LEARNING_RATE
) -> keras.Model:
    """The IMDB baseline: a multi-hot bag of words into one small hidden layer (160,033 parameters).

    The book's chapter 3 version has two Dense(16) hidden layers; one is enough for a baseline.

    Args:
        max_features: vocabulary size, the width of the multi-hot vector.
        learning_rate: RMSprop step size.

    Returns:
        A compiled model: (batch, max_features) multi-hot float32 -> (batch, 1) probability of a positive review.
    """
    inputs = keras.Input(shape=(max_features,), name="multi_hot")  # (batch, words)
    x = layers.Dense(16, activation="relu")(inputs)  # (batch, 16)
    outputs = layers.Dense(1, activation="sigmoid")(x)  # (batch, 1)
    model = keras.Model(inputs, outputs, name="bag_of_words")
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate),
        loss="binary_crossentropy",
        metrics=_binary_metrics(),
    )
    return model


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


# ---------------------------------------------------------------------------------------------------------------
# Jena
# ---------------------------------------------------------------------------------------------------------------
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
    x = _input_noise(inputs, input_noise)
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


def build_jena_conv_gru(
    n_features: int = len(JENA_FEATURES),
    recurrent_dropout: float = 0.5,
    *,
    learning_rate: float = RMSPROP_LEARNING_RATE,
    gru_dropout: float = 0.1,
    input_noise: float = 0.0,
    dropout: float = 0.0,
    optimizer: keras.optimizers.Optimizer | None = None,
) -> keras.Model:
    """The book's convnet-then-GRU (listing 6.49): convolutions shorten the window, a GRU reads it in order.

    13,793 parameters with 14 features. Keras 3's GRU defaults to reset_after=True (the cuDNN formulation),
    which has 96 more parameters than the Keras 2.0 GRU the book used.

    Args:
        n_features: measurements per timestep.
        recurrent_dropout: dropout on the GRU's recurrent state (the book's 0.5). 0 makes the layer eligible
            for the fused cuDNN kernel on a GPU, many times faster: the "fast" variant.
        learning_rate: RMSprop step size (the book's default RMSprop()).
        gru_dropout: dropout on the GRU's inputs (the book's 0.1).
        input_noise: standard deviation of Gaussian noise added to the (normalized) inputs while training; 0
            (the book) adds none. No parameters: it only makes memorizing a small training set harder.
        dropout: rate of a Dropout before the output layer; 0 (the book) leaves it out. No parameters.
        optimizer: an optimizer to compile with instead of RMSprop(learning_rate) (make_optimizer).

    Returns:
        A compiled model, MAE loss: (batch, time, features) -> (batch, 1) normalized temperature.
    """
    inputs = keras.Input(shape=(None, n_features), name="window")  # (batch, time, features)
    x = _input_noise(inputs, input_noise)
    x = layers.Conv1D(32, 5, activation="relu")(x)  # (batch, time - 4, 32)
    x = layers.MaxPooling1D(3)(x)  # (batch, (time - 4) // 3, 32)
    x = layers.Conv1D(32, 5, activation="relu")(x)  # (batch, (time - 4) // 3 - 4, 32)
    x = layers.GRU(32, dropout=gru_dropout, recurrent_dropout=recurrent_dropout)(x)  # (batch, 32)
    if dropout > 0:
        x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(1)(x)  # (batch, 1)
    name = "jena_conv_gru" if recurrent_dropout > 0 else "jena_conv_gru_fast"
    model = keras.Model(inputs, outputs, name=name)
    model.compile(optimizer=optimizer or keras.optimizers.RMSprop(learning_rate=learning_rate), loss="mae")
    return model


def _input_noise(x, stddev: float):
    """Gaussian noise on the inputs while training (none at inference); the input itself when stddev is 0."""
    return layers.GaussianNoise(stddev)(x) if stddev > 0 else x


MODEL_BUILDERS: dict[str, Callable[..., keras.Model]] = {
    "imdb_conv": build_imdb_conv,
    "jena_conv": build_jena_conv,
    "jena_conv_gru": build_jena_conv_gru,
    "jena_conv_gru_fast": partial(build_jena_conv_gru, recurrent_dropout=0.0),
}
SETTINGS_ARGUMENTS: dict[str, Callable[[Any, int], dict]] = {  # model -> its builder's arguments from TrainSettings
    "imdb_conv": lambda s, n_features: dict(max_features=s.num_words, maxlen=s.maxlen, dropout=s.dropout,
                                            embedding_dropout=s.embedding_dropout, output_layer=s.output_layer),
    "jena_conv": lambda s, n_features: dict(n_features=n_features, input_noise=s.input_noise, dropout=s.dropout),
    "jena_conv_gru": lambda s, n_features: dict(n_features=n_features, recurrent_dropout=s.recurrent_dropout,
                                                gru_dropout=s.gru_dropout, input_noise=s.input_noise,
                                                dropout=s.dropout),
}
SETTINGS_ARGUMENTS["jena_conv_gru_fast"] = SETTINGS_ARGUMENTS["jena_conv_gru"]


def build_model(s, n_features: int = len(JENA_FEATURES)) -> keras.Model:
    """The architecture a TrainSettings names, with its knobs (optimizer, learning rate, dropout, vocabulary).

    Args:
        s: tasks.core.config.TrainSettings.
        n_features: measurements per timestep (Jena models; IMDB ignores it).
    """
    arguments = SETTINGS_ARGUMENTS[s.model](s, n_features)
    optimizer = make_optimizer(s.optimizer, s.learning_rate, s.weight_decay, s.weight_averaging)
    return MODEL_BUILDERS[s.model](learning_rate=s.learning_rate, optimizer=optimizer, **arguments)
