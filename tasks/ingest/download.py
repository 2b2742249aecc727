"""Fetch the raw source files, from the canonical sites or a mirror, and verify them before anyone reads them.

A file reaches `raw_dir/<name>` only complete and verified: it streams into `raw_dir/.<name>.part` (resumed with
an HTTP Range request after a dropped connection: tasks.ingest.transfer), is checked against every checksum known
for it (the pin in `tasks/core/sources.py`, the mirror's SHA256SUMS: tasks.ingest.checksums), and only then is
moved into place. A file no one publishes a checksum for gets a sidecar `raw_dir/<name>.sha256` recording what was
fetched, so a later run can tell it is intact.

Where a raw file is there already (the one the last good run validated), new bytes never replace it straight
away: they wait in `raw_dir/incoming/<name>`, which the stages read, and become `raw_dir/<name>` only through
`keep_download` once the run has validated them. A bad file on a mirror (checksum-valid, content-invalid) thus
fails its run and leaves the previous raw file as it was.

Nothing here loads or unpickles what it downloads: that is for the stages that validate it.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from tasks.core import atomic
from tasks.core.errors import ChecksumError, DownloadError
from tasks.core.log import log
from tasks.core.sources import Source
from tasks.ingest.checksums import (
    VERIFIED_CANONICAL_SHA256,
    VERIFIED_RECORDED,
    Expected,
    expected_digests,
    hash_file,
    matching_checksum,
    mismatch_message,
    read_mirror_checksums,
    read_sidecar,
)
from tasks.ingest.source_folder import copy_folder
from tasks.ingest.transfer import fetch_to_part, is_url, resolve_url

INCOMING = "incoming"  # raw_dir/incoming/<name>: a new download waiting to be validated beside an older raw file


@dataclass(frozen=True)
class FetchedFile:
    """A verified raw file in place, and where it came from."""

    path: Path  # raw_dir/<name>
    name: str  # the source's file name
    sha256: str  # digest of the bytes at `path`
    url: str  # where they were fetched from (or would have been, when reused)
    verified_by: str  # which checksum they matched: one of the VERIFIED_* strings
    fetched: bool  # False when a verified file already there was reused


def fetch(
    source: Source, mirror: str | None, raw_dir: Path, *, refresh: bool = False, timeout: float = 60.0
) -> FetchedFile:
    """Put a verified copy of `source` at `raw_dir/<name>`, fetching only when needed.

    Args:
        source: the file and its pinned checksums.
        mirror: None for the canonical site, a base URL, or a local folder (see `resolve_url`).
        raw_dir: where raw files live; created if missing.
        refresh: fetch again a file that has no published checksum even if it matches its sidecar (station files
            grow); files with a published checksum are never fetched again once verified.
        timeout: seconds to wait for the server before giving up on a request.

    Returns:
        The file in place, its sha256, and which checksum it matched.

    Raises:
        DownloadError: the file could not be fetched; `.retryable` says whether trying again can help.
        ChecksumError: the fetched bytes match no known checksum; nothing is left behind.
        DataFormatError: the mirror's SHA256SUMS is malformed.
    """
    url = resolve_url(source, mirror)
    folder = local_folder(url)
    if folder is not None:
        return fetch_folder(source, folder, url, raw_dir)
    final = raw_dir / source.name
    part = raw_dir / f".{source.name}.part"
    sidecar = raw_dir / f"{source.name}.sha256"

    def with_mirror_entry() -> list[Expected]:
        return expected_digests(source, read_mirror_checksums(mirror).get(source.name))

    known: list[Expected] | None = None  # every checksum for the file, once the mirror's SHA256SUMS is read
    previous: str | None = None  # sha256 of the raw file already there, which new bytes must not overwrite
    if final.is_file():
        digests = hash_file(final)
        previous = digests["sha256"]
        # The canonical pins first: they settle most files without a request for SHA256SUMS.
        verified_by = matching_checksum(digests, expected_digests(source, None))
        if verified_by is None:
            known = with_mirror_entry()
            verified_by = matching_checksum(digests, known)
        if verified_by is None and not known and not refresh and read_sidecar(sidecar) == digests["sha256"]:
            verified_by = VERIFIED_RECORDED
        if verified_by is not None:
            return FetchedFile(final, source.name, digests["sha256"], url, verified_by, fetched=False)

    if known is None:
        known = with_mirror_entry()
    candidate = raw_dir / INCOMING / source.name
    if known and candidate.is_file():  # a rerun after a failed or interrupted one: no need to fetch it again
        digests = hash_file(candidate)
        verified_by = matching_checksum(digests, known)
        if verified_by is not None:
            return FetchedFile(candidate, source.name, digests["sha256"], url, verified_by, fetched=False)
    raw_dir.mkdir(parents=True, exist_ok=True)
    if part.exists() and not known:
        # A deliberate departure from "always resume": with no checksum to catch it, bytes resumed from a file
        # that changed on the server since the first attempt (a growing station file) would splice two versions
        # undetected. Without a checksum, start over.
        part.unlink()
    fetch_to_part(source.name, url, part, timeout, canonical=mirror is None)

    digests = hash_file(part)
    verified_by = matching_checksum(digests, known) if known else VERIFIED_RECORDED
    if verified_by is None:
        part.unlink()
        raise ChecksumError(mismatch_message(source, url, known, digests))

    if previous == digests["sha256"]:  # a refresh that found the same bytes: the raw file stands
        part.unlink()
        atomic.write_text(sidecar, f"{digests['sha256']}  {source.name}\n")
        return FetchedFile(final, source.name, digests["sha256"], url, verified_by, fetched=True)
    if previous is not None:  # never over the last validated file: wait for the run's validation
        candidate.parent.mkdir(exist_ok=True)
        os.replace(part, candidate)
        return FetchedFile(candidate, source.name, digests["sha256"], url, verified_by, fetched=True)
    os.replace(part, final)  # nothing there to protect
    atomic.write_text(sidecar, f"{digests['sha256']}  {source.name}\n")
    return FetchedFile(final, source.name, digests["sha256"], url, verified_by, fetched=True)


def local_folder(url: str) -> Path | None:
    """The local folder `url` names (a path, or a file:// URL), or None where it names a file or a remote place."""
    if is_url(url):
        if not url.lower().startswith("file://"):
            return None
        url = urllib.request.url2pathname(urllib.parse.urlsplit(url).path)
    return Path(url) if Path(url).is_dir() else None


def fetch_folder(source: Source, folder: Path, url: str, raw_dir: Path) -> FetchedFile:
    """A local folder's snapshot at `raw_dir/<name>/` (tasks.ingest.source_folder: its files copied, links and
    devices refused, its content hashed), verified against the spec's sha256 where it pins one.

    Copied every run (a user's folder may change at any time; the copy is what is read, so it cannot change while
    the run reads it): the same digest as the raw snapshot there already keeps that one; a new digest waits in
    `raw_dir/incoming/<name>/` for the run's validation, as a new file's bytes do (keep_download).

    Raises:
        DataFormatError: a link out of the folder or to a folder, a device or pipe, an empty folder.
        ChecksumError: the folder's digest is not the spec's sha256; nothing is left behind.
    """
    raw_dir.mkdir(parents=True, exist_ok=True)
    final, sidecar = raw_dir / source.name, raw_dir / f"{source.name}.sha256"
    staging = Path(tempfile.mkdtemp(prefix=f".{source.name}.", suffix=".part", dir=raw_dir))
    try:
        digest = copy_folder(folder, str(folder), staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    verified_by = VERIFIED_RECORDED
    if source.sha256:
        if digest != source.sha256.lower():
            shutil.rmtree(staging, ignore_errors=True)
            raise ChecksumError(f"{source.name}: the folder {folder} has content digest {digest}, not the spec's "
                                f"sha256 {source.sha256.lower()} (a folder's digest: docs/own-data.md); the copy "
                                "was deleted")
        verified_by = VERIFIED_CANONICAL_SHA256
    previous = read_sidecar(sidecar) if final.is_dir() else None
    if previous == digest:  # the folder has not changed: the snapshot there already stands
        shutil.rmtree(staging, ignore_errors=True)
        return FetchedFile(final, source.name, digest, url, verified_by, fetched=False)
    if previous is not None:  # never over the last validated snapshot: wait for the run's validation
        (raw_dir / INCOMING).mkdir(exist_ok=True)
        candidate = raw_dir / INCOMING / source.name
        atomic.replace_folder(staging, candidate)
        return FetchedFile(candidate, source.name, digest, url, verified_by, fetched=True)
    atomic.replace_folder(staging, final)  # nothing validated there to protect (an interrupted run's copy at most)
    atomic.write_text(sidecar, f"{digest}  {source.name}\n")
    return FetchedFile(final, source.name, digest, url, verified_by, fetched=True)


def keep_download(fetched: FetchedFile, raw_dir: Path) -> FetchedFile:
    """Make a download that its run has validated the raw file `raw_dir/<name>`, in one rename.

    Call it once nothing of the run reads `fetched.path` any more (after the dataset is validated): a file waiting
    in `raw_dir/incoming/` moves, with its sidecar updated; a file already in place is left as it is.

    Returns:
        The same file, at `raw_dir/<name>`.
    """
    raw_dir = Path(raw_dir)
    final = raw_dir / fetched.name
    if Path(fetched.path) == final:
        return fetched
    if Path(fetched.path).is_dir():  # a folder source's snapshot (fetch_folder)
        atomic.replace_folder(Path(fetched.path), final)
    else:
        os.replace(fetched.path, final)
    atomic.write_text(raw_dir / f"{fetched.name}.sha256", f"{fetched.sha256}  {fetched.name}\n")
    return dataclasses.replace(fetched, path=final)


# ---------------------------------------------------------------------------------------------------------------
# Prefect tasks
# ---------------------------------------------------------------------------------------------------------------
def is_retryable_download(task, task_run, state) -> bool:  # noqa: ANN001 - Prefect's retry_condition_fn signature
    """Retry only a DownloadError that says trying again can help (5xx, dropped connection, timeout)."""
    error = state.result(raise_on_failure=False)  # a failed state's result is the exception it raised
    return isinstance(error, DownloadError) and error.retryable


@task(
    retries=4,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),  # 2, 4, 8, 16 s
    retry_jitter_factor=0.5,
    retry_condition_fn=is_retryable_download,
    task_run_name="download {source.name}",
    cache_policy=NO_CACHE,  # fetch() itself skips files already verified; a Prefect cache would defeat refresh
)
def download_source(source: Source, mirror: str | None, raw_dir: Path, refresh: bool = False) -> FetchedFile:
    """Fetch one source file into raw_dir and verify its checksum."""
    fetched = fetch(source, mirror, raw_dir, refresh=refresh)
    action = "fetched" if fetched.fetched else "reused"
    log(f"{action} {fetched.name} from {fetched.url} ({fetched.verified_by}, sha256 {fetched.sha256})")
    return fetched


@task(task_run_name="keep validated downloads", cache_policy=NO_CACHE)
def keep_downloads(fetched: list[FetchedFile], raw_dir: Path) -> list[FetchedFile]:
    """Make this run's validated downloads the raw files, replacing the previous ones."""
    return [keep_download(f, raw_dir) for f in fetched]
