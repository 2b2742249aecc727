"""A drift report: `data/validation/<dataset>.drift.json`, how a new dataset version differs from the data its
reference stands for (the rows the latest champion trained on, else the version published before).

Written by tasks.ingest.drift just before a new version is published; read by the retraining plan and the run
report. The report itself is computed in tasks.ingest.drift; this is only its file format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from tasks.core import atomic
from tasks.core.errors import DataFormatError


def drift_path(validation_dir: Path, dataset: str) -> Path:
    """Where a dataset's latest drift report is kept: <validation_dir>/<dataset>.drift.json."""
    return Path(validation_dir) / f"{dataset}.drift.json"


@dataclass(frozen=True)
class DriftReport:
    """One drift report, field for field as written (the order of the fields is the order of the JSON keys)."""

    dataset: str  # "jena" or "imdb"
    created: str  # when it was computed: ISO 8601, UTC, to the second
    reference: dict[str, Any]  # what the new data was compared with: {"kind": "champion" | "previous_version" |
    #   "none" | "unknown", then per kind "model", "run", "version", "sha256", "profile", "rows", "months"}
    new: dict[str, Any]  # the new version: {"version" (its folder name), "sha256", "rows", "months" (Jena)}
    features: list[dict[str, Any]]  # one per feature (Jena) or figure (IMDB), the most moved first; each has
    #   "name" and "flagged", then the figures compared ("kl" or "change", "reference", "new")
    flagged: list[str]  # names of the features that moved past their threshold
    thresholds: dict[str, float] | None = None  # what counts as moved; absent from a report that was not computed
    error: str | None = None  # why the report could not be computed ("Type: message"); absent when it was

    @property
    def new_version(self) -> str | None:
        """The name of the dataset version the report is of (a folder under processed/.versions)."""
        return self.new.get("version")

    def to_dict(self) -> dict[str, Any]:
        """The report as the JSON data written, keys in the file's order (the absent optional fields left out)."""
        data: dict[str, Any] = {"dataset": self.dataset, "created": self.created, "reference": self.reference,
                                "new": self.new}
        if self.thresholds is not None:
            data["thresholds"] = self.thresholds
        data["features"] = self.features
        data["flagged"] = self.flagged
        if self.error is not None:
            data["error"] = self.error
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "drift report") -> DriftReport:
        """A report from its JSON data; keys it does not know are ignored.

        Args:
            data: the parsed JSON object.
            source: what to call it in messages, e.g. "drift report data/validation/jena.drift.json".

        Raises:
            DataFormatError: a field is missing or of the wrong type, naming `source` and the field.
        """
        if not isinstance(data, Mapping):
            raise DataFormatError(f"{source} holds a {type(data).__name__}; expected a JSON object")

        def field(name: str, kind: type, expected: str, optional: bool = False) -> Any:
            if name not in data or (optional and data[name] is None):
                if optional:
                    return None
                raise DataFormatError(f"{source} lacks the field {name!r}; expected {expected}")
            value = data[name]
            if not isinstance(value, kind):
                raise DataFormatError(f"{source}: field {name!r} is a {type(value).__name__}; expected {expected}")
            return value

        report = cls(
            dataset=field("dataset", str, "the dataset's name"),
            created=field("created", str, "an ISO 8601 time"),
            reference=field("reference", dict, "an object with a 'kind'"),
            new=field("new", dict, "an object naming the new version"),
            features=field("features", list, "a list of feature objects"),
            flagged=field("flagged", list, "a list of feature names"),
            thresholds=field("thresholds", dict, "an object of thresholds", optional=True),
            error=field("error", str, "a message", optional=True),
        )
        for i, feature in enumerate(report.features):
            if not isinstance(feature, dict) or not isinstance(feature.get("name"), str):
                raise DataFormatError(f"{source}: field 'features[{i}]' is {feature!r:.60}; expected an object "
                                      "with a string 'name'")
            if not isinstance(feature.get("flagged"), bool):
                raise DataFormatError(f"{source}: field 'features[{i}].flagged' is {feature.get('flagged')!r}; "
                                      "expected true or false")
        for i, name in enumerate(report.flagged):
            if not isinstance(name, str):
                raise DataFormatError(f"{source}: field 'flagged[{i}]' is {name!r}; expected a feature name")
        return report

    @classmethod
    def read(cls, path: Path) -> DriftReport | None:
        """The report in `path`, or None where there is none.

        Raises:
            DataFormatError: the file is not a drift report (not UTF-8 JSON, or a field missing or of the wrong
                type), naming the file and the field.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except UnicodeDecodeError as error:
            raise DataFormatError(f"drift report {path} is not UTF-8 text ({error}); delete it, the next "
                                  "ingestion of new data writes it again") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise DataFormatError(f"drift report {path} is not valid JSON: {error}; delete it, the next "
                                  "ingestion of new data writes it again") from None
        return cls.from_dict(data, f"drift report {path}")

    def write(self, path: Path) -> Path:
        """Write the report to `path` atomically (a reader sees the old report or the new one, never half)."""
        return atomic.write_json(path, self.to_dict())
