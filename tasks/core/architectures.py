"""The architectures a run can train, one registration each: its kind of dataset, its builder module, its own typed
settings (defaults and checks), the settings of its kind it reads besides, its published (or chosen) values and
what the book measured for it.

Adding an architecture takes its builder module under tasks/model/ (a `build(s, n_features, optimizer)` that
returns a compiled Keras model) and one `register(...)` here: the command line, profiles, `--set`, the training
cache (tasks.core.cache derives the code a trained model depends on from `builder`), the registry and the reports
all read this table. Nothing here imports Keras.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from tasks.core.errors import Problem

OUTPUT_LAYERS = {"sigmoid": "sigmoid", "published": None}  # output_layer -> Dense(1)'s activation (None: linear)


# ---------------------------------------------------------------------------------------------------------------
# Each architecture's own settings
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ArchitectureSettings:
    """The knobs one architecture adds to a run. `check` returns problems, never raises; the common rules (a rate
    in [0, 1), noise of at most one standard deviation) come from the field names, so a subclass states only its
    own."""

    def check(self, s: Any) -> list[Problem]:
        problems = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("dropout") and not 0 <= value < 1:  # NaN fails this too
                problems.append(Problem(f"{f.name}={value}: must be in [0, 1)", (f.name,)))
        noise = getattr(self, "input_noise", 0.0)
        if not (math.isfinite(noise) and noise >= 0):
            problems.append(Problem(f"input_noise={noise}: must be a finite number >= 0", ("input_noise",)))
        elif noise > 1:  # Keras' GaussianNoise refuses a larger stddev when the model is built
            problems.append(Problem(f"input_noise={noise}: must be at most 1 (standard deviations of the inputs)",
                                    ("input_noise",)))
        return problems


# imdb_conv's layers (tasks.model.imdb_conv builds them from these): two valid convolutions with a pooling between
IMDB_CONV_KERNEL, IMDB_CONV_POOL = 7, 5


def valid_conv_min_length(*layers: tuple[str, int]) -> int:
    """The shortest input a stack of unpadded ("valid") Conv1D and MaxPooling1D layers leaves one step of: walk back
    from one output step, a convolution of kernel k adding k - 1 steps and a pooling of size p multiplying by p.
    Shorter inputs fail when Keras builds the model ("Computed output size would be zero")."""
    length = 1
    for layer, size in reversed(layers):
        length = length + size - 1 if layer == "conv" else length * size
    return length


IMDB_CONV_MIN_MAXLEN = valid_conv_min_length(("conv", IMDB_CONV_KERNEL), ("pool", IMDB_CONV_POOL),
                                             ("conv", IMDB_CONV_KERNEL))  # 41 words


@dataclass(frozen=True)
class ImdbConvSettings(ArchitectureSettings):
    dropout: float = 0.0  # dropout before the output layer (0 = as published); adds no parameters
    embedding_dropout: float = 0.0  # SpatialDropout1D on the word vectors (0 = as published)
    output_layer: str = "sigmoid"  # one of OUTPUT_LAYERS: "sigmoid", or "published": the book's plain Dense(1)
    # under binary cross-entropy (tasks.model.imdb_conv.build_imdb_conv says why we changed it)

    def check(self, s: Any) -> list[Problem]:
        problems = super().check(s)
        if self.output_layer not in OUTPUT_LAYERS:
            problems.append(Problem(f"output_layer={self.output_layer!r}: must be one of "
                                    f"{', '.join(OUTPUT_LAYERS)}", ("output_layer",)))
        if s.maxlen < IMDB_CONV_MIN_MAXLEN:
            problems.append(Problem(f"maxlen={s.maxlen}: imdb_conv needs at least {IMDB_CONV_MIN_MAXLEN} words per "
                                    f"text (Conv1D({IMDB_CONV_KERNEL}), MaxPooling1D({IMDB_CONV_POOL}), "
                                    f"Conv1D({IMDB_CONV_KERNEL}) leave nothing of fewer)", ("maxlen",)))
        return problems


@dataclass(frozen=True)
class ImdbDilatedSettings(ArchitectureSettings):
    filters: int = 64  # channels of every convolution (the residual stream's width)
    kernel_size: int = 3  # taps of every convolution
    dilation_levels: int = 4  # dilated residual blocks after the stem, dilations 2, 4, ..., 2**levels
    embedding_dropout: float = 0.0  # SpatialDropout1D on the word vectors (0 = none)
    word_dropout: float = 0.0  # fraction of words whose vector is zeroed while training (0 = none)
    dropout: float = 0.0  # dropout before the output layer (0 = none); adds no parameters

    def check(self, s: Any) -> list[Problem]:
        problems = super().check(s)
        if self.filters < 1 or self.kernel_size < 1 or self.dilation_levels < 0:
            problems.append(Problem(f"filters={self.filters}, kernel_size={self.kernel_size}, dilation_levels="
                                    f"{self.dilation_levels}: need filters >= 1, kernel_size >= 1 and "
                                    "dilation_levels >= 0", ("filters", "kernel_size", "dilation_levels")))
        return problems


@dataclass(frozen=True)
class JenaConvSettings(ArchitectureSettings):
    input_noise: float = 0.0  # stddev of Gaussian noise on the normalized inputs while training (0 = none)
    dropout: float = 0.0  # dropout before the output layer (0 = as published); adds no parameters


@dataclass(frozen=True)
class JenaConvGruSettings(ArchitectureSettings):
    recurrent_dropout: float = 0.5  # GRU recurrent dropout (0 makes it eligible for the cuDNN kernel)
    gru_dropout: float = 0.1  # dropout on the GRU's inputs (the book's 0.1)
    input_noise: float = 0.0  # stddev of Gaussian noise on the normalized inputs while training (0 = none)
    dropout: float = 0.0  # dropout before the output layer (0 = as published); adds no parameters


@dataclass(frozen=True)
class JenaTcnSettings(ArchitectureSettings):
    filters: int = 64  # channels of every causal convolution (the residual stream's width)
    kernel_size: int = 3  # taps of every convolution, and the factor between dilations (2 = doubling)
    block_dropout: float = 0.0  # SpatialDropout1D on each causal layer's output (0 = none)
    layer_norm: bool = False  # LayerNormalization of the residual stream after each layer
    input_noise: float = 0.0  # stddev of Gaussian noise on the normalized inputs while training (0 = none)
    dropout: float = 0.0  # dropout before the output layer (0 = none); adds no parameters

    def check(self, s: Any) -> list[Problem]:
        problems = super().check(s)
        if self.filters < 1 or self.kernel_size < 2:  # kernel 1 never widens the field
            problems.append(Problem(f"filters={self.filters}, kernel_size={self.kernel_size}: jena_tcn needs "
                                    "filters >= 1 and kernel_size >= 2", ("filters", "kernel_size")))
        return problems


# ---------------------------------------------------------------------------------------------------------------
# The registrations
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BookResult:
    """What the book measured for one model on the classic 2009-2016 file (1st ed., §6.4), to judge ours by."""

    val: float  # its validation figure: accuracy (IMDB) or normalized MAE (Jena)
    baseline: str | None  # the baseline the book compares it with (Jena: persistence, MAE 0.29); None: none
    ratio: float | None  # val / the baseline's val, the book's verdict in one number (> 1 loses for an error)


@dataclass(frozen=True)
class Architecture:
    """One trainable model: an architecture registered for a kind of dataset."""

    name: str  # the model's name on the command line, in run folders and in the registry
    kind: str  # the kind of dataset it reads: a key of tasks.core.kinds.KINDS
    dataset: str  # the dataset it trains on (a key of tasks.core.config.FAMILIES)
    builder: str  # its module below tasks/ (dotted), whose build(s, n_features, optimizer) builds it
    settings: type[ArchitectureSettings]  # its own settings: defaults and checks
    reads: tuple[str, ...]  # the settings of its kind its builder reads besides its own (all others the data reads)
    published: dict[str, Any]  # over the defaults: the book's values, or ours chosen on validation (said where)
    book: BookResult | None = None  # what the book measured; None: the model is ours, not the book's
    default: bool = False  # trained by train-all unless --models names others
    predicts: bool = False  # what a spec of its kind that names no predicts_with predicts with: the book's best of
    # the kind (jena_conv_gru beats persistence, jena_conv does not; so a new series gets a forecast it can bless)


ARCHITECTURES: dict[str, Architecture] = {}


def register(architecture: Architecture) -> Architecture:
    """Add an architecture to the table; a name registered twice is a programming error."""
    if architecture.name in ARCHITECTURES:
        raise ValueError(f"architecture {architecture.name!r} is registered twice")
    ARCHITECTURES[architecture.name] = architecture
    return architecture


BOOK_MARGIN = 0.005  # how much a model must beat its strongest baseline by to be blessed (metric units)

register(Architecture(  # Deep Learning with Python, 1st ed., §6.4, listing 6.45
    "imdb_conv", "text", "imdb", "model.imdb_conv", ImdbConvSettings, reads=("num_words", "maxlen"),
    published=dict(epochs=10, batch_size=32, learning_rate=1e-4, blessing_margin=BOOK_MARGIN),
    book=BookResult(val=0.88, baseline=None, ratio=None),  # the book has no bag-of-words baseline
    default=True, predicts=True))
register(Architecture(  # listing 6.47
    "jena_conv", "series", "jena", "model.jena_conv", JenaConvSettings, reads=(),
    published=dict(epochs=20, steps_per_epoch=500, batch_size=128, step=6, learning_rate=1e-3,
                   blessing_margin=BOOK_MARGIN),
    book=BookResult(val=0.45, baseline="persistence", ratio=0.45 / 0.29),  # 1.55x: loses
    default=True))
register(Architecture(  # listing 6.49
    "jena_conv_gru", "series", "jena", "model.jena_conv_gru", JenaConvGruSettings, reads=(),
    published=dict(epochs=20, steps_per_epoch=500, batch_size=128, step=3, learning_rate=1e-3,
                   blessing_margin=BOOK_MARGIN),
    book=BookResult(val=0.27, baseline="persistence", ratio=0.27 / 0.29),  # 0.93x: beats it
    default=True, predicts=True))
register(Architecture(  # not in the book: recurrent_dropout=0 lets the GRU run on cuDNN; reported apart
    "jena_conv_gru_fast", "series", "jena", "model.jena_conv_gru", JenaConvGruSettings, reads=(),
    published=dict(epochs=20, steps_per_epoch=500, batch_size=128, step=3, learning_rate=1e-3,
                   recurrent_dropout=0.0, blessing_margin=BOOK_MARGIN)))
# Not in the book (issue 19, "Beyond the book"): its "published" settings are the ones chosen for it on validation
# (RESULTS.md): Adam at 1e-3 peaks at epoch 2-3 and then overfits, and at a constant rate its val accuracy swung
# from seed to seed (0.891-0.900); a cosine decay over 4 epochs with the weights averaged (0.99) held it at
# 0.899-0.901. The same blessing margin as imdb_conv.
register(Architecture(
    "imdb_dilated", "text", "imdb", "model.imdb_dilated", ImdbDilatedSettings, reads=("num_words", "maxlen"),
    published=dict(epochs=4, lr_schedule="cosine", weight_averaging=0.99, batch_size=64, optimizer="adam",
                   learning_rate=1e-3, embedding_dropout=0.3, dropout=0.5, early_stopping_patience=2,
                   blessing_margin=BOOK_MARGIN)))
# Not in the book (issue 19): its "published" settings are the ones chosen for it on validation (RESULTS.md), at
# the book's hourly step, with jena_conv_gru's blessing margin. Without input noise the stack learns the 14,784
# overlapping training windows by heart (training MAE 0.03, validation 1.06x persistence); with noise of one
# standard deviation it cannot, and quarter epochs with early stopping catch its best epoch (3-13). Kernel 4
# (dilations 1, 4, 16, 64) beat kernel 2 (1, 2, ..., 128) on validation over three seeds.
register(Architecture(
    "jena_tcn", "series", "jena", "model.jena_tcn", JenaTcnSettings, reads=("lookback", "step"),
    published=dict(epochs=40, steps_per_epoch=125, batch_size=128, step=6, optimizer="adam", learning_rate=1e-3,
                   filters=28, kernel_size=4, input_noise=1.0, early_stopping_patience=6,
                   blessing_margin=BOOK_MARGIN)))
