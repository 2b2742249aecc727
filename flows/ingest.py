"""Ingest flows: download, validate raw, normalize into Parquet, validate again, publish atomically.

    python -m flows.ingest imdb --mirror ../shared/datasets --data-dir data
    python -m flows.ingest jena --mirror ../shared/datasets --files mpi_roof_2024a.csv mpi_roof_2024b.csv

Runs without a Prefect server (ephemeral mode). A failure anywhere leaves the previously published dataset as it
was: the new version is built in a staging folder and swapped in only after its validation passed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prefect import flow, task

from tasks import atomic
from tasks.cache import cached_path
from tasks.config import IMDB_NPZ, IMDB_WORD_INDEX, IngestSettings, default_mirror, jena_sources
from tasks.download import download_source, extract_zip
from tasks.errors import DataFormatError, SeqconvError
from tasks.normalize import normalize_imdb, normalize_jena_files, read_provenance
from tasks.report import publish_validation, validation_markdown
from tasks.validate import validate_normalized_imdb, validate_normalized_jena, validate_raw_imdb, validate_raw_jena


@task(task_run_name="publish {name}")
def publish_dataset(version: Path, processed_dir: Path, name: str) -> Path:
    """Swap the validated version in: `processed/<name>` now points at it (a no-op if it already does)."""
    return atomic.point_link(version, Path(processed_dir) / name)


@task(task_run_name="unpack jena sources")
def unpack_jena(fetched: list, raw_dir: Path) -> list[dict]:
    """The CSV of each Jena source: zips extracted safely under raw/extracted/, plain CSVs as they are."""
    sources = []
    for f in fetched:
        if f.path.suffix == ".zip":
            csvs = [p for p in extract_zip(f.path, Path(raw_dir) / "extracted" / f.path.stem) if p.suffix == ".csv"]
            if len(csvs) != 1:
                raise DataFormatError(f"{f.path}: expected exactly one .csv inside, found {[p.name for p in csvs]}")
            sources.append({"name": f.name, "sha256": f.sha256, "csv": csvs[0]})
        else:
            sources.append({"name": f.name, "sha256": f.sha256, "csv": f.path})
    return sources


@task(task_run_name="report {dataset} validation")
def report_validation(dataset: str, version: Path) -> None:
    """Publish the dataset's raw and normalized validation results as the `validation-<dataset>` artifact."""
    reports = [Path(version) / f"validation.{stage}.json" for stage in ("raw", "normalized")]
    publish_validation(dataset, validation_markdown(dataset, reports))


def validated(version: Path, validate, settings: IngestSettings, name: str) -> Path:
    """Run the normalized suite on a new version; a version that fails it is removed, never published."""
    try:
        cached_path(validate, version, settings.validation_dir)
    except BaseException:
        atomic.discard_version(version, settings.processed_dir / name)
        raise
    return version


@flow(name="ingest-imdb", log_prints=True)
def ingest_imdb_flow(mirror: str | None = None, data_dir: str = "data") -> Path:
    """Download, validate and publish the IMDB reviews as Parquet; unchanged sources reuse the last build."""
    settings = IngestSettings(data_dir=Path(data_dir), mirror=mirror or default_mirror())
    downloads = [download_source.submit(s, settings.mirror, settings.raw_dir) for s in (IMDB_NPZ, IMDB_WORD_INDEX)]
    sources = [d.result() for d in downloads]
    raw_report = cached_path(validate_raw_imdb, sources, settings.validation_dir)
    version = cached_path(normalize_imdb, sources, raw_report, settings.processed_dir)
    validated(version, validate_normalized_imdb, settings, "imdb")
    published = publish_dataset(version, settings.processed_dir, "imdb")
    report_validation("imdb", version)
    return published


@flow(name="ingest-jena", log_prints=True)
def ingest_jena_flow(mirror: str | None = None, data_dir: str = "data", files: list[str] | None = None) -> Path:
    """Download, validate and publish the Jena weather table as Parquet (the classic zip, or station files);
    unchanged sources reuse the last build."""
    settings = IngestSettings(data_dir=Path(data_dir), mirror=mirror or default_mirror(), jena_files=tuple(files or ()))
    # Station files grow as the half-year goes on: without a published checksum, fetch them again each run.
    downloads = [download_source.submit(s, settings.mirror, settings.raw_dir, refresh=bool(files))
                 for s in jena_sources(files)]
    sources = unpack_jena([d.result() for d in downloads], settings.raw_dir)
    raw_report = cached_path(validate_raw_jena, sources, settings.validation_dir)
    version = cached_path(normalize_jena_files, sources, raw_report, settings.processed_dir)
    validated(version, validate_normalized_jena, settings, "jena")
    published = publish_dataset(version, settings.processed_dir, "jena")
    report_validation("jena", version)
    return published


def summarize(dataset: str, path: Path) -> str:
    """A few lines for the terminal: rows and repairs from the published Parquet's provenance."""
    if dataset == "imdb":
        rows = {s: read_provenance(path / f"{s}.parquet")["rows"] for s in ("train", "test")}
        return f"imdb: {rows['train']:,} train + {rows['test']:,} test reviews -> {path}"
    p = read_provenance(path / "jena.parquet")
    r = p["repairs"]
    return (
        f"jena: {p['rows']:,} rows, {p['first']} to {p['last']} -> {path}\n"
        f"  repairs: {r['repeated_timestamps_dropped']} repeated timestamp(s) dropped {r['repeated_timestamps']}, "
        f"sentinels interpolated {r['sentinels_interpolated'] or 'none'}, "
        f"rows sorted {r['rows_out_of_order_sorted']}; -9999 in columns not kept: "
        f"{r['sentinels_in_dropped_columns'] or 'none'}\n"
        f"  grid: {p['gap_count']} gap(s), {p['missing_steps']:,} missing 10-minute steps"
        + "".join(f"\n    {g['after']} -> {g['before']} ({g['hours']} h)" for g in p["gaps"][:5])
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.ingest", description=__doc__.split("\n")[0])
    parser.add_argument("dataset", choices=["imdb", "jena"])
    parser.add_argument("--mirror", default=None,
                        help="local folder or base URL holding the source files (default: $SEQCONV_MIRROR, "
                             "else the canonical sites)")
    parser.add_argument("--data-dir", default="data", help="where raw/, processed/ and validation/ live")
    parser.add_argument("--files", nargs="+", default=None, metavar="NAME",
                        help="jena only: station half-year files (mpi_roof_YYYYa.csv, ...) instead of the classic zip")
    args = parser.parse_args(argv)
    if args.files and args.dataset != "jena":
        parser.error("--files applies to jena only")
    try:
        if args.dataset == "imdb":
            path = ingest_imdb_flow(mirror=args.mirror, data_dir=args.data_dir)
        else:
            path = ingest_jena_flow(mirror=args.mirror, data_dir=args.data_dir, files=args.files)
    except SeqconvError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(summarize(args.dataset, Path(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
