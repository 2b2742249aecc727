"""Small pieces the architectures share: a text classifier's output layer, loss and metrics for its number of
labels, Gaussian input noise."""

from __future__ import annotations

import keras
from keras import layers


def binary_metrics() -> list:
    """Accuracy and ROC AUC, what a two-label text model reports while training."""
    return ["accuracy", keras.metrics.AUC(name="auc")]


def classifier_head(x, labels: int, activation: str | None = "sigmoid"):
    """The output layer of a text classifier: Dense(1) with `activation` (sigmoid: the probability of label 1)
    for two labels, Dense(labels, softmax) for more."""
    if labels > 2:
        return layers.Dense(labels, activation="softmax", name="labels")(x)  # (batch, labels)
    return layers.Dense(1, activation=activation)(x)  # (batch, 1)


def classifier_loss(labels: int) -> str:
    """Binary cross-entropy on a sigmoid for two labels; sparse categorical cross-entropy (label numbers, not
    one-hot) on a softmax for more."""
    return "sparse_categorical_crossentropy" if labels > 2 else "binary_crossentropy"


def classifier_metrics(labels: int) -> list:
    """What a text classifier reports while training: accuracy, and ROC AUC for two labels."""
    return ["accuracy"] if labels > 2 else binary_metrics()


def noisy(x, stddev: float):
    """Gaussian noise on the inputs while training (none at inference); the input itself when stddev is 0."""
    return layers.GaussianNoise(stddev)(x) if stddev > 0 else x
