"""A Jena model's `normalization.json`: the training rows' mean and std it was trained with, its window shape and
the split the statistics were fitted on.

Training writes it beside model.keras (tasks.model.train); judging the model on any data (tasks.judge.evaluate)
and forecasting from new readings (tasks.serve) read it back here, so new data is always normalized with the
model's own statistics and read in the model's own windows.

The file, in this key order (what `write` writes, byte for byte as before this record existed):
    {"features": [14 names], "mean": [14 floats], "std": [14 floats], "target": "T (degC)", "target_col": 1,
     "lookback": 720, "step": 6, "delay": 144, "split": "contiguous", "block_days": 28,
     "block_pattern": "train,train,val,test"}
The split keys (tasks.model.split_settings) are absent from files written before the blocked split existed.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.core import atomic
from tasks.core.errors import DataFormatError

REQUIRED_KEYS = ("features", "mean", "std", "target_col", "lookback", "step", "delay")  # what a reader needs
STATISTICS_KEYS = ("features", "mean", "std", "target", "target_col", "lookback", "step", "delay")  # every
# key but the split settings, in the file's order; "target" may be absent (then it is features[target_col])


@dataclass(frozen=True)
class NormalizationRecord:
    """What a Jena model needs besides its weights to be used on new data."""

    features: tuple[str, ...]  # the model's input columns, in order
    mean: tuple[float, ...]  # per feature: the training rows' mean, in the feature's own unit
    std: tuple[float, ...]  # per feature: the training rows' population std (ddof=0)
    target: str  # the column forecast (JENA_TARGET), the same as features[target_col]
    target_col: int  # its index in `features`
    lookback: int  # readings (10 minutes each) a window reaches back
    step: int  # every step-th reading of the lookback is read
    delay: int  # readings from a window's anchor to its target
    split_settings: Mapping[str, Any] = field(default_factory=dict)  # the split the statistics were fitted on
    # (tasks.model.split_settings: split, block_days, block_pattern); {} in files from before the blocked split

    def __post_init__(self) -> None:
        # Stored as tuples and plain ints so a frozen record really cannot change; lists are accepted.
        object.__setattr__(self, "features", tuple(str(v) for v in self.features))
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))
        for name in ("target_col", "lookback", "step", "delay"):
            object.__setattr__(self, name, int(getattr(self, name)))
        object.__setattr__(self, "split_settings", dict(self.split_settings))

    @property
    def target_mean(self) -> float:
        """The training mean of the target (°C), to turn a normalized forecast back into °C."""
        return self.mean[self.target_col]

    @property
    def target_std(self) -> float:
        """The training std of the target (°C)."""
        return self.std[self.target_col]

    def to_json(self) -> dict[str, Any]:
        """The file's content as a JSON-ready dict, in the file's key order."""
        return {"features": list(self.features), "mean": list(self.mean), "std": list(self.std),
                "target": self.target, "target_col": self.target_col, "lookback": self.lookback,
                "step": self.step, "delay": self.delay, **self.split_settings}

    @classmethod
    def from_json(cls, data: Any, source: Path | str = "normalization") -> NormalizationRecord:
        """The record of a parsed normalization.json, checked.

        Args:
            data: the parsed JSON (a dict), or a dict of the same keys.
            source: the file (or what the dict came from), for messages.

        Raises:
            DataFormatError: naming `source` and the field: not an object, a key missing, features, means and
                stds of different lengths or not names and numbers, target_col outside the features, a window
                shape training would refuse (lookback a positive multiple of step, delay >= 1).
        """
        if not isinstance(data, Mapping):
            raise DataFormatError(f"{source}: expected a JSON object with keys {list(REQUIRED_KEYS)}")
        missing = [k for k in REQUIRED_KEYS if k not in data]
        if missing:
            raise DataFormatError(f"{source}: no key(s) {missing}; expected {list(REQUIRED_KEYS)}")
        features = _list_of(data, "features", str, "column names", source)
        mean = _list_of(data, "mean", numbers.Real, "numbers", source)
        std = _list_of(data, "std", numbers.Real, "numbers", source)
        shape = {k: _integer(data, k, source) for k in ("target_col", "lookback", "step", "delay")}
        n = len(features)
        if not (len(mean) == len(std) == n) or not 0 <= shape["target_col"] < n:
            raise DataFormatError(f"{source}: {n} features, {len(mean)} means, {len(std)} stds and target_col "
                                  f"{data['target_col']}; expected one mean and std per feature and a target "
                                  "among them")
        bad = [f"{name}[{i}] = {v}" for name, values in (("mean", mean), ("std", std))
               for i, v in enumerate(values) if not math.isfinite(v) or (name == "std" and v <= 0)]
        if bad:
            raise DataFormatError(f"{source}: {', '.join(bad[:3])}; expected finite means and positive stds")
        lookback, step, delay = shape["lookback"], shape["step"], shape["delay"]
        if step < 1 or lookback < step or lookback % step or delay < 1:
            raise DataFormatError(f"{source}: lookback {lookback}, step {step}, delay {delay}; expected lookback a "
                                  "positive multiple of step and delay >= 1 (as tasks.core.config allows for training)")
        target = data.get("target", features[shape["target_col"]])
        if target != features[shape["target_col"]]:
            raise DataFormatError(f"{source}: target {target!r} but target_col {shape['target_col']} is "
                                  f"{features[shape['target_col']]!r}; expected the same column")
        return cls(features=features, mean=mean, std=std, target=target, **shape,
                   split_settings={k: v for k, v in data.items() if k not in STATISTICS_KEYS})

    @classmethod
    def read(cls, path: Path | str) -> NormalizationRecord:
        """A model's normalization.json, checked (see `from_json`).

        Raises:
            DataFormatError: naming the file: missing, not UTF-8 JSON, or not a normalization file.
        """
        path = Path(path)
        try:
            text = path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise DataFormatError(f"{path}: no such file; every Jena run folder has one") from None
        except IsADirectoryError:
            raise DataFormatError(f"{path}: is a folder; expected a file") from None
        except UnicodeDecodeError as error:
            raise DataFormatError(f"{path}: not a JSON file ({error})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise DataFormatError(f"{path}: not a JSON file ({error})") from None
        return cls.from_json(data, path)

    def write(self, path: Path | str) -> Path:
        """Write the record to `path` atomically (tasks.core.atomic.write_json), checked first so that what is
        written reads back."""
        data = self.to_json()
        type(self).from_json(data, path)
        return atomic.write_json(Path(path), data)


def _list_of(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], what: str,
             source: Path | str) -> list:
    """data[key] as a list whose items are all `kind` (bool is not a number), or an error naming the field."""
    values = data[key]
    if (not isinstance(values, Sequence) or isinstance(values, str)
            or not all(isinstance(v, kind) and not isinstance(v, bool) for v in values)):
        raise DataFormatError(f"{source}: {key} is {_short(values)}; expected a list of {what}")
    return list(values)


def _integer(data: Mapping[str, Any], key: str, source: Path | str) -> int:
    """data[key] as an int (a whole float such as 6.0 is allowed), or an error naming the field."""
    value = data[key]
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value)
            or value != int(value)):
        raise DataFormatError(f"{source}: {key} is {_short(value)}; expected a whole number")
    return int(value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
