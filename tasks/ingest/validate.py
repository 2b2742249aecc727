"""Validating a dataset: keeping the results of its raw and normalized suites as JSON, their cache keys, and failing
the flow on any hard expectation (a version that fails is removed, never published).

Each reader's validation tasks (tasks.ingest.readers) run its suites and report through here; running a suite and
its results: tasks.ingest.suite_runner.
"""

from __future__ import annotations

from pathlib import Path

from tasks.core import atomic
from tasks.core.cache import content_key
from tasks.ingest.suite_runner import SuiteResult, raise_on_failure, results_to_json


def report(dataset: str, stage: str, key: str, results: list[SuiteResult], validation_dir: Path) -> Path:
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


def raw_cache_key(context, parameters: dict) -> str:
    """A raw validation task's cache key, from its `dataset`, `sources` and `validation_dir` parameters."""
    key = raw_key(parameters["dataset"],
                  [s.sha256 if hasattr(s, "sha256") else s["sha256"] for s in parameters["sources"]])
    # The result is a path in this data folder: another data folder with the same sources has its own.
    return content_key("validate", key, str(Path(parameters["validation_dir"]).resolve()))


def normalized_cache_key(context, parameters: dict) -> str:
    """A normalized validation task's cache key, from its `dataset` and `version` parameters: a version's name is
    its content key; its full path tells the data folders apart."""
    return content_key(f"{parameters['dataset']}-normalized", str(Path(parameters["version"]).resolve()))


NORMALIZED_REPORT = "validation.normalized.json"  # inside a dataset version, beside the raw stage's copy


def report_normalized(dataset: str, version: Path, results: list[SuiteResult], validation_dir: Path) -> Path:
    """Keep the normalized results beside the dataset version too (only when they pass: a failed version goes)."""
    path = report(dataset, "normalized", Path(version).name, results, validation_dir)
    return atomic.write_bytes(Path(version) / NORMALIZED_REPORT, path.read_bytes())


def validate_new_version(version: Path, validate_task, validation_dir: Path, processed_dir: Path, name: str) -> Path:
    """Run a normalized suite (a reader's validate_normalized task) on dataset `name`'s new version; a version that
    fails it is removed, never published, so the previous one stays as it was."""
    from tasks.core.cache import cached_path

    try:
        cached_path(validate_task, name, version, validation_dir)
    except BaseException:
        atomic.discard_version(version, atomic.published_link(processed_dir, name))
        raise
    return Path(version)
