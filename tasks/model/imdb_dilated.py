"""Beyond the book: an IMDB convnet of dilated Conv1D blocks (`imdb_dilated`).

The chapter opens on 1D convnets "typically with dilated kernels" and then shows only undilated ones. This is the
dilated one, on the same Embedding(10000, 128) input as `imdb_conv`: each block's kernel skips twice as many words
as the one before (dilations 1, 2, 4, ...), so a few blocks of width-3 kernels see phrases of 15 or 31 words
without pooling the sequence away, and every block adds to a residual stream instead of replacing it. Global max
pooling keeps the strongest phrase of each filter (what the book's convnet keeps); global average pooling beside it
keeps how much of the review each filter covers, the bag-of-words evidence the book's model throws away.

Parameter counts are pinned in tests/model/test_imdb_dilated.py; the issue caps them at twice the published
model's 1,315,937.
"""

from __future__ import annotations

import keras
from keras import layers

from tasks.core.config import RMSPROP_LEARNING_RATE
from tasks.core.sources import IMDB_MAX_FEATURES, IMDB_MAXLEN
from tasks.model.blocks import classifier_head, classifier_loss, classifier_metrics


def build(s, n_features: int, optimizer: keras.optimizers.Optimizer) -> keras.Model:
    """The model a run's settings (tasks.core.config.TrainSettings) name; text has no features per timestep."""
    return build_imdb_dilated(s.num_words, s.maxlen, filters=s.filters, kernel_size=s.kernel_size,
                              dilation_levels=s.dilation_levels, embedding_dropout=s.embedding_dropout,
                              word_dropout=s.word_dropout, dropout=s.dropout, learning_rate=s.learning_rate,
                              optimizer=optimizer, labels=s.labels)


def build_imdb_dilated(
    max_features: int = IMDB_MAX_FEATURES,
    maxlen: int = IMDB_MAXLEN,
    embedding_dim: int = 128,
    *,
    filters: int = 64,
    kernel_size: int = 3,
    dilation_levels: int = 4,
    embedding_dropout: float = 0.0,
    word_dropout: float = 0.0,
    dropout: float = 0.0,
    learning_rate: float = RMSPROP_LEARNING_RATE,
    optimizer: keras.optimizers.Optimizer | None = None,
    labels: int = 2,
) -> keras.Model:
    """Word vectors, a stem convolution, residual blocks of dilated convolutions, max and average pooling.

    With the defaults: 1,354,177 parameters (the embedding's 1,280,000 of them), 1.03x `imdb_conv`'s.
    Every convolution pads "same", so the sequence keeps its length and the residual sums line up. The receptive
    field of the last block is 1 + (kernel_size - 1) * (2 ** dilation_levels - 1) words (31 with the defaults).

    Args:
        max_features: vocabulary size (ids 0..max_features - 1).
        maxlen: tokens per review.
        embedding_dim: width of each word vector.
        filters: channels of every convolution (the residual stream's width).
        kernel_size: taps of every convolution.
        dilation_levels: dilated blocks after the stem, with dilations 2, 4, ..., 2 ** dilation_levels (the stem
            is the dilation-1 level).
        embedding_dropout: rate of a SpatialDropout1D on the word vectors (the same channels dropped at every
            word); 0 leaves it out. Adds no parameters.
        word_dropout: fraction of the words whose vector is zeroed while training (each review loses a different
            random set each epoch); 0 leaves it out. Adds no parameters.
        dropout: rate of a Dropout on the pooled features before the output layer; 0 leaves it out.
        learning_rate: RMSprop step size, when no optimizer is given.
        optimizer: an optimizer to compile with instead of RMSprop(learning_rate) (architectures.make_optimizer).
        labels: the dataset's labels: a sigmoid for two, Dense(labels, softmax) for more (blocks.classifier_head).

    Returns:
        A compiled model: (batch, maxlen) int32 ids -> (batch, 1) probability of a positive review (two labels),
        or (batch, labels) probabilities.
    """
    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="tokens")  # (batch, time)
    x = layers.Embedding(max_features, embedding_dim)(inputs)  # (batch, maxlen, 128)
    if embedding_dropout > 0:
        x = layers.SpatialDropout1D(embedding_dropout)(x)
    if word_dropout > 0:  # one mask value per word, shared by its 128 channels
        x = layers.Dropout(word_dropout, noise_shape=(None, maxlen, 1), name="word_dropout")(x)
    # The stem: dilation 1, and the change of width from the word vectors to the residual stream
    x = layers.Conv1D(filters, kernel_size, padding="same", activation="relu", name="stem")(x)  # (batch, maxlen, filters)
    for level in range(1, dilation_levels + 1):
        y = layers.Conv1D(filters, kernel_size, padding="same", dilation_rate=2 ** level, activation="relu",
                          name=f"dilated_{2 ** level}")(x)  # (batch, maxlen, filters)
        x = layers.Add(name=f"residual_{2 ** level}")([x, y])  # (batch, maxlen, filters)
    pooled = layers.Concatenate(name="pooled")([
        layers.GlobalMaxPooling1D()(x),  # (batch, filters): the strongest phrase per filter
        layers.GlobalAveragePooling1D()(x),  # (batch, filters): how much of the review each filter covers
    ])  # (batch, 2 * filters)
    if dropout > 0:
        pooled = layers.Dropout(dropout)(pooled)
    outputs = classifier_head(pooled, labels)  # (batch, 1) or (batch, labels)
    model = keras.Model(inputs, outputs, name="imdb_dilated")
    model.compile(
        optimizer=optimizer or keras.optimizers.RMSprop(learning_rate=learning_rate),
        loss=classifier_loss(labels),
        metrics=classifier_metrics(labels),
    )
    return model
