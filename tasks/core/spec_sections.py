"""The sections of a dataset spec: every key, its type, its default and what it means (the guide's key tables are
generated from these comments). tasks.core.datasets reads a spec file into them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tasks.core.durations import DURATION, duration_minutes, rows_of
from tasks.core.errors import SpecError
from tasks.core.text_spec import TextFiles, TextVocabulary


@dataclass(frozen=True)
class SourceFile:
    name: str  # the file's name, the same on the canonical site and on every mirror; a user's: a URL or a local
    # path (a file, or for texts a folder: tasks.ingest.source_folder)
    sha256: str | None = None  # pinned digest of the canonical bytes (a folder's: of its content); None where none
    # is published
    md5: str | None = None  # some sources publish only an md5


@dataclass(frozen=True)
class Station:
    base_url: str  # where files named on the command line come from, ending in "/"
    pattern: str  # a regular expression every such name must match
    described: str  # the pattern in words, for the error a bad name gets


@dataclass(frozen=True)
class Sources:
    files: tuple[SourceFile, ...]  # fetched by default
    base_url: str = ""  # the canonical folder, ending in "/"; empty: each file's name is a URL or a local path
    # (relative to the spec file's folder; a file or a folder), fetched from there and never from a mirror
    station: Station | None = None  # files a user names instead of the defaults (series), None: no such choice


@dataclass(frozen=True)
class Text:
    splits: tuple[str, ...] = ("train", "test")  # the splits a source holds, e.g. train and test
    rows_per_split: int = 0  # texts in each split; 0: not checked (a user's corpus)
    balance_tolerance: float = 1.0  # a split's positive share may differ from 0.5 by at most this (two labels)
    labels: tuple[str, ...] = ()  # the labels' names, by label number; () = those of the data, sorted
    files: TextFiles | None = None  # text_files: where texts and labels are in the files
    vocabulary: TextVocabulary | None = None  # text_files: the vocabulary the pipeline builds


TIME_PARTS = ("year", "month", "day", "hour", "minute", "second")  # record.time_parts' keys
FILLS = ("gap", "interpolate")  # record.fill
DUPLICATES = ("error", "first", "last", "mean")  # record.duplicates
MISSING_TEXT = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None")  # record.missing_text's default


@dataclass(frozen=True)
class Record:
    """One row of a time series. The built-in `jena_station` format reads the first keys; `csv_series` all."""

    target: str  # the column that is forecast (one of the features)
    interval: str = ""  # the sampling period, a duration: durations elsewhere resolve on it; rows off its grid are
    # gaps. Empty: inferred from the data when it is ingested (the most common step between its times), recorded
    # with the published version and read from there by every later stage
    stamped: str = "start"  # when in its period a row's time is: "start" (a logger's 00:00 row is the hour
    # 00:00-01:00, or an instant: midnight opens its day) or "end" (the Jena station's 00:10:00 closes the period
    # 00:00-00:10, so its 00:00:00 row is the last of the day before); decides the day, month and season of a
    # reading, so the blocked split's blocks and the months a split or a drift report names
    time: str = ""  # the column that times each row (or time_parts)
    time_format: str = ""  # strptime format of `time`; empty: ISO 8601 (2024-01-31 13:00, 2024-01-31T13:00:00Z)
    time_parts: dict[str, str] = field(default_factory=dict)  # instead of `time`: the columns holding each part
    # of the time, by part (year, month, day, hour, minute, second; year, month and day needed)
    time_columns: tuple[str, ...] = ()  # instead of `time`: text columns that together hold the time (a date
    # column and a clock column), joined by a space in this order and read with time_format
    time_zone: str = ""  # IANA name (Europe/Berlin) the times are local to, stored as UTC; empty: naive, as given
    encoding: str = "utf-8"  # of the source files
    delimiter: str = ","  # between the fields of a line
    decimal: str = "."  # the decimal mark of the readings: "." or "," (1,5 is one and a half)
    missing: tuple[float, ...] = ()  # numbers that mean "no reading" (e.g. -9999), in every column: gaps
    missing_text: tuple[str, ...] = MISSING_TEXT  # cells that mean "no reading" (after stripping spaces)
    missing_by_column: dict[str, list] = field(default_factory=dict)  # column -> more values missing in it alone
    features: tuple[str, ...] = ()  # the numeric columns a model reads, in order; empty: every numeric column
    # not dropped, in file order (one-hot columns follow, as <column>=<category>)
    drop: tuple[str, ...] = ()  # columns not used (a text column must be dropped or one-hot)
    one_hot: dict[str, list] = field(default_factory=dict)  # text column -> its categories: one 0/1 feature
    # each (<column>=<category>); a category not listed is an error
    ranges: dict[str, list] = field(default_factory=dict)  # column -> [low, high]: a reading outside is an error
    fill: str = "gap"  # one of FILLS: a missing reading makes its row a gap ("gap"), or is interpolated
    # linearly from its neighbouring rows ("interpolate", the Jena reader's repair)
    duplicates: str = "error"  # one of DUPLICATES: rows repeating a time with other readings are an error, or
    # the first, the last or their mean is kept (identical repeats are always dropped, one kept)
    unit: str = ""  # the target's unit, in every figure

    @property
    def interval_minutes(self) -> int:
        if not self.interval:
            raise SpecError("record.interval is not named and no published version records the one inferred from "
                            "the data yet: ingest the dataset first")
        return duration_minutes(self.interval, "record.interval")


@dataclass(frozen=True)
class Evaluation:
    metric: str  # key in metrics["validation"] and ["test"] that judges a model
    label: str  # how sentences name the validation metric
    higher_is_better: bool  # accuracy: yes; MAE: no
    monitor: str  # the Keras log key that picks the best epoch (and early stopping)
    curve: str  # the history.csv column the training-curve plot shows (plus val_<curve>)
    curve_label: str  # its axis label
    unit: str  # what evaluation counts: reviews or windows
    baselines: tuple[str, ...]  # the baselines a model is judged against, in report order
    compared: str  # key in metrics["validation"] that compares champion and challenger
    compared_label: str  # how sentences name it


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset, as its spec file says it."""

    name: str  # the dataset, and its folder data/processed/<name>
    kind: str  # one of tasks.core.kinds.KINDS: "text" or "series"
    format: str  # the reader of its sources (tasks.ingest)
    description: str
    published: tuple[str, ...]  # the files of a published version
    predicts_with: str  # the model whose champion `predict` uses unless one is named; a user's spec that names
    # none: its kind's architecture registered to predict (jena_conv_gru@<name>, imdb_conv@<name>)
    sources: Sources
    evaluation: Evaluation
    settings: dict[str, Any]  # the defaults of its runs: settings of its kind, durations as given
    text: Text | None = None  # text: its splits and labels
    record: Record | None = None  # series: what one row is
    path: str = ""  # the file it was read from (set by the loader)

    @property
    def awaits_interval(self) -> bool:
        """A series whose interval is not named and not yet inferred: its durations in rows are not known before
        its data is ingested."""
        return self.record is not None and not self.record.interval

    def run_defaults(self) -> dict[str, Any]:
        """`settings` with durations resolved: rows of the record's grid for lookback, step and delay, minutes for
        max_gap_minutes, whole days for block_days.

        Raises:
            SpecError: a duration that is not a whole number of rows; a record whose interval is neither named nor
                inferred yet (no version of it published: dataset_spec resolves one that is).
        """
        if self.awaits_interval:
            raise SpecError(f"{self.path}: record.interval is not named, so it is inferred from the data when "
                            f"{self.name} is ingested, and no version of {self.name} is published in this data dir "
                            f"yet: ingest it first (seqconv ingest {self.path})")
        return self._durations_resolved(self.record.interval_minutes if self.record else 0)

    def _durations_resolved(self, interval_minutes: int) -> dict[str, Any]:
        resolved = {}
        for key, value in self.settings.items():
            if isinstance(value, str) and DURATION.match(value):
                minutes = duration_minutes(value, f"{self.path}: settings.{key}")
                if key.endswith("_minutes"):
                    resolved[key] = minutes
                elif key.endswith("_days"):  # block_days: whole days
                    resolved[key] = rows_of(minutes, 24 * 60, f"{self.path}: settings.{key}")
                else:
                    resolved[key] = rows_of(minutes, interval_minutes, f"{self.path}: settings.{key}")
            else:
                resolved[key] = value
        return resolved

