"""A champion registry entry: `artifacts/registry/<model>.json`, which run of a model is the one to use.

tasks.judge.registry decides and writes entries; the drift report (tasks.ingest.drift), retraining plans, prediction
and evaluation of the champion read them. Every reader goes through `RegistryEntry.read` (or `read_champion`, the
same as a plain dict), so a corrupt entry fails with one message naming the file and the field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.core import atomic
from tasks.core.errors import DataFormatError
from tasks.core.records.metrics import validation_value

ENTRY_FIELDS = ("model", "run_id", "metrics", "data_sha256", "code_commit", "model_path", "promoted_at",
                "previous_run_id")  # the entry's keys, in the order written
NEW_DATA = "new_data"  # the extra key holding the champion's judgements on data it never saw (tasks.judge.new_data)


def registry_path(registry_dir: Path, model: str) -> Path:
    """Where the champion of `model` is recorded: <registry_dir>/<model>.json."""
    return Path(registry_dir) / f"{model}.json"


@dataclass(frozen=True)
class RegistryEntry:
    """The champion of one model: its run, the figures it was promoted on, where its model lives, and why."""

    model: str  # one of tasks.core.config.MODELS; the file's name
    run_id: str  # the champion's training run
    metrics: dict  # model, monitor, validation, test, baselines' summary, blessed, reason (tasks.judge.registry.make_entry)
    data_sha256: str | None  # the data version the champion trained on
    code_commit: str | None  # the code's commit when it trained
    model_path: str  # <run folder>/model.keras, resolved
    promoted_at: str  # ISO 8601, UTC
    previous_run_id: str | None  # the champion before it, None for the first
    extra: dict = field(default_factory=dict)  # keys beyond ENTRY_FIELDS, kept as read: NEW_DATA, the history

    @property
    def model_dir(self) -> Path:
        """The champion's run folder (where model.keras, settings.json and metrics.json live)."""
        return Path(self.model_path).parent

    def validation_value(self) -> float:
        """The validation figure the champion was judged on (accuracy or normalized MAE)."""
        return validation_value(self.metrics)

    def to_dict(self) -> dict[str, Any]:
        """The entry as written: ENTRY_FIELDS in order, then any extra keys it was read with."""
        return {**{name: getattr(self, name) for name in ENTRY_FIELDS}, **self.extra}

    @classmethod
    def from_dict(cls, entry: Any, path: Path | str, model: str | None = None) -> RegistryEntry:
        """An entry from its JSON document, checked: an object with every field, of `model` (when given), with a
        finite validation figure.

        Raises:
            DataFormatError: naming `path` and what is wrong.
        """
        if not isinstance(entry, dict):
            raise DataFormatError(f"champion registry {path} holds a {type(entry).__name__}; expected a JSON object")
        missing = [name for name in ENTRY_FIELDS if name not in entry]
        if missing:
            raise DataFormatError(
                f"champion registry {path} lacks {', '.join(missing)}; expected {', '.join(ENTRY_FIELDS)}"
            )
        if model is not None and entry["model"] != model:
            raise DataFormatError(f"champion registry {path} names model {entry['model']!r}; expected {model!r}")
        if not isinstance(entry["metrics"], Mapping):
            raise DataFormatError(f"champion registry {path}: field metrics is {entry['metrics']!r}; expected an object")
        try:
            value = validation_value(entry["metrics"])
        except DataFormatError as error:
            raise DataFormatError(f"champion registry {path}: {error}") from None
        if not math.isfinite(value):
            raise DataFormatError(f"champion registry {path}: validation metric {value}; expected a finite number")
        return cls(**{name: entry[name] for name in ENTRY_FIELDS},
                   extra={key: value for key, value in entry.items() if key not in ENTRY_FIELDS})

    @classmethod
    def read(cls, registry_dir: Path, model: str) -> RegistryEntry | None:
        """The entry of `model`'s champion, or None if it has none yet.

        Raises:
            DataFormatError: if the file is not a JSON object with the registry's fields (naming file and field).
        """
        path = registry_path(registry_dir, model)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            entry = json.loads(text)
        except json.JSONDecodeError as error:
            raise DataFormatError(f"champion registry {path} is not valid JSON: {error}; fix or delete it") from None
        return cls.from_dict(entry, path, model)

    def write(self, registry_dir: Path) -> Path:
        """Replace <registry_dir>/<model>.json with this entry in one atomic rename; returns its path."""
        return atomic.write_json(registry_path(registry_dir, self.model), self.to_dict())


def current_records(entry: RegistryEntry | Mapping | None) -> list[dict]:
    """The new-data records (NEW_DATA, tasks.judge.new_data) of the entry's own champion, oldest first; the
    history also holds the records of the champions before it."""
    if entry is None:
        return []
    data = entry.to_dict() if isinstance(entry, RegistryEntry) else entry
    return [r for r in data.get(NEW_DATA) or [] if r.get("champion_run_id") == data["run_id"]]


def read_champion(registry_dir: Path, model: str) -> dict | None:
    """The registry entry of `model`'s champion as a plain dict (RegistryEntry.read), or None if it has none yet.

    Raises:
        DataFormatError: if the file is not a JSON object with the registry's fields (naming file and field).
    """
    entry = RegistryEntry.read(registry_dir, model)
    return entry.to_dict() if entry is not None else None
