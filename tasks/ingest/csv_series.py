"""The reader of format `csv_series`: a user's time series in one or more CSV files (or zipped CSVs), read as its
spec's [record] says, each file validated raw, combined into `<name>.parquet` (timestamp, then the features as
float32) with every repair recorded in a new dataset version, and validated again.

Parsing and combining: tasks.ingest.series_csv; the expectations, made from the spec: tasks.ingest.series_suite.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from prefect import task

from tasks.core import atomic
from tasks.core.atomic import published_link, published_version
from tasks.core.datasets import DatasetSpec, duration_minutes, on_version_interval, spec_as_written
from tasks.core.errors import DataFormatError
from tasks.core.records.provenance import read_provenance
from tasks.ingest.jena_weather import canonical_sources
from tasks.ingest.normalize import version_cache_key, version_key
from tasks.ingest.provenance import write_parquet
from tasks.ingest.series_csv import TIME, check_record, file_rows, read_series_csv
from tasks.ingest.series_grid import combine_series, read_published, series_arrow
from tasks.ingest.series_suite import series_normalized_suite, series_raw_suite
from tasks.ingest.suite_runner import run_suite_column_by_column
from tasks.ingest.validate import normalized_cache_key, raw_cache_key, raw_key, report, report_normalized

UNPACKS = True  # a zip is unpacked to its one CSV first (tasks.ingest.unpack)


def min_rows(spec: DatasetSpec) -> int:
    """The fewest rows a version may be published with: a window of the spec's own settings (lookback + delay +
    1 rows) in each of the three splits."""
    defaults = spec.run_defaults()
    return 3 * (defaults.get("lookback", 1440) + defaults.get("delay", 144) + 1)


@task(task_run_name="validate raw {dataset}", cache_key_fn=raw_cache_key, persist_result=True)
def validate_raw_series(dataset: str, sources: list[dict], validation_dir: Path) -> Path:
    """Run the spec's raw suite on each file; a missing column, a time that does not parse or an undeclared text
    column stops the flow naming file, line and column."""
    spec = spec_as_written(dataset)
    check_record(spec.record, spec.path)
    results = []
    for source in canonical_sources(sources):  # {"name", "sha256", "csv"} from tasks.ingest.unpack
        frame = read_series_csv(Path(source["csv"]), spec.record, spec.path)
        rows, _ = file_rows(source["name"], frame, spec.record, spec.path)
        suite = series_raw_suite(spec, rows)
        # GX checks a range one value at a time on float32: those columns (only) are checked widened, exactly
        results.append(run_suite_column_by_column(rows, suite, source["name"], widen=spec.record.ranges, last=TIME))
        del rows  # emptied by the suite's run
    return report(dataset, "raw", raw_key(dataset, [s["sha256"] for s in sources]), results, validation_dir)


@task(task_run_name="normalize {dataset}", cache_key_fn=version_cache_key, persist_result=True)
def normalize_series(dataset: str, sources: list[dict], raw_report: Path, processed_dir: Path) -> Path:
    """Combine the raw files into the spec's one published file in a new dataset version, recording every repair."""
    spec = spec_as_written(dataset)  # an interval it leaves out is inferred from these files, not the published's
    (published,) = spec.published
    sources = canonical_sources(sources)
    frames = [(s["name"], read_series_csv(Path(s["csv"]), spec.record, spec.path)) for s in sources]
    table, repairs = combine_series(frames, spec)
    check_same_interval(spec, repairs, processed_dir)
    read = repairs.pop("rows_read")
    provenance = {
        "dataset": dataset,
        "sources": [{"name": s["name"], "sha256": s["sha256"], "rows": read[s["name"]]} for s in sources],
        "unit": spec.record.unit,
        **repairs,  # the interval among them, named or inferred: later stages read an inferred one from here
    }
    with atomic.staging_dir(published_link(processed_dir, dataset)) as staging:
        write_parquet(series_arrow(table), staging / published, provenance)
        shutil.copyfile(raw_report, staging / "validation.raw.json")
        key = version_key(dataset, [s["sha256"] for s in sources])
        return atomic.finalize_version(staging, published_link(processed_dir, dataset), key)


def check_same_interval(spec: DatasetSpec, report: dict, processed_dir: Path) -> None:
    """Refuse a new version on another interval than the published one's: the models, champions and runs of the
    dataset count their windows in rows of that one, and a version on another would be read on it silently."""
    dataset, (file,) = spec.name, spec.published
    published = published_version(processed_dir, dataset)
    if published is None or not (published / file).is_file():
        return
    before = read_provenance(published / file).get("interval")
    if not before or duration_minutes(before) == duration_minutes(report["interval"]):
        return
    how = "inferred from the data" if report["interval_inferred"] else "named in its spec"
    raise DataFormatError(
        f"{', '.join(report['rows_read'])}: the record's interval is {report['interval']} ({how}), and the "
        f"published version of {dataset} ({published.name}) is on a {before} grid: its models count their windows "
        f"in rows of {before}, so a version on another interval is not published under the same name; give the "
        "dataset another name in its spec (or fix the times)")


@task(task_run_name="validate normalized {dataset}", cache_key_fn=normalized_cache_key, persist_result=True)
def validate_normalized_series(dataset: str, version: Path, validation_dir: Path) -> Path:
    """Run the spec's normalized suite, every expectation hard, on the table about to be published."""
    spec = on_version_interval(spec_as_written(dataset), version)  # an inferred interval: as the version records it
    (published,) = spec.published
    frame = read_published(Path(version) / published)
    features = [c for c in frame.columns if c != "timestamp"]
    need = min_rows(spec)
    if len(frame) < need:  # the suite says so too; this says it in one line the user can act on
        raise DataFormatError(f"{dataset}: {len(frame):,} rows on the {spec.record.interval} grid; a window of "
                              f"{spec.path}'s settings (lookback + delay + 1 rows) in each of train, val and test "
                              f"needs at least {need:,}")
    results = [run_suite_column_by_column(frame, series_normalized_suite(spec, features, need), published,
                                          widen=spec.record.ranges, last=TIME)]  # emptied by the run
    return report_normalized(dataset, version, results, validation_dir)
