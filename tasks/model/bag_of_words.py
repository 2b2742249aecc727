"""The IMDB baseline's model: a multi-hot bag of words into one small hidden layer.

A baseline, not a registered architecture: tasks.judge.baselines trains it once per dataset version.
"""

from __future__ import annotations

import keras
from keras import layers

from tasks.core.config import RMSPROP_LEARNING_RATE
from tasks.core.sources import IMDB_MAX_FEATURES
from tasks.model.blocks import classifier_head, classifier_loss, classifier_metrics


def build_bag_of_words(
    max_features: int = IMDB_MAX_FEATURES, *, learning_rate: float = RMSPROP_LEARNING_RATE, labels: int = 2
) -> keras.Model:
    """The IMDB baseline: a multi-hot bag of words into one small hidden layer (160,033 parameters).

    The book's chapter 3 version has two Dense(16) hidden layers; one is enough for a baseline.

    Args:
        max_features: vocabulary size, the width of the multi-hot vector.
        learning_rate: RMSprop step size.
        labels: the dataset's labels: a sigmoid for two, a softmax for more (tasks.model.blocks.classifier_head).

    Returns:
        A compiled model: (batch, max_features) multi-hot float32 -> (batch, 1) probability of a positive review
        (two labels), or (batch, labels) probabilities.
    """
    inputs = keras.Input(shape=(max_features,), name="multi_hot")  # (batch, words)
    x = layers.Dense(16, activation="relu")(inputs)  # (batch, 16)
    outputs = classifier_head(x, labels)  # (batch, 1) or (batch, labels)
    model = keras.Model(inputs, outputs, name="bag_of_words")
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate),
        loss=classifier_loss(labels),
        metrics=classifier_metrics(labels),
    )
    return model
