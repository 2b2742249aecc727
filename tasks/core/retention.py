"""Which dataset versions are kept, and why: nothing a champion, a resumable run or a recent run needs is removed.

Publishing (tasks.core.atomic.point_link) never deletes a version. Pruning does, here, and only a version that
nothing below needs:

- the published one (the link points at it);
- the `previous` versions published last before it (a reader such as `evaluate` or `predict` may still hold one
  open);
- the version each champion of the registry (`<artifacts>/registry/*.json`) trained on: the path its run's
  training.json records, else a version whose Parquet has the entry's `data_sha256`;
- the version each run that did not finish training trained on (its `data_version.json`, written before the first
  epoch): rerunning its run id resumes it on that same version;
- the versions the newest `newest_runs` finished runs of each dataset trained on (runs counted by run id);
- a version never published and younger than a day: a build still being validated by a running ingest.

Only the registry and runs of the one artifacts folder given count: a data folder shared by several artifacts
folders is pruned from each of them with all their needs in mind, or not at all.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from prefect import task

from tasks.core import atomic, runs
from tasks.core.errors import SeqconvError, SettingsError
from tasks.core.log import log
from tasks.core.records.registry import RegistryEntry

KEEP_RUNS_ENV = "SEQCONV_KEEP_RUNS"  # the default of RetentionSettings.newest_runs
UNPUBLISHED_GRACE_SECONDS = 86_400  # a version never published is an ingest's build in progress for this long


@dataclass(frozen=True)
class RetentionSettings:
    """What pruning keeps beyond the published version, the champions' and the unfinished runs' versions."""

    newest_runs: int = 3  # the versions the newest N finished runs of each dataset trained on ($SEQCONV_KEEP_RUNS)
    previous: int = 1  # the versions published last before the current one (a reader may still hold one open)

    def __post_init__(self) -> None:
        for name in ("newest_runs", "previous"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise SettingsError(f"retention setting {name}={value!r}: expected a whole number, 0 or more")


def retention_from_env(newest_runs: int | None = None) -> RetentionSettings:
    """The retention settings: `newest_runs` when given, else $SEQCONV_KEEP_RUNS, else the default."""
    if newest_runs is None:
        text = os.environ.get(KEEP_RUNS_ENV, "").strip()
        if text:
            try:
                newest_runs = int(text)
            except ValueError:
                raise SettingsError(f"${KEEP_RUNS_ENV}={text!r}: expected a whole number of runs") from None
    return RetentionSettings() if newest_runs is None else RetentionSettings(newest_runs=newest_runs)


@dataclass
class Version:
    """One version folder of a dataset, and what needs it (empty: nothing, so it may be pruned)."""

    dataset: str
    path: Path
    published_at: float  # the folder's mtime: point_link touches it on each publication
    size: int  # bytes of its files
    needed_by: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name


def version_pattern(dataset: str) -> re.Pattern:
    """`<dataset>-<key>`: a version's name (the key holds no dash, so `jena` never claims `jena-x`'s versions)."""
    return re.compile(rf"^{re.escape(dataset)}-[^-]+$")


def datasets_in(processed_dir: Path) -> list[str]:
    """The datasets published (a link) in `processed_dir`."""
    processed_dir = Path(processed_dir)
    if not processed_dir.is_dir():
        return []
    return sorted(p.name for p in processed_dir.iterdir() if p.is_symlink() and not p.name.startswith("."))


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file() and not p.is_symlink())


def list_versions(processed_dir: Path, dataset: str) -> list[Version]:
    """Every version folder of `dataset`, newest publication first, with what needs it still empty."""
    versions_dir = Path(processed_dir) / atomic.VERSIONS
    if not versions_dir.is_dir():
        return []
    pattern = version_pattern(dataset)
    found = [Version(dataset, p, p.stat().st_mtime, folder_size(p))
             for p in versions_dir.iterdir() if p.is_dir() and pattern.match(p.name)]
    return sorted(found, key=lambda v: v.published_at, reverse=True)


# ---------------------------------------------------------------------------------------------------------------
# What needs a version
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Need:
    """One thing that needs a dataset version: named by its folder's name, else by its data's sha256."""

    why: str  # "champion of jena_conv (run 20261207-...)", for the listing
    version: str | None  # the version folder's name (`jena-<key>`)
    sha256: str | None = None  # the data's sha256, when the version's name is not known


def _run_data(run_dir: Path) -> tuple[dict | None, bool]:
    """(the data record of a run folder, whether training finished): training.json's `data` once finished, else the
    data_version.json written before the first epoch; None when neither says (a run from before the record)."""
    training = run_dir / runs.TRAINING
    if training.is_file():
        try:
            return json.loads(training.read_text(encoding="utf-8")).get("data"), True
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            return None, True
    started = run_dir / runs.DATA_VERSION
    if started.is_file():
        try:
            return json.loads(started.read_text(encoding="utf-8")), False
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None, False
    return None, False


def champion_needs(artifacts_dir: Path) -> list[Need]:
    """The version each champion of the registry trained on.

    Raises:
        DataFormatError: a registry entry that cannot be read (then nothing can be known safe to remove).
    """
    registry = runs.registry_dir(artifacts_dir)
    needs = []
    for path in sorted(registry.glob("*.json")) if registry.is_dir() else []:
        if "." in path.stem:  # another record beside the entries (<model>.<what>.json): not a champion
            continue
        entry = RegistryEntry.read(registry, path.stem)
        if entry is None:
            continue
        data, _ = _run_data(entry.model_dir)
        version = Path(data["path"]).name if data and data.get("path") else None
        needs.append(Need(f"champion of {entry.model} (run {entry.run_id})", version, entry.data_sha256))
    return needs


def run_needs(artifacts_dir: Path, newest_runs: int) -> list[Need]:
    """The version of every run that did not finish training (resumable), and of the newest `newest_runs` finished
    runs of each dataset (a run id counts once per dataset, whatever its number of models)."""
    root = Path(artifacts_dir) / "runs"
    needs: list[Need] = []
    finished: dict[str, dict[str, list[tuple[float, Need]]]] = {}  # dataset -> run id -> (time, need)
    for run_dir in sorted(root.glob("*/*")) if root.is_dir() else []:
        if not run_dir.is_dir():
            continue
        data, done = _run_data(run_dir)
        if not data or not data.get("path"):
            continue
        version = Path(data["path"]).name
        run_id = run_dir.parent.name
        if not done:
            needs.append(Need(f"unfinished run {run_id}/{run_dir.name} (resumable)", version, data.get("sha256")))
            continue
        dataset = version.rpartition("-")[0]
        when = (run_dir / runs.TRAINING).stat().st_mtime
        need = Need(f"recent run {run_id}/{run_dir.name}", version, data.get("sha256"))
        finished.setdefault(dataset, {}).setdefault(run_id, []).append((when, need))
    for by_run in finished.values():
        newest = sorted(by_run.values(), key=lambda items: max(t for t, _ in items), reverse=True)[:newest_runs]
        needs += [need for items in newest for _, need in items]
    return needs


def version_sha256(version: Path) -> str | None:
    """The sha256 a run records for the data in a version folder (tasks.model.dataset.data_fingerprint): its
    Parquet files in their spec's order; None for a folder of a dataset whose spec is not found."""
    from tasks.core.cache import files_sha256
    from tasks.core.config import FAMILIES

    dataset = version.name.rpartition("-")[0]
    spec = FAMILIES.get(dataset)
    if spec is None or not all((version / name).is_file() for name in spec.files):
        return None
    return files_sha256([version / name for name in spec.files])


