"""The statistics a Jena series is normalized with: each feature's mean and standard deviation over the training
rows only, and the normalization itself. A trained model keeps them (its normalization.json) to be used on new data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tasks.core.errors import DataFormatError, SettingsError
from tasks.core.sources import JENA_FEATURES
from tasks.model.windows import Range, as_ranges

if TYPE_CHECKING:  # annotations only
    from tasks.core.records.normalization import NormalizationRecord


@dataclass(frozen=True)
class Normalizer:
    """Per-feature mean and standard deviation, fitted on the training rows only."""

    mean: tuple[float, ...]  # per feature, in the feature's own unit
    std: tuple[float, ...]  # per feature, population std (ddof=0, as numpy's and the book's `.std(axis=0)`)
    features: tuple[str, ...]  # column names, in the series' column order

    def __post_init__(self) -> None:
        # Stored as tuples so a frozen Normalizer really cannot change; lists are accepted for convenience.
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))
        object.__setattr__(self, "features", tuple(str(v) for v in self.features))
        if not len(self.mean) == len(self.std) == len(self.features):
            raise SettingsError(
                f"normalizer has {len(self.mean)} means, {len(self.std)} stds and {len(self.features)} features; "
                "expected one of each per feature"
            )

    def to_json(self) -> dict[str, list]:
        """A JSON-ready dict: {"features": [...], "mean": [...], "std": [...]}."""
        return {"features": list(self.features), "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_json(cls, data: dict | str) -> Normalizer:
        """The Normalizer of a `to_json` dict (or its JSON text)."""
        if isinstance(data, str):
            data = json.loads(data)
        return cls(mean=data["mean"], std=data["std"], features=data["features"])

    @classmethod
    def from_record(cls, record: NormalizationRecord) -> Normalizer:
        """The Normalizer of a model's normalization.json, read by tasks.core.records.normalization."""
        return cls(mean=record.mean, std=record.std, features=record.features)


def fit_normalizer(
    series: np.ndarray, train_range: Range | Sequence[Range], features: Sequence[str] = JENA_FEATURES
) -> Normalizer:
    """Mean and std of each feature over the training rows, in float64.

    Args:
        series: (rows, features) measurements, time-sorted.
        train_range: the inclusive (first, last) training rows, or a list of such ranges (the blocked split);
            no other row is read.
        features: the column names, in order.

    Returns:
        The fitted Normalizer.

    Raises:
        SettingsError: if the range is empty or outside the series.
        DataFormatError: if the names do not match the columns, or a feature is constant over the training rows
            (its std is 0, so it cannot be scaled).
    """
    features = tuple(features)
    if series.ndim != 2 or series.shape[1] != len(features):
        raise DataFormatError(f"series has shape {series.shape}; expected (rows, {len(features)}) for {features}")
    ranges = as_ranges(train_range)
    for first, last in ranges:
        if not 0 <= first <= last < len(series):
            raise SettingsError(f"train range {(first, last)} is not inside rows 0..{len(series) - 1}")
    if not ranges:
        raise SettingsError("no training rows: expected at least one (first, last) range")
    # (train_rows, features); a row in two overlapping ranges would count twice, so ranges must not overlap
    train = np.concatenate([series[first : last + 1] for first, last in ranges]).astype(np.float64)
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    where = ", ".join(f"{first}..{last}" for first, last in ranges[:3]) + (", ..." if len(ranges) > 3 else "")
    for name, value in zip(features, std):
        if value == 0:
            raise DataFormatError(
                f"feature {name!r} is constant over training rows {where} (std 0); it cannot be normalized"
            )
    return Normalizer(mean=mean.tolist(), std=std.tolist(), features=features)


def normalize(series: np.ndarray, normalizer: Normalizer) -> np.ndarray:
    """(series - mean) / std per feature, as a new float32 array; the input is left as it was.

    Args:
        series: (rows, features) measurements.
        normalizer: from fit_normalizer on the same columns.

    Returns:
        (rows, features) float32.
    """
    if series.ndim != 2 or series.shape[1] != len(normalizer.features):
        raise DataFormatError(
            f"series has shape {series.shape}; the normalizer expects (rows, {len(normalizer.features)})"
        )
    mean = np.asarray(normalizer.mean, dtype=np.float64)
    std = np.asarray(normalizer.std, dtype=np.float64)
    return ((series.astype(np.float64) - mean) / std).astype(np.float32)
