"""Writes that never leave a half-written file or dataset where a good one stood.

Files are written to a temporary sibling and renamed over the target (atomic on POSIX). Datasets are folders
published through a symbolic link: the new version is written beside the old, then the link is swapped in one
rename, so a reader sees either the old version or the new one, never a mix.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from prefect import task

from tasks.core.errors import DataFormatError, SeqconvError, with_path

VERSIONS = ".versions"  # hidden folder beside a published link that holds the immutable versions


def write_bytes(path: Path, data: bytes) -> Path:
    """Write `data` to `path` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; results are read by other users (UI, workers)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as error:  # a full disk says no file: name the one being written
        Path(tmp).unlink(missing_ok=True)
        raise with_path(error, path) from error
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def replace_folder(new: Path, target: Path) -> None:
    """Make the folder `new` the folder `target`, an older `target` moved aside first, then deleted.

    POSIX cannot rename over a non-empty folder, so there is a moment with no `target`; never a partial one.
    """
    new, target = Path(new), Path(target)
    if target.is_dir() and not target.is_symlink():
        retired = target.with_name(f".{target.name}.{os.getpid()}.old")
        shutil.rmtree(retired, ignore_errors=True)
        os.replace(target, retired)
        os.replace(new, target)
        shutil.rmtree(retired, ignore_errors=True)
        return
    if target.exists() or target.is_symlink():
        target.unlink()
    os.replace(new, target)