# ---------------------------------------------------------------------------------------------------------------
# The rule
# ---------------------------------------------------------------------------------------------------------------
def needs_of(processed_dir: Path, dataset: str, artifacts_dir: Path,
             retention: RetentionSettings | None = None) -> list[Version]:
    """Every version of `dataset` with what needs it (the module's rule), newest publication first.

    Raises:
        DataFormatError: a registry entry that cannot be read.
    """
    from tasks.core.datasets import use_data_dir

    use_data_dir(Path(processed_dir).parent)  # a user's dataset: its spec is stored with the data (version_sha256)
    retention = retention or RetentionSettings()
    versions = list_versions(processed_dir, dataset)
    current = atomic.published_version(processed_dir, dataset)
    previous = 0
    for version in versions:
        if current is not None and version.path.resolve() == current:
            version.needed_by.append("published")
        elif previous < retention.previous and _was_published(version):
            version.needed_by.append("published before the current one (a reader may still hold it open)")
            previous += 1
        elif not _was_published(version) and time.time() - version.published_at < UNPUBLISHED_GRACE_SECONDS:
            version.needed_by.append("never published, built in the last day (an ingest may be validating it)")
    by_name = {v.name: v for v in versions}
    hashes: dict[str, str | None] = {}
    for need in champion_needs(artifacts_dir) + run_needs(artifacts_dir, retention.newest_runs):
        if need.version in by_name:
            by_name[need.version].needed_by.append(need.why)
        elif need.sha256:  # the named folder is gone (or the data folder moved): the same data under another name
            for version in versions:
                if version.name not in hashes:
                    hashes[version.name] = version_sha256(version.path)
                if hashes[version.name] == need.sha256:
                    version.needed_by.append(need.why)
    return versions


