"""The Jena dataset's reader (format `jena_station`): the station's CSV files (the classic 2009-2016 zip, or its
half-year files), each validated raw, combined into `jena.parquet` with every repair recorded in a new dataset
version, and validated again.

Parsing and combining the files: tasks.ingest.jena_weather; its expectations: tasks.ingest.jena_suite.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from prefect import task

from tasks.core import atomic
from tasks.core.atomic import published_link
from tasks.ingest.jena_suite import jena_dropped_columns, jena_normalized_suite, jena_raw_suite, jena_raw_table
from tasks.ingest.jena_weather import canonical_sources, jena_arrow, normalize_jena, read_jena_csv
from tasks.ingest.normalize import version_cache_key, version_key
from tasks.ingest.provenance import write_parquet
from tasks.ingest.suite_runner import run_suite, run_suite_on_float32
from tasks.ingest.validate import normalized_cache_key, raw_cache_key, raw_key, report, report_normalized

UNPACKS = True  # zips are unpacked to their CSV first (tasks.ingest.unpack)


@task(task_run_name="validate raw {dataset}", cache_key_fn=raw_cache_key, persist_result=True)
def validate_raw_jena(dataset: str, sources: list[dict], validation_dir: Path) -> Path:
    """Run the raw Jena suite on each file: hard failures stop the flow, sentinels and repeats are reported."""
    results = []
    for source in canonical_sources(sources):  # {"name", "sha256", "csv"} from flows.ingest.unpack_jena
        frame = read_jena_csv(source["csv"])
        suite = jena_raw_suite(jena_dropped_columns(frame))
        results.append(run_suite(jena_raw_table(frame), suite, Path(source["csv"]).name))
    return report(dataset, "raw", raw_key(dataset, [s["sha256"] for s in sources]), results, validation_dir)


@task(task_run_name="validate normalized {dataset}", cache_key_fn=normalized_cache_key, persist_result=True)
def validate_normalized_jena(dataset: str, version: Path, validation_dir: Path) -> Path:
    """Run the normalized Jena suite, every expectation hard, on the table about to be published."""
    import pyarrow.parquet as pq

    frame = pq.read_table(Path(version) / "jena.parquet").to_pandas()
    results = [run_suite_on_float32(frame, jena_normalized_suite(), "jena.parquet")]
    return report_normalized(dataset, version, results, validation_dir)


@task(task_run_name="normalize {dataset}", cache_key_fn=version_cache_key, persist_result=True)
def normalize_jena_files(dataset: str, sources: list[dict], raw_report: Path, processed_dir: Path) -> Path:
    """Combine the raw Jena files into `jena.parquet` in a new dataset version, recording every repair."""
    sources = canonical_sources(sources)  # the provenance, and so the Parquet bytes, in one order
    frames = [(s["name"], read_jena_csv(Path(s["csv"]))) for s in sources]
    table, report = normalize_jena(frames)
    provenance = {
        "dataset": dataset,
        "sources": [{"name": s["name"], "sha256": s["sha256"], "rows": len(f)} for s, (_, f) in zip(sources, frames)],
        **report,
    }
    with atomic.staging_dir(published_link(processed_dir, dataset)) as staging:
        write_parquet(jena_arrow(table), staging / "jena.parquet", provenance)
        shutil.copyfile(raw_report, staging / "validation.raw.json")
        key = version_key(dataset, [s["sha256"] for s in sources])
        return atomic.finalize_version(staging, published_link(processed_dir, dataset), key)
