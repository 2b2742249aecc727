"""Validating a dataset: the Prefect tasks that run the raw suites on the downloads and the normalized suites on a
new version, keep the results as JSON, and fail the flow on any hard expectation (a version that fails is removed,
never published).

The suites: tasks.ingest.imdb_suite and tasks.ingest.jena_suite; running them and their results:
tasks.ingest.suite_runner.
"""

from __future__ import annotations

from pathlib import Path

from prefect import task

from tasks.core import atomic
from tasks.core.cache import content_key
from tasks.ingest.imdb_reviews import flatten_reviews, load_imdb_npz, load_word_index, read_imdb_flat
from tasks.ingest.imdb_suite import imdb_review_table, imdb_suite
from tasks.ingest.jena_suite import jena_dropped_columns, jena_normalized_suite, jena_raw_suite, jena_raw_table
from tasks.ingest.jena_weather import canonical_sources, read_jena_csv
from tasks.ingest.suite_runner import SuiteResult, raise_on_failure, results_to_json, run_suite, run_suite_on_float32


def _report(dataset: str, stage: str, key: str, results: list[SuiteResult], validation_dir: Path) -> Path:
    """Write the results as the latest for this dataset and stage, and under their content key (what a cached run
    returns); then fail the task if a hard expectation failed."""
    text = results_to_json(dataset, stage, results, {"content_key": key})
    latest = atomic.write_text(Path(validation_dir) / f"{dataset}.{stage}.json", text)
    keyed = atomic.write_text(_keyed_path(validation_dir, dataset, stage, key), text)
    raise_on_failure(dataset, stage, results, str(latest))
    return keyed


def _keyed_path(validation_dir: Path, dataset: str, stage: str, key: str) -> Path:
    return Path(validation_dir) / "by-content" / f"{dataset}.{stage}.{key}.json"


def raw_key(dataset: str, digests: list[str]) -> str:
    """What a raw validation depends on: the sources' sha256 (in any order) and the code."""
    return content_key(f"{dataset}-raw", sorted(digests))


def _raw_cache_key(dataset: str):
    def key_fn(context, parameters: dict) -> str:
        key = raw_key(dataset, [s.sha256 if hasattr(s, "sha256") else s["sha256"] for s in parameters["sources"]])
        # The result is a path in this data folder: another data folder with the same sources has its own.
        return content_key("validate", key, str(Path(parameters["validation_dir"]).resolve()))

    return key_fn


def _normalized_cache_key(dataset: str):
    def key_fn(context, parameters: dict) -> str:
        # A version's name is its content key; its full path tells the data folders apart.
        return content_key(f"{dataset}-normalized", str(Path(parameters["version"]).resolve()))

    return key_fn


NORMALIZED_REPORT = "validation.normalized.json"  # inside a dataset version, beside the raw stage's copy


@task(task_run_name="validate raw imdb", cache_key_fn=_raw_cache_key("imdb"), persist_result=True)
def validate_raw_imdb(sources: list, validation_dir: Path) -> Path:
    """Run the IMDB suite on the downloaded npz and word index, per split; fail on any hard expectation."""
    npz, words = sources  # FetchedFile of imdb.npz and imdb_word_index.json
    arrays = load_imdb_npz(npz.path, npz.sha256)
    max_rank = max(load_word_index(words.path).values())
    results = []
    for split in ("train", "test"):
        flat, lengths = flatten_reviews(arrays[f"x_{split}"], f"{npz.path.name} x_{split}")
        table = imdb_review_table(flat, lengths, arrays[f"y_{split}"])
        results.append(run_suite(table, imdb_suite("raw", max_rank), split))
    return _report("imdb", "raw", raw_key("imdb", [npz.sha256, words.sha256]), results, validation_dir)


@task(task_run_name="validate normalized imdb", cache_key_fn=_normalized_cache_key("imdb"), persist_result=True)
def validate_normalized_imdb(version: Path, validation_dir: Path) -> Path:
    """Run the IMDB suite again on the Parquet about to be published."""
    max_rank = max(load_word_index(Path(version) / "word_index.json").values())
    results = []
    for split in ("train", "test"):
        table = imdb_review_table(*read_imdb_flat(version, split))
        results.append(run_suite(table, imdb_suite("normalized", max_rank), split))
    return _report_normalized("imdb", version, results, validation_dir)


@task(task_run_name="validate raw jena", cache_key_fn=_raw_cache_key("jena"), persist_result=True)
def validate_raw_jena(sources: list[dict], validation_dir: Path) -> Path:
    """Run the raw Jena suite on each file: hard failures stop the flow, sentinels and repeats are reported."""
    results = []
    for source in canonical_sources(sources):  # {"name", "sha256", "csv"} from flows.ingest.unpack_jena
        frame = read_jena_csv(source["csv"])
        suite = jena_raw_suite(jena_dropped_columns(frame))
        results.append(run_suite(jena_raw_table(frame), suite, Path(source["csv"]).name))
    return _report("jena", "raw", raw_key("jena", [s["sha256"] for s in sources]), results, validation_dir)


@task(task_run_name="validate normalized jena", cache_key_fn=_normalized_cache_key("jena"), persist_result=True)
def validate_normalized_jena(version: Path, validation_dir: Path) -> Path:
    """Run the normalized Jena suite, every expectation hard, on the table about to be published."""
    import pyarrow.parquet as pq

    frame = pq.read_table(Path(version) / "jena.parquet").to_pandas()
    results = [run_suite_on_float32(frame, jena_normalized_suite(), "jena.parquet")]
    return _report_normalized("jena", version, results, validation_dir)


def _report_normalized(dataset: str, version: Path, results: list[SuiteResult], validation_dir: Path) -> Path:
    """Keep the normalized results beside the dataset version too (only when they pass: a failed version goes)."""
    path = _report(dataset, "normalized", Path(version).name, results, validation_dir)
    return atomic.write_bytes(Path(version) / NORMALIZED_REPORT, path.read_bytes())


def validate_new_version(version: Path, validate_task, validation_dir: Path, processed_dir: Path, name: str) -> Path:
    """Run a normalized suite (one of the tasks above) on a new dataset version; a version that fails it is
    removed, never published, so the previous one stays as it was."""
    from tasks.core.cache import cached_path

    try:
        cached_path(validate_task, version, validation_dir)
    except BaseException:
        atomic.discard_version(version, atomic.published_link(processed_dir, name))
        raise
    return Path(version)
