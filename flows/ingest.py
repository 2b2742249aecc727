"""Ingest flows: download, validate raw, normalize into Parquet, validate again, publish atomically.

    python -m flows.ingest imdb --mirror ../shared/datasets --data-dir data
    python -m flows.ingest jena --mirror ../shared/datasets --files mpi_roof_2024a.csv mpi_roof_2024b.csv

Runs without a Prefect server (ephemeral mode). A failure anywhere leaves the previously published dataset as it
was: the new version is built in a staging folder and swapped in only after its validation passed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from prefect import flow, task

from tasks import atomic
from tasks.config import IMDB_NPZ, IMDB_WORD_INDEX, IngestSettings, default_mirror, jena_sources
from tasks.download import download_source, extract_zip
from tasks.errors import SeqconvError
from tasks.normalize import normalize_imdb, normalize_jena_files, read_provenance
from tasks.validate import validate_normalized_imdb, validate_normalized_jena, validate_raw_imdb, validate_raw_jena


@task(task_run_name="publish {name}")
def publish_dataset(staged: Path, processed_dir: Path, name: str) -> Path:
    """Swap the validated dataset in: `processed/<name>` now points at it."""
    return atomic.publish_dir(staged, Path(processed_dir) / name)


@task(task_run_name="unpack jena sources")
def unpack_jena(fetched: list, raw_dir: Path) -> list[dict]:
    """The CSV of each Jena source: zips extracted safely under raw/extracted/, plain CSVs as they are."""
    sources = []
    for f in fetched:
        if f.path.suffix == ".zip":
            csvs = [p for p in extract_zip(f.path, Path(raw_dir) / "extracted" / f.path.stem) if p.suffix == ".csv"]
            if len(csvs) != 1:
                raise SeqconvError(f"{f.path}: expected exactly one .csv inside, found {[p.name for p in csvs]}")
            sources.append({"name": f.name, "sha256": f.sha256, "csv": csvs[0]})
        else:
            sources.append({"name": f.name, "sha256": f.sha256, "csv": f.path})
    return sources


@flow(name="ingest-imdb", log_prints=True)
def ingest_imdb_flow(mirror: str | None = None, data_dir: str = "data") -> Path:
    """Download, validate and publish the IMDB reviews as Parquet."""
    settings = IngestSettings(data_dir=Path(data_dir), mirror=mirror or default_mirror())
    npz = download_source.submit(IMDB_NPZ, settings.mirror, settings.raw_dir)
    words = download_source.submit(IMDB_WORD_INDEX, settings.mirror, settings.raw_dir)
    npz, words = npz.result(), words.result()
    validate_raw_imdb(npz.path, npz.sha256, words.path, settings.validation_dir)
    with atomic.staging_dir(settings.processed_dir / "imdb") as staging:
        normalize_imdb(npz.path, npz.sha256, words.path, staging)
        validate_normalized_imdb(staging, settings.validation_dir)
        return publish_dataset(staging, settings.processed_dir, "imdb")


@flow(name="ingest-jena", log_prints=True)
def ingest_jena_flow(mirror: str | None = None, data_dir: str = "data", files: list[str] | None = None) -> Path:
    """Download, validate and publish the Jena weather table as Parquet (the classic zip, or station files)."""
    settings = IngestSettings(data_dir=Path(data_dir), mirror=mirror or default_mirror(), jena_files=tuple(files or ()))
    futures = [download_source.submit(s, settings.mirror, settings.raw_dir) for s in jena_sources(files)]
    sources = unpack_jena([f.result() for f in futures], settings.raw_dir)
    validate_raw_jena([s["csv"] for s in sources], settings.validation_dir)
    with atomic.staging_dir(settings.processed_dir / "jena") as staging:
        parquet = normalize_jena_files(sources, staging)
        validate_normalized_jena(parquet, settings.validation_dir)
        return publish_dataset(staging, settings.processed_dir, "jena")


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
