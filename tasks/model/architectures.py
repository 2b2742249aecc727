"""Building the model a run's settings name: its registration's builder module (tasks.core.architectures), with
the run's optimizer, under default seeds of its own.

Each architecture is a module of its own below tasks/model/ whose `build(s, n_features, optimizer)` returns a
compiled Keras 3 model, ready for `fit`; this module finds it through the registration, so adding one needs no
edit here.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Iterator
from contextlib import contextmanager

import keras

from tasks.core.config import OPTIMIZERS, RMSPROP_LEARNING_RATE, architecture
from tasks.core.errors import SettingsError
from tasks.core.sources import JENA_FEATURES


@contextmanager
def own_default_seeds(seed: int) -> Iterator[None]:
    """Layers built inside draw their default seeds from a generator of their own, seeded with `seed`.

    Keras gives every initializer and dropout built without a seed one drawn from Python's global `random`
    (keras.src.random.seed_generator.make_default_seed). Prefect's threads draw from that generator too, at times
    of their own, so the same `keras.utils.set_random_seed` could build different weights from one run to the next
    in the same process. Not thread-safe itself: models are built one at a time.
    """
    from keras.src.random import seed_generator

    shared = seed_generator.python_random
    seed_generator.python_random = random.Random(seed)
    try:
        yield
    finally:
        seed_generator.python_random = shared


def make_optimizer(name: str = "rmsprop", learning_rate: float = RMSPROP_LEARNING_RATE,
                   weight_decay: float = 0.0, weight_averaging: float = 0.0) -> keras.optimizers.Optimizer:
    """An optimizer by name. `weight_decay` is Keras 3's decoupled decay (each step shrinks every weight by
    learning_rate * weight_decay of itself): it fights overfitting without adding a parameter.
    `weight_averaging` > 0 keeps an exponential moving average of the weights with that momentum (Keras'
    use_ema); tasks.model.checkpoint.AveragedWeights swaps it in for validation and for the kept checkpoints."""
    if name not in OPTIMIZERS:
        raise SettingsError(f"optimizer={name!r}: must be one of {', '.join(OPTIMIZERS)}")
    averaging = dict(use_ema=True, ema_momentum=weight_averaging) if weight_averaging else {}
    optimizer_class = getattr(keras.optimizers, OPTIMIZERS[name])
    return optimizer_class(learning_rate=learning_rate, weight_decay=weight_decay or None, **averaging)


def builder_module(model: str):
    """The module that builds a registered model (its registration's `builder`), imported on first use."""
    return importlib.import_module(f"tasks.{architecture(model).builder}")


def build_model(s, n_features: int = len(JENA_FEATURES)) -> keras.Model:
    """The architecture a TrainSettings names, with its knobs (optimizer, learning rate, dropout, vocabulary).

    Args:
        s: tasks.core.config.TrainSettings.
        n_features: measurements per timestep (series models; text ignores it).
    """
    with own_default_seeds(s.seed):  # the same seed builds the same weights, whatever else the process does
        optimizer = make_optimizer(s.optimizer, s.learning_rate, s.weight_decay, s.weight_averaging)
        return builder_module(s.model).build(s, n_features, optimizer)
