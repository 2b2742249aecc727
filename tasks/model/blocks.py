"""Small pieces the architectures share: the binary metrics of a text classifier, Gaussian input noise."""

from __future__ import annotations

import keras
from keras import layers


def binary_metrics() -> list:
    """Accuracy and ROC AUC, what a two-label text model reports while training."""
    return ["accuracy", keras.metrics.AUC(name="auc")]


def noisy(x, stddev: float):
    """Gaussian noise on the inputs while training (none at inference); the input itself when stddev is 0."""
    return layers.GaussianNoise(stddev)(x) if stddev > 0 else x
