"""Which reader ingests a dataset: its spec's `format`, looked up in one table.

A reader is a module with three Prefect tasks, the same for every format, and whether its sources are archives to
unpack first:
  validate_raw(dataset, sources, validation_dir) -> the raw suites' report
  normalize(dataset, sources, raw_report, processed_dir) -> a new, unpublished version of `dataset`
  validate_normalized(dataset, version, validation_dir) -> the normalized suites' report
The ingest flow (flows.ingest) runs them in that order for any dataset of that format, so a second dataset of a
format is a spec file only; a new format is one module, one line here and its modules in tasks.core.cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tasks.core.datasets import DatasetSpec
from tasks.core.errors import SettingsError
import tasks.ingest.csv_series as csv_series
import tasks.ingest.jena_station as jena_station
import tasks.ingest.keras_imdb as keras_imdb
import tasks.ingest.text_files as text_files


@dataclass(frozen=True)
class Reader:
    """A format's ingest tasks."""

    validate_raw: Any  # prefect Task
    normalize: Any  # prefect Task
    validate_normalized: Any  # prefect Task
    unpacks: bool  # its sources are zips to unpack first (tasks.ingest.unpack)


READERS: dict[str, Reader] = {  # a spec's `format` -> its reader
    "keras_imdb": Reader(keras_imdb.validate_raw_imdb, keras_imdb.normalize_imdb,  # Keras' imdb.npz, word index
                         keras_imdb.validate_normalized_imdb, keras_imdb.UNPACKS),
    "jena_station": Reader(jena_station.validate_raw_jena, jena_station.normalize_jena_files,  # the station's CSVs
                           jena_station.validate_normalized_jena, jena_station.UNPACKS),
    "csv_series": Reader(csv_series.validate_raw_series, csv_series.normalize_series,  # a user's CSV series
                         csv_series.validate_normalized_series, csv_series.UNPACKS),
    "text_files": Reader(text_files.validate_raw_texts, text_files.normalize_texts,  # a user's labelled texts
                         text_files.validate_normalized_texts, text_files.UNPACKS),
}


def reader_for(spec: DatasetSpec) -> Reader:
    """The reader of a dataset's format; an unknown format names the known ones."""
    try:
        return READERS[spec.format]
    except KeyError:
        raise SettingsError(f"{spec.path}: format={spec.format!r}; allowed: {', '.join(READERS)}") from None