def write_text(path: Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


class StagingError(SeqconvError):
    """A new dataset version could not be written (a full disk, a read-only mount): nothing was published."""


@contextmanager
def staging_dir(link: Path) -> Iterator[Path]:
    """A fresh, private folder to build the next version of the dataset published at `link`.

    Removed again if the block fails; `finalize_version` turns it into a version, `point_link` publishes it.
    Its name records the process and host building it (`.staging-<dataset>-<random>.pid<pid>@<host>`), so a
    later run can tell a folder left by a killed run from one a live run is still writing: stale ones of this
    dataset are removed first.
    """
    link = Path(link)
    versions = link.parent / VERSIONS
    versions.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(link)
    owner = f".pid{os.getpid()}@{socket.gethostname()}"
    path = Path(tempfile.mkdtemp(dir=versions, prefix=f".staging-{link.name}-", suffix=owner))
    try:
        yield path
    except OSError as error:  # a full disk, a read-only mount: say where and what, and that nothing changed
        file = getattr(error, "filename", None) or _newest_file(path)  # a writer's full disk names no file
        shutil.rmtree(path, ignore_errors=True)
        where = f" ({file})" if file else ""
        raise StagingError(f"ingest stage: writing a new version of {link.name} into {path}{where}: "
                           f"{error.strerror or error}; nothing was published, {link} is as it was") from error
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise


def _newest_file(folder: Path) -> str | None:
    """The file last written in `folder`: the one a writer was filling when its disk ran full."""
    try:
        files = [p for p in Path(folder).rglob("*") if p.is_file()]
        return str(max(files, key=lambda p: p.stat().st_mtime_ns)) if files else None
    except OSError:
        return None


_OWNER = re.compile(r"\.pid(\d+)@([^/]+)$")  # the end of a staging folder's name: .pid<pid>@<host>
UNMARKED_STALE_SECONDS = 86_400  # a staging folder without an owner (older code) is left for a day, then removed


def staging_owner(path: Path) -> tuple[int, str] | None:
    """(pid, host) of the process that made a staging folder, from its name; None for one made before names
    carried it."""
    match = _OWNER.search(Path(path).name)
    return (int(match.group(1)), match.group(2)) if match else None


def remove_stale_staging(link: Path) -> list[Path]:
    """Remove the staging folders of the dataset at `link` that a killed run left behind (SIGKILL, power loss:
    no `finally` ran). A folder is stale when its owner process, on this host, is gone; one owned by a live
    process or by another host (a shared mount: its pids are not ours to check) stays. Folders without an owner
    in their name go once untouched for UNMARKED_STALE_SECONDS.

    Returns:
        The folders removed.
    """
    link = Path(link)
    here = socket.gethostname()
    removed = []
    for path in (link.parent / VERSIONS).glob(f".staging-{link.name}-*"):
        owner = staging_owner(path)
        if owner is None:
            try:
                stale = time.time() - path.stat().st_mtime > UNMARKED_STALE_SECONDS
            except FileNotFoundError:  # another run removed it meanwhile
                continue
        else:
            pid, host = owner
            stale = host == here and not _process_alive(pid)
        if stale:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _process_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host (a reused pid counts as alive: the safe side)."""
    try:
        os.kill(pid, 0)  # signal 0: nothing is sent, only the existence check
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, but another user's
        return True
    return True


def finalize_version(staged: Path, link: Path, key: str) -> Path:
    """Turn a finished staging folder into the immutable version `<name>-<key>` beside the link (not yet
    published). If that version exists already (the same content was built before), the staging copy goes."""
    staged, link = Path(staged), Path(link)
    version = staged.parent / f"{link.name}-{key}"
    if version.exists():
        shutil.rmtree(staged, ignore_errors=True)
    else:
        os.rename(staged, version)
    return version


def point_link(version: Path, link: Path) -> Path:
    """Point `link` at `version` in one atomic rename. Never deletes a version: a champion, a resumable run or a
    reader may need an older one, and only tasks.core.retention knows; `seqconv prune` and the ingest flows remove
    what nothing needs. A real folder at `link` (not made by us) is refused rather than lost.
    """
    version, link = Path(version), Path(link)
    _refuse_real_folder(link)
    remove_stale_staging(link)  # a run whose build is cached makes no staging folder: clean up here too
    log = version.parent / published_log_name(link.name)
    published = log.read_text(encoding="utf-8").split() if log.is_file() else []
    if version.name not in published:  # before the link moves: a version is never published unrecorded
        write_text(log, "".join(f"{name}\n" for name in [*published, version.name]))
    if not (link.is_symlink() and link.resolve() == version.resolve()):
        tmp_link = link.parent / f".{link.name}.{uuid.uuid4().hex}.link"
        os.symlink(os.path.relpath(version, link.parent), tmp_link)
        os.replace(tmp_link, link)
    os.utime(version)  # "newest" (tasks.core.retention) means most recently published
    return link


def published_log_name(dataset: str) -> str:
    """`.versions/.<dataset>.published`: the names of the versions of `dataset` ever published, one a line, so that
    pruning tells a version an ingest is still validating from one published before."""
    return f".{dataset}.published"


def discard_version(version: Path, link: Path) -> None:
    """Remove a version that failed its checks, unless it is the one published (then it stays as it is)."""
    version, link = Path(version), Path(link)
    if not (link.is_symlink() and link.resolve() == version.resolve()):
        shutil.rmtree(version, ignore_errors=True)


def published_link(processed_dir: Path, name: str) -> Path:
    """Where readers find the dataset `name`: `<processed_dir>/<name>`, the link `publish_dataset` points at its
    current version (read through it, a reader sees whichever version is published when it opens a file)."""
    return Path(processed_dir) / name


def published_version(processed_dir: Path, name: str) -> Path | None:
    """The version folder the dataset `name` is published as now (its link resolved, so it stays the same folder
    while the link moves on), or None before the first publication (no link, or a real folder not made here)."""
    link = published_link(processed_dir, name)
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None


def _refuse_real_folder(link: Path) -> None:
    if link.exists() and not link.is_symlink():
        raise FileExistsError(f"{link} is a real folder, not a published dataset link: move it away first")


@task(task_run_name="publish {name}")
def publish_dataset(version: Path, processed_dir: Path, name: str) -> Path:
    """Swap the validated version in: `processed/<name>` now points at it (a no-op if it already does)."""
    return point_link(version, published_link(processed_dir, name))


def read_json(path: Path, what: str) -> dict:
    """A JSON object read from `path`, with an error naming the file (and `what` it is) if it is missing, not
    JSON or not an object."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataFormatError(f"{path} does not exist: {what}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataFormatError(f"{path} is not valid JSON ({error}): {what}") from None
    if not isinstance(data, dict):
        raise DataFormatError(f"{path} holds a {type(data).__name__}; expected a JSON object ({what})")
    return data
