"""What makes a cached result reusable: content hashes of the data, the settings, and the code that can change it.

Prefect caches a task by the key its cache policy computes. Our keys hash what the result depends on, never run
ids, and only the code that can change that result: `CODE` maps each kind of cached result to the modules it is
made by, so a change to a plot's colour invalidates no trained model and no dataset version. A trained model's
modules are derived from its registration (`train_code`): the whole training stage, found on disk, less the other
architectures' builders, so a new module there counts without an edit here and an edit to one builder retrains
only the models it builds. Cached results are
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

from tasks.core.architectures import ARCHITECTURES
from tasks.core.datasets import builtin_names, dataset_spec
from tasks.core.errors import SettingsError

ROOT = Path(__file__).resolve().parents[2]
CHUNK_BYTES = 1 << 20  # read 1 MiB at a time

# A dataset version, with the raw and normalized validation results it holds: the code that reads, repairs, writes
# and checks its sources (its reader's modules, by the format its spec names), core.sources and its spec itself
# (`spec:<name>`: datasets/<name>.toml). Not the download (the sources' sha256 are an input) nor drift (reported
# beside a version, never part of it). The kinds "<dataset>-version", "-raw" and "-normalized" are derived from
# these for any dataset (dataset_code); "normalize" and "validate" wrap every dataset's.
VERSION_CODE = ("ingest.normalize", "ingest.provenance", "ingest.validate", "ingest.suite_runner", "core.sources",
                "core.datasets")
FORMAT_CODE: dict[str, tuple[str, ...]] = {  # a spec's format -> its reader's modules (tasks.ingest.readers)
    "keras_imdb": ("ingest.keras_imdb", "ingest.imdb_reviews", "ingest.imdb_suite"),
    "jena_station": ("ingest.jena_station", "ingest.jena_weather", "ingest.jena_suite"),
    "csv_series": ("ingest.csv_series", "ingest.series_csv", "ingest.series_file", "ingest.series_suite",
                   "ingest.jena_weather"),
    "text_files": ("ingest.text_files", "ingest.text_sources", "core.vocabulary"),
}
DATASET_STAGES = ("version", "raw", "normalized")  # "<dataset>-<stage>" kinds of cached result
CODE: dict[str, tuple[str, ...]] = {  # kind of cached result -> the tasks modules (dotted, below tasks/) whose code can change it
    # the IMDB bag-of-words baseline, trained once per dataset version: its training and caching, the metrics it
    # stores, the reviews read and the architecture; not the evaluation of models, plots or reports
    "bag-of-words": ("judge.baselines", "judge.metrics", "model.dataset", "model.text", "model.encoding",
                     "model.bag_of_words", "model.blocks"),
}
TRAINING_STAGE = "model"  # the package a model is trained by: every module in it counts (train_code)
NOT_TRAINING = ("model.progress", "model.bag_of_words")  # in it, but never change a trained model: how training
# is shown, and the baseline's model (cached on its own, "bag-of-words"). Forgetting one here only retrains.
TRAINING_RECORDS = ("core.records.normalization",)  # below it: the record that writes a run's normalization.json


def modules_under(package: str) -> tuple[str, ...]:
    """Every module of a tasks/ package, dotted below tasks/ (`model.train`, `model.__init__`), found on disk."""
    folder = ROOT / "tasks" / package.replace(".", "/")
    return tuple(sorted(".".join(p.relative_to(ROOT / "tasks").with_suffix("").parts) for p in folder.rglob("*.py")))


def train_code(model: str) -> tuple[str, ...]:
    """The modules a trained `model` depends on: its training stage's (its data reading, fitting, checkpoints) and
    its own builder, never another architecture's; settings count as values, not as the code that checks them."""
    builder = ARCHITECTURES[model.partition("@")[0]].builder  # <architecture>@<dataset>: its architecture's
    others = {a.builder for a in ARCHITECTURES.values()} - {builder}
    stage = set(modules_under(TRAINING_STAGE)) - others - set(NOT_TRAINING)
    return tuple(sorted(stage | {builder, *TRAINING_RECORDS}))