def _was_published(version: Version) -> bool:
    """Whether point_link ever published it; every version counts as published where no log was kept yet (versions
    made before the log)."""
    log = version.path.parent / atomic.published_log_name(version.dataset)
    return not log.is_file() or version.name in log.read_text(encoding="utf-8").split()


def prune(processed_dir: Path, dataset: str, artifacts_dir: Path, retention: RetentionSettings | None = None,
          dry_run: bool = False) -> tuple[list[Version], list[Version]]:
    """Remove the versions of `dataset` that nothing needs (`needs_of`); with `dry_run`, only say which.

    Returns:
        (every version with its needs, the versions removed or, with dry_run, that would be).
    """
    versions = needs_of(processed_dir, dataset, artifacts_dir, retention)
    unneeded = [v for v in versions if not v.needed_by]
    if not dry_run:
        for version in unneeded:
            # Renamed aside first: a reader never finds half a version under its name.
            doomed = version.path.with_name(f".pruning-{version.name}")
            os.rename(version.path, doomed)
            shutil.rmtree(doomed, ignore_errors=True)
    return versions, unneeded


def human_size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size} B"


def versions_table(versions: list[Version], removed: list[Version] | None = None, dry_run: bool = False) -> str:
    """The listing `seqconv versions` and `seqconv prune` print: one line per version, what needs it, its size."""
    removed_names = {v.path for v in removed or []}
    lines = [f"{'version':<24}  {'size':>9}  {'published (UTC)':<20}  needed by"]
    for v in versions:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(v.published_at))
        if v.path in removed_names:
            why = "nothing: would be removed" if dry_run else "nothing: removed"
        else:
            why = "; ".join(v.needed_by) or "nothing (prunable)"
        lines.append(f"{v.name:<24}  {human_size(v.size):>9}  {when:<20}  {why}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Prefect tasks
# ---------------------------------------------------------------------------------------------------------------
@task(task_run_name="prune {dataset} versions")
def prune_versions(processed_dir: Path, dataset: str, artifacts_dir: Path,
                   retention: RetentionSettings | None = None, dry_run: bool = False) -> list[str]:
    """Remove the versions of `dataset` nothing needs (prune); returns the names removed (or, dry, to remove)."""
    versions, unneeded = prune(Path(processed_dir), dataset, Path(artifacts_dir), retention, dry_run)
    kept = len(versions) - len(unneeded)
    verb = "would remove" if dry_run else "removed"
    log(f"{dataset}: {kept} version(s) kept, {verb} {len(unneeded)}"
        + (f" ({', '.join(v.name for v in unneeded)})" if unneeded else ""))
    return [v.name for v in unneeded]


@task(task_run_name="prune {dataset} versions after publishing")
def prune_after_publishing(processed_dir: Path, dataset: str, artifacts_dir: Path) -> list[str]:
    """The ingest flows' pruning by the retention settings ($SEQCONV_KEEP_RUNS): never fatal, since the new version
    is published by now; a registry that cannot be read means nothing can be known safe to remove, so nothing is."""
    try:
        return prune_versions.fn(processed_dir, dataset, artifacts_dir, retention_from_env())
    except (SeqconvError, OSError) as error:
        log(f"{dataset}: no version pruned: {error}", logging.WARNING)
        return []
