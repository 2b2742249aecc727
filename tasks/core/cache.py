"""What makes a cached result reusable: content hashes of the data, the settings, and the code that can change it.

Prefect caches a task by the key its cache policy computes. Our keys hash what the result depends on, never run
ids, and only the code that can change that result: `CODE` maps each kind of cached result to the modules it is
made by, so a change to a plot's colour invalidates no trained model and no dataset version. Cached results are
paths; `cached_path` runs a task again when the path its cached result names has been deleted since, instead of
handing on a dangling path.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, is_dataclass
from functools import cache
from pathlib import Path
from typing import Any, Callable

from prefect.cache_policies import CachePolicy

ROOT = Path(__file__).resolve().parents[2]
CHUNK_BYTES = 1 << 20  # read 1 MiB at a time

# A dataset version, with the raw and normalized validation results it holds: the code that reads, repairs, writes
# and checks its sources, and core.sources (the dataset shapes). Not the download (the sources' sha256 are an input)
# nor drift (reported beside a version, never part of it).
_VERSION = ("ingest.normalize", "ingest.provenance", "ingest.validate", "ingest.suite_runner", "core.sources")
_IMDB = (*_VERSION, "ingest.imdb_reviews", "ingest.imdb_suite")
_JENA = (*_VERSION, "ingest.jena_weather", "ingest.jena_suite")
_DATA = (*_IMDB, "ingest.jena_weather", "ingest.jena_suite")  # the keys wrapping either dataset's
CODE: dict[str, tuple[str, ...]] = {  # kind of cached result -> the tasks modules (dotted, below tasks/) whose code can change it
    "imdb-version": _IMDB,
    "jena-version": _JENA,
    "normalize": _DATA,
    "imdb-raw": _IMDB,
    "jena-raw": _JENA,
    "validate": _DATA,
    "imdb-normalized": _IMDB,
    "jena-normalized": _JENA,
    # a trained model: its data reading (IMDB encoding; Jena splits, normalization and windows), architecture and
    # fitting; not evaluation, plots or reports (nor model.progress: how training is shown)
    "train": ("model.train", "model.dataset", "model.encoding", "model.splits", "model.normalizer", "model.windows",
              "model.architectures", "model.imdb_dilated", "model.jena_tcn",  # the builders beyond the book
              "model.checkpoint",
              "core.records.normalization"),  # the record writes the run's normalization.json
    # the IMDB bag-of-words baseline, trained once per dataset version: its training and caching, the metrics it
    # stores, the reviews read and the architecture; not the evaluation of models, plots or reports
    "bag-of-words": ("judge.baselines", "judge.metrics", "model.dataset", "model.encoding", "model.architectures"),
}


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in chunks (files here run to hundreds of MB)."""
    return files_sha256([path])


def files_sha256(paths: list[Path] | tuple[Path, ...]) -> str:
    """One sha256 over several files' bytes, in the order given (a dataset of several Parquet files)."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
                digest.update(chunk)
    return digest.hexdigest()


@cache
def code_fingerprint(modules: tuple[str, ...]) -> str:
    """sha256 of the named tasks/ modules' source: the code a cached result depends on."""
    digest = hashlib.sha256()
    for name in sorted(modules):
        path = ROOT / "tasks" / f"{name.replace('.', '/')}.py"
        digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def code_for(kind: str) -> tuple[str, ...]:
    """The modules behind a kind of cached result (`CODE`); an unknown kind is a programming error."""
    try:
        return CODE[kind]
    except KeyError:
        raise KeyError(f"cache kind {kind!r} has no entry in tasks.core.cache.CODE; add the modules it depends on") from None


def content_key(kind: str, *parts: Any) -> str:
    """A stable cache key for `kind` from JSON-able parts (dataclasses allowed) and the code `kind` depends on."""
    plain = [asdict(p) if is_dataclass(p) else p for p in parts]
    blob = json.dumps([kind, code_fingerprint(code_for(kind)), *plain], sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(blob.encode()).hexdigest()[:32]}"


def short_key(kind: str, *parts: Any) -> str:
    """16 hex digits of `content_key`, for names on disk (dataset versions)."""
    return content_key(kind, *parts).rsplit("-", 1)[1][:16]


@dataclass
class Content(CachePolicy):
    """A Prefect 3 cache policy: the key is `content_key(kind, *parts(inputs))`.

    `parts` picks from the task's inputs what its result depends on (a data digest, the settings, an output
    folder), leaving out what does not (a run id); the code part comes from `CODE[kind]`.
    """

    kind: str = ""
    parts: Callable[[dict], tuple] = lambda inputs: ()

    def compute_key(self, task_ctx, inputs: dict, flow_parameters: dict, **kwargs) -> str | None:
        return content_key(self.kind, *self.parts(inputs))


def cached_path(task, *args, force: bool = False) -> str:
    """Call a cached task whose result is a path; `force` or a vanished path runs it again (refresh_cache)."""
    result = task.with_options(refresh_cache=force)(*args)
    if not Path(result).exists():
        result = task.with_options(refresh_cache=True)(*args)
    return result
