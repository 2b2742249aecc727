"""A new dataset version's name: content-addressed by its sources' sha256 and the code (and spec) that builds it.

Each reader's normalize task (tasks.ingest.readers) writes its Parquet into that version folder, not yet published;
each Parquet file records its sources' sha256, row counts, repairs and grid gaps (tasks.ingest.provenance).
"""

from __future__ import annotations

from pathlib import Path

from tasks.core.atomic import VERSIONS
from tasks.core.cache import content_key, short_key


def version_key(dataset: str, digests: list[str]) -> str:
    """The version of a dataset built from sources with these sha256 (in any order) by this code."""
    return short_key(f"{dataset}-version", sorted(digests))


def version_dir(processed_dir: Path, dataset: str, digests: list[str]) -> Path:
    """Where that version lives: content-addressed, so the same sources always map to the same folder."""
    return Path(processed_dir) / VERSIONS / f"{dataset}-{version_key(dataset, digests)}"


def version_cache_key(context, parameters: dict) -> str:
    """A normalize task's cache key, from its `dataset`, `sources` and `processed_dir` parameters."""
    digests = [s.sha256 if hasattr(s, "sha256") else s["sha256"] for s in parameters["sources"]]
    return content_key("normalize", str(version_dir(parameters["processed_dir"], parameters["dataset"], digests)
                                        .resolve()))