def training_key(settings: Any, data_sha256: str, artifacts_dir: str) -> str:
    """The cache key of a trained model: its settings (tasks.core.config.TrainSettings, what it read), its data,
    where its runs are kept, and its own code (train_code)."""
    return content_key("train", settings.as_record(), data_sha256, artifacts_dir, code=train_code(settings.model))


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
    """sha256 of the named tasks/ modules' source and `spec:<name>` dataset specs: what a cached result depends on."""
    digest = hashlib.sha256()
    for name in sorted(modules):
        digest.update(name.encode() + b"\0" + code_path(name).read_bytes())
    return digest.hexdigest()


def code_path(name: str) -> Path:
    """The file of a module dotted below tasks/ (`model.train`), or of a dataset spec (`spec:jena`)."""
    if name.startswith("spec:"):  # a built-in's, or a user's wherever it was read from (dataset_spec)
        dataset = name.removeprefix("spec:")
        if dataset in builtin_names():
            return ROOT / "datasets" / f"{dataset}.toml"
        return Path(dataset_spec(dataset).path)
    return ROOT / "tasks" / f"{name.replace('.', '/')}.py"


def dataset_code(dataset: str) -> tuple[str, ...]:
    """What a dataset's versions are built by: its reader's modules, the shared ones, and its spec."""
    return (*VERSION_CODE, *FORMAT_CODE[dataset_spec(dataset).format], f"spec:{dataset}")


def code_for(kind: str) -> tuple[str, ...]:
    """The modules behind a kind of cached result (`CODE`, or a dataset's: dataset_code); an unknown kind is a
    programming error."""
    if kind in CODE:
        return CODE[kind]
    if kind in ("normalize", "validate"):  # the keys wrapping any dataset's
        return tuple(sorted({m for name in builtin_names() for m in dataset_code(name)}))
    dataset, _, stage = kind.rpartition("-")
    if stage in DATASET_STAGES and _is_dataset(dataset):
        return dataset_code(dataset)
    raise KeyError(f"cache kind {kind!r} has no entry in tasks.core.cache.CODE; add the modules it depends on")


def _is_dataset(name: str) -> bool:
    try:
        dataset_spec(name)
    except SettingsError:
        return False
    return True


def content_key(kind: str, *parts: Any, code: tuple[str, ...] | None = None) -> str:
    """A stable cache key for `kind` from JSON-able parts (dataclasses allowed) and the code it depends on: `code`,
    the modules given (a trained model's, train_code), else those of CODE[kind]."""
    plain = [asdict(p) if is_dataclass(p) else p for p in parts]
    blob = json.dumps([kind, code_fingerprint(code or code_for(kind)), *plain], sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(blob.encode()).hexdigest()[:32]}"


def short_key(kind: str, *parts: Any) -> str:
    """16 hex digits of `content_key`, for names on disk (dataset versions)."""
    return content_key(kind, *parts).rsplit("-", 1)[1][:16]


@dataclass
class Content(CachePolicy):
    """A Prefect 3 cache policy: the key is `content_key(kind, *parts(inputs))`.

    `parts` picks from the task's inputs what its result depends on (a data digest, the settings, an output
    folder), leaving out what does not (a run id); the code part comes from `CODE[kind]`, or `key` makes the
    whole key from the parts (a trained model: training_key, whose code depends on its architecture).
    """

    kind: str = ""
    parts: Callable[[dict], tuple] = lambda inputs: ()
    key: Callable[..., str] | None = None

    def compute_key(self, task_ctx, inputs: dict, flow_parameters: dict, **kwargs) -> str | None:
        if self.key:
            return self.key(*self.parts(inputs))
        return content_key(self.kind, *self.parts(inputs))


def cached_path(task, *args, force: bool = False) -> str:
    """Call a cached task whose result is a path; `force` or a vanished path runs it again (refresh_cache)."""
    result = task.with_options(refresh_cache=force)(*args)
    if not Path(result).exists():
        result = task.with_options(refresh_cache=True)(*args)
    return result
