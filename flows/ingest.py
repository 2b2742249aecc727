"""Ingest flows: download, validate raw, normalize into Parquet, validate again, publish atomically.

    python -m flows.ingest imdb --mirror ../shared/datasets --data-dir data
    python -m flows.ingest jena --mirror ../shared/datasets --files mpi_roof_2024a.csv mpi_roof_2024b.csv

Runs without a Prefect server (ephemeral mode). Every new version gets a drift report just before it is published
(tasks.ingest.drift: data/validation/<dataset>.drift.json and the `drift-<dataset>` artifact), against the rows the latest
champion trained on (the registry in `artifacts_dir`), else the version it replaces; drift is reported, never
fatal. Once published, every champion of the dataset's models is scored on the rows it never saw, if the version
holds any (tasks.publish.new_data: the registry's history, an event, an artifact; never fatal either). A failure anywhere leaves the previously published dataset as it was: the new version is built in a staging
folder and swapped in only after its validation passed. Last, the versions nothing needs are pruned
(tasks.core.retention: never the champions', a resumable run's or the newest runs').
"""

from __future__ import annotations

import sys
from pathlib import Path

from prefect import flow

from tasks.core.atomic import publish_dataset
from tasks.core.cache import cached_path
from tasks.core.config import IngestSettings
from tasks.core.datasets import dataset_spec, store_spec, use_data_dir
from tasks.core.retention import prune_after_publishing
from tasks.core.sources import IMDB, JENA, chosen_sources, default_mirror
from tasks.ingest import download_source, keep_downloads, reader_for, report_drift, unpack_sources
from tasks.ingest import validate_new_version
from tasks.publish import judge_champions_on_new_data, report_validation


def ingest_dataset(dataset: str, mirror: str | None = None, data_dir: str = "data", files: list[str] | None = None,
                   artifacts_dir: str = "artifacts") -> Path:
    """Download, validate and publish one dataset as Parquet, with the reader its spec names; unchanged sources
    reuse the last build. A new version gets a drift report against the champion's data (its registry is in
    `artifacts_dir`). `files`: the files to read instead of the spec's defaults (a station's half-year files).
    `dataset`: a name or a spec file's path; a spec'd dataset's spec is kept with the data once published."""
    use_data_dir(data_dir)
    spec = dataset_spec(dataset)
    reader = reader_for(spec)
    settings = IngestSettings(data_dir=Path(data_dir), mirror=mirror or default_mirror(), jena_files=tuple(files or ()))
    # Named files (a station's) grow as the half-year goes on: without a published checksum, fetch them each run.
    # A user's own file is where its spec says, never on a mirror, and may have changed since: fetched each run.
    downloads = [download_source.submit(s, None if s.own else settings.mirror, settings.raw_dir,
                                        refresh=bool(files) or s.own)
                 for s in chosen_sources(spec, files)]
    fetched = [d.result() for d in downloads]
    sources = unpack_sources(spec.name, fetched, settings.raw_dir) if reader.unpacks else fetched
    raw_report = cached_path(reader.validate_raw, spec.name, sources, settings.validation_dir)
    version = cached_path(reader.normalize, spec.name, sources, raw_report, settings.processed_dir)
    validate_new_version(version, reader.validate_normalized, settings.validation_dir, settings.processed_dir,
                         spec.name)
    keep_downloads(fetched, settings.raw_dir)  # only now may the new files replace the previous raw files
    report_drift(version, settings.processed_dir, spec.name, artifacts_dir, settings.validation_dir)  # never fatal
    published = publish_dataset(version, settings.processed_dir, spec.name)
    store_spec(spec, data_dir)  # so that workers sharing the data dir find it by name
    report_validation(spec.name, version)
    judge_champions_on_new_data(version, spec.name, artifacts_dir)  # never fatal; judges nothing twice
    prune_after_publishing(settings.processed_dir, spec.name, artifacts_dir)  # what nothing needs (retention)
    return published


# The built-in datasets' flows, by the names their deployments (prefect.yaml) and the UI know them.
@flow(name="ingest-imdb", log_prints=True)
def ingest_imdb_flow(mirror: str | None = None, data_dir: str = "data", artifacts_dir: str = "artifacts") -> Path:
    """Download, validate and publish the IMDB reviews as Parquet; unchanged sources reuse the last build. A new
    version gets a drift report against the champion's data (its registry is in `artifacts_dir`)."""
    return ingest_dataset(IMDB, mirror, data_dir, None, artifacts_dir)


@flow(name="ingest-jena", log_prints=True)
def ingest_jena_flow(mirror: str | None = None, data_dir: str = "data", files: list[str] | None = None,
                     artifacts_dir: str = "artifacts") -> Path:
    """Download, validate and publish the Jena weather table as Parquet (the classic zip, or station files);
    unchanged sources reuse the last build. A new version gets a drift report against the champion's data."""
    return ingest_dataset(JENA, mirror, data_dir, files, artifacts_dir)


@flow(name="ingest", flow_run_name="ingest {dataset}", log_prints=True)
def ingest_flow(dataset: str, mirror: str | None = None, data_dir: str = "data", files: list[str] | None = None,
                artifacts_dir: str = "artifacts") -> Path:
    """Download, validate and publish any dataset by its name or its spec file's path (.toml)."""
    return ingest_dataset(dataset, mirror, data_dir, files, artifacts_dir)


INGEST_FLOWS = {IMDB: ingest_imdb_flow, JENA: ingest_jena_flow}  # the built-in datasets' own flows


def ingest_flow_for(dataset: str, mirror: str | None, data_dir: str, files: list[str] | None,
                    artifacts_dir: str) -> Path:
    """Run a dataset's ingest flow (as a subflow where called from one): a built-in dataset's own, else the
    generic one; only a dataset that takes named files gets `files`."""
    arguments = dict(mirror=mirror, data_dir=data_dir, artifacts_dir=artifacts_dir)
    if dataset_spec(dataset).sources.station is not None:
        arguments["files"] = files
    if dataset in INGEST_FLOWS:
        return INGEST_FLOWS[dataset](**arguments)
    return ingest_flow(dataset, **arguments)


if __name__ == "__main__":  # python -m flows.ingest is `seqconv ingest`
    from flows.cli import main
    sys.exit(main(["ingest", *sys.argv[1:]]))
