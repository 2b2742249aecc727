"""Ingest flows: download, validate raw, normalize into Parquet, validate again, publish atomically.

    python -m flows.ingest imdb --mirror ../shared/datasets --data-dir data
    python -m flows.ingest jena --mirror ../shared/datasets --files mpi_roof_2024a.csv mpi_roof_2024b.csv

Runs without a Prefect server (ephemeral mode). Every new version gets a drift report just before it is published
(tasks.ingest.drift: data/validation/<dataset>.drift.json and the `drift-<dataset>` artifact), against the rows the latest
champion trained on (the registry in `artifacts_dir`), else the version it replaces; drift is reported, never
fatal. A failure anywhere leaves the previously published dataset as it was: the new version is built in a staging
folder and swapped in only after its validation passed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from prefect import flow

from tasks.core.atomic import publish_dataset
from tasks.core.cache import cached_path
from tasks.core.config import IngestSettings
from tasks.core.sources import IMDB_NPZ, IMDB_WORD_INDEX, default_mirror, jena_sources
from tasks.ingest import report_drift
from tasks.ingest import download_source, keep_downloads, unpack_sources
from tasks.ingest import normalize_imdb, normalize_jena_files
from tasks.ingest import validate_new_version, validate_normalized_imdb, validate_normalized_jena
from tasks.ingest import validate_raw_imdb, validate_raw_jena
from tasks.publish import report_validation


@flow(name="ingest-imdb", log_prints=True)
def ingest_imdb_flow(mirror: str | None = None, data_dir: str = "data", artifacts_dir: str = "artifacts") -> Path:
    """Download, validate and publish the IMDB reviews as Parquet; unchanged sources reuse the last build. A new
    version gets a drift report against the champion's data (its registry is in `artifacts_dir`)."""
    settings = IngestSettings(data_dir=Path(data_dir), mirror=mirror or default_mirror())
    downloads = [download_source.submit(s, settings.mirror, settings.raw_dir) for s in (IMDB_NPZ, IMDB_WORD_INDEX)]
    sources = [d.result() for d in downloads]
    raw_report = cached_path(validate_raw_imdb, sources, settings.validation_dir)
    version = cached_path(normalize_imdb, sources, raw_report, settings.processed_dir)
    validate_new_version(version, validate_normalized_imdb, settings.validation_dir, settings.processed_dir, "imdb")
    keep_downloads(sources, settings.raw_dir)  # only now may the new files replace the previous raw files
    report_drift(version, settings.processed_dir, "imdb", artifacts_dir, settings.validation_dir)  # never fatal
    published = publish_dataset(version, settings.processed_dir, "imdb")
    report_validation("imdb", version)
    return published


@flow(name="ingest-jena", log_prints=True)
def ingest_jena_flow(mirror: str | None = None, data_dir: str = "data", files: list[str] | None = None,
                     artifacts_dir: str = "artifacts") -> Path:
    """Download, validate and publish the Jena weather table as Parquet (the classic zip, or station files);
    unchanged sources reuse the last build. A new version gets a drift report against the champion's data."""
    settings = IngestSettings(data_dir=Path(data_dir), mirror=mirror or default_mirror(), jena_files=tuple(files or ()))
    # Station files grow as the half-year goes on: without a published checksum, fetch them again each run.
    downloads = [download_source.submit(s, settings.mirror, settings.raw_dir, refresh=bool(files))
                 for s in jena_sources(files)]
    fetched = [d.result() for d in downloads]
    sources = unpack_sources("jena", fetched, settings.raw_dir)
    raw_report = cached_path(validate_raw_jena, sources, settings.validation_dir)
    version = cached_path(normalize_jena_files, sources, raw_report, settings.processed_dir)
    validate_new_version(version, validate_normalized_jena, settings.validation_dir, settings.processed_dir, "jena")
    keep_downloads(fetched, settings.raw_dir)  # only now may the new files replace the previous raw files
    report_drift(version, settings.processed_dir, "jena", artifacts_dir, settings.validation_dir)  # never fatal
    published = publish_dataset(version, settings.processed_dir, "jena")
    report_validation("jena", version)
    return published


if __name__ == "__main__":  # python -m flows.ingest is `seqconv ingest`
    from flows.cli import main
    sys.exit(main(["ingest", *sys.argv[1:]]))
