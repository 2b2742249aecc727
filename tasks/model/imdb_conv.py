"""The book's IMDB 1D convnet (Deep Learning with Python, 1st ed., listing 6.45): `imdb_conv`.

Its registration (settings, published values) is in tasks.core.architectures; the reviews it reads are encoded by
tasks.model.encoding. Parameter counts are pinned in tests/model/test_models.py.
"""

from __future__ import annotations

import keras
from keras import layers

from tasks.core.architectures import IMDB_CONV_KERNEL, IMDB_CONV_POOL, OUTPUT_LAYERS
from tasks.core.config import IMDB_LEARNING_RATE
from tasks.core.errors import SettingsError
from tasks.core.sources import IMDB_MAX_FEATURES, IMDB_MAXLEN
from tasks.model.blocks import classifier_head, classifier_loss, classifier_metrics


def build(s, n_features: int, optimizer: keras.optimizers.Optimizer) -> keras.Model:
    """The model a run's settings (tasks.core.config.TrainSettings) name; text has no features per timestep."""
    return build_imdb_conv(s.num_words, s.maxlen, dropout=s.dropout, embedding_dropout=s.embedding_dropout,
                           output_layer=s.output_layer, learning_rate=s.learning_rate, optimizer=optimizer,
                           labels=s.labels)


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
    labels: int = 2,
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
        labels: the dataset's labels: two end in the sigmoid above, more in Dense(labels, softmax) under sparse
            categorical cross-entropy (tasks.model.blocks.classifier_head).

    Returns:
        A compiled model: (batch, maxlen) int32 ids -> (batch, 1) probability of a positive review (two labels),
        or (batch, labels) probabilities.
    """
    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="tokens")  # (batch, time)
    x = layers.Embedding(max_features, embedding_dim)(inputs)  # (batch, 500, 128)
    if embedding_dropout > 0:
        x = layers.SpatialDropout1D(embedding_dropout)(x)
    x = layers.Conv1D(32, IMDB_CONV_KERNEL, activation="relu")(x)  # (batch, 494, 32)
    x = layers.MaxPooling1D(IMDB_CONV_POOL)(x)  # (batch, 98, 32)
    x = layers.Conv1D(32, IMDB_CONV_KERNEL, activation="relu")(x)  # (batch, 92, 32)
    x = layers.GlobalMaxPooling1D()(x)  # (batch, 32)
    if dropout > 0:
        x = layers.Dropout(dropout)(x)
    if output_layer not in OUTPUT_LAYERS:
        raise SettingsError(f"output_layer={output_layer!r}: must be one of {', '.join(OUTPUT_LAYERS)}")
    outputs = classifier_head(x, labels, OUTPUT_LAYERS[output_layer])  # (batch, 1) or (batch, labels)
    model = keras.Model(inputs, outputs, name="imdb_conv")
    model.compile(
        optimizer=optimizer or keras.optimizers.RMSprop(learning_rate=learning_rate),
        loss=classifier_loss(labels),
        metrics=classifier_metrics(labels),
    )
    return model
