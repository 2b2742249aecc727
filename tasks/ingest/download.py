"""Fetch the raw source files, from the canonical sites or a mirror, and verify them before anyone reads them.

A file reaches `raw_dir/<name>` only complete and verified: it streams into `raw_dir/.<name>.part` (resumed with
an HTTP Range request after a dropped connection), is checked against every checksum known for it (the pin in
`tasks/config.py`, the mirror's SHA256SUMS), and only then is moved into place. A file no one publishes a checksum
for gets a sidecar `raw_dir/<name>.sha256` recording what was fetched, so a later run can tell it is intact.

Where a raw file is there already (the one the last good run validated), new bytes never replace it straight
away: they wait in `raw_dir/incoming/<name>`, which the stages read, and become `raw_dir/<name>` only through
`keep_download` once the run has validated them. A bad file on a mirror (checksum-valid, content-invalid) thus
fails its run and leaves the previous raw file as it was.

Nothing here loads or unpickles what it downloads: that is for the stages that validate it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import os
import posixpath
import re
import shutil
import socket
import stat
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from tasks.core import atomic
from tasks.core.sources import CHECKSUMS_FILE, Source
from tasks.core.errors import ChecksumError, DataFormatError, DownloadError
from tasks.core.log import log

CHUNK_BYTES = 1024 * 1024  # read and hash 1 MiB at a time
URL_SCHEMES = ("http://", "https://", "file://")  # a mirror starting with one of these is a URL, else a folder
USER_AGENT = "seqconv-download/0.1 (+urllib)"  # some sites refuse urllib's default agent
_CHECKSUM_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")  # sha256sum: "<hex>  <name>" or "<hex> *<name>"

VERIFIED_CANONICAL_SHA256 = "canonical sha256"
VERIFIED_CANONICAL_MD5 = "canonical md5"
VERIFIED_MIRROR = "mirror SHA256SUMS"
VERIFIED_RECORDED = "recorded (no published checksum)"
OFFLINE_HINT = (
    'no internet? point the pipeline at a mirror with MIRROR=DIR (make), --mirror DIR, or SEQCONV_MIRROR '
    '(README "Without internet")'
)
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


@dataclass(frozen=True)
class _Expected:
    """One digest the bytes may match, and where it was published."""

    algorithm: str  # "sha256" or "md5"
    digest: str  # lower-case hex
    verified_by: str  # one of the VERIFIED_* strings


# ---------------------------------------------------------------------------------------------------------------
# Where to fetch from, and what the bytes must hash to
# ---------------------------------------------------------------------------------------------------------------
def _is_url(mirror: str) -> bool:
    return mirror.lower().startswith(URL_SCHEMES)


def resolve_url(source: Source, mirror: str | None) -> str:
    """The URL (or local path) to fetch `source` from.

    Args:
        source: the file to fetch.
        mirror: None for the canonical site, a base URL (http, https, file), or a local folder.

    Returns:
        The canonical URL, the mirror's base URL plus the file name, or the path of the file in the mirror folder.
    """
    if mirror is None:
        return source.url
    if _is_url(mirror):
        return (mirror if mirror.endswith("/") else mirror + "/") + source.name
    return str(Path(mirror) / source.name)


def read_mirror_checksums(mirror: str | None) -> dict[str, str]:
    """The mirror's SHA256SUMS as {file name: lower-case sha256}; {} when there is none.

    Args:
        mirror: a base URL or local folder; None (the canonical sites) has no SHA256SUMS.

    Returns:
        One entry per line of the file.

    Raises:
        DataFormatError: a line is not in sha256sum format.
        DownloadError: the file exists but could not be read (retryable for 5xx and dropped connections).
    """
    if mirror is None:
        return {}
    where = resolve_url(Source(CHECKSUMS_FILE, ""), mirror)
    if _is_url(mirror):
        try:
            with _open_url(where, headers={}, timeout=60.0) as response:
                text = response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return {}
            raise _http_error(CHECKSUMS_FILE, where, error) from error
        except urllib.error.URLError as error:
            if isinstance(error.reason, FileNotFoundError):  # file:// mirror without the file
                return {}
            raise _connection_error(CHECKSUMS_FILE, where, error) from error
        except (OSError, http.client.HTTPException) as error:
            raise _connection_error(CHECKSUMS_FILE, where, error) from error
    else:
        path = Path(where)
        if not path.is_file():
            return {}
        text = path.read_text(encoding="utf-8")
    return _parse_checksums(text, where)


def _parse_checksums(text: str, where: str) -> dict[str, str]:
    sums: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _CHECKSUM_LINE.match(line.rstrip("\r"))
        if not match:
            raise DataFormatError(
                f"{where}: line {number} is not in sha256sum format: expected '<64 hex digits>  <file name>', "
                f"got {line!r}"
            )
        digest, name = match.groups()
        sums[name.removeprefix("./")] = digest.lower()
    return sums


def _expected_digests(source: Source, mirror_sha256: str | None) -> list[_Expected]:
    """Every checksum known for `source`, canonical pins first."""
    expected = []
    if source.sha256:
        expected.append(_Expected("sha256", source.sha256.lower(), VERIFIED_CANONICAL_SHA256))
    if source.md5:
        expected.append(_Expected("md5", source.md5.lower(), VERIFIED_CANONICAL_MD5))
    if mirror_sha256:
        expected.append(_Expected("sha256", mirror_sha256.lower(), VERIFIED_MIRROR))
    return expected


def _hash_file(path: Path) -> dict[str, str]:
    """{"sha256": hex, "md5": hex} of a file, read in 1 MiB chunks."""
    sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            sha256.update(chunk)
            md5.update(chunk)
    return {"sha256": sha256.hexdigest(), "md5": md5.hexdigest()}


def _match(digests: dict[str, str], expected: list[_Expected]) -> str | None:
    """The VERIFIED_* label of the first expected digest the file matches, or None."""
    for candidate in expected:
        if digests[candidate.algorithm] == candidate.digest:
            return candidate.verified_by
    return None


def _read_sidecar(sidecar: Path) -> str | None:
    """The sha256 recorded beside a file without a published checksum, or None when absent or unreadable."""
    try:
        match = _CHECKSUM_LINE.match(sidecar.read_text(encoding="utf-8").strip())
    except (OSError, UnicodeDecodeError):
        return None
    return match.group(1).lower() if match else None


# ---------------------------------------------------------------------------------------------------------------
# Fetching
# ---------------------------------------------------------------------------------------------------------------
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
    final = raw_dir / source.name
    part = raw_dir / f".{source.name}.part"
    sidecar = raw_dir / f"{source.name}.sha256"

    def with_mirror_entry() -> list[_Expected]:
        return _expected_digests(source, read_mirror_checksums(mirror).get(source.name))

    known: list[_Expected] | None = None  # every checksum for the file, once the mirror's SHA256SUMS is read
    previous: str | None = None  # sha256 of the raw file already there, which new bytes must not overwrite
    if final.is_file():
        digests = _hash_file(final)
        previous = digests["sha256"]
        # The canonical pins first: they settle most files without a request for SHA256SUMS.
        verified_by = _match(digests, _expected_digests(source, None))
        if verified_by is None:
            known = with_mirror_entry()
            verified_by = _match(digests, known)
        if verified_by is None and not known and not refresh and _read_sidecar(sidecar) == digests["sha256"]:
            verified_by = VERIFIED_RECORDED
        if verified_by is not None:
            return FetchedFile(final, source.name, digests["sha256"], url, verified_by, fetched=False)

    if known is None:
        known = with_mirror_entry()
    candidate = raw_dir / INCOMING / source.name
    if known and candidate.is_file():  # a rerun after a failed or interrupted one: no need to fetch it again
        digests = _hash_file(candidate)
        verified_by = _match(digests, known)
        if verified_by is not None:
            return FetchedFile(candidate, source.name, digests["sha256"], url, verified_by, fetched=False)
    raw_dir.mkdir(parents=True, exist_ok=True)
    if part.exists() and not known:
        # A deliberate departure from "always resume": with no checksum to catch it, bytes resumed from a file
        # that changed on the server since the first attempt (a growing station file) would splice two versions
        # undetected. Without a checksum, start over.
        part.unlink()
    if _is_url(url):
        _download(source.name, url, part, timeout, canonical=mirror is None)
    else:
        _copy_from_folder(source.name, Path(url), part)

    digests = _hash_file(part)
    verified_by = _match(digests, known) if known else VERIFIED_RECORDED
    if verified_by is None:
        part.unlink()
        raise ChecksumError(_mismatch_message(source, url, known, digests))

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
    os.replace(fetched.path, final)
    atomic.write_text(raw_dir / f"{fetched.name}.sha256", f"{fetched.sha256}  {fetched.name}\n")
    return dataclasses.replace(fetched, path=final)


def _mismatch_message(source: Source, url: str, known: list[_Expected], digests: dict[str, str]) -> str:
    lines = [f"{source.name}: the bytes fetched from {url} match no known checksum; the download was deleted."]
    lines += [f"  expected {e.algorithm} {e.digest} ({e.verified_by})" for e in known]
    lines.append(f"  actual   sha256 {digests['sha256']}")
    if any(e.algorithm == "md5" for e in known):
        lines.append(f"  actual   md5    {digests['md5']}")
    lines.append("Either the file on the server changed or the pin / SHA256SUMS is wrong; check before updating it.")
    return "\n".join(lines)


def _copy_from_folder(name: str, path: Path, part: Path) -> None:
    """Copy a file from a local mirror folder into the .part file."""
    if not path.is_file():
        raise DownloadError(f"{name}: not in the mirror folder: {path} does not exist")
    shutil.copyfile(path, part)


def _open_url(url: str, headers: dict[str, str], timeout: float) -> http.client.HTTPResponse:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **headers})
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - the schemes are checked by _is_url


def _http_error(name: str, url: str, error: urllib.error.HTTPError) -> DownloadError:
    """5xx, 408 and 429 are worth retrying; any other status will not change."""
    retryable = error.code >= 500 or error.code in (408, 429)
    return DownloadError(f"{name}: HTTP {error.code} {error.reason} at {url}", retryable=retryable)


def _connection_error(name: str, url: str, error: BaseException, canonical: bool = False) -> DownloadError:
    """Refused, reset or timed-out connections are worth retrying; a missing file:// path is not, nor a host name
    that does not resolve or a canonical site that refuses the connection: offline, four retries with backoff
    only delay the one thing to do, which the message says (a mirror's refusal may be a restart: retried)."""
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    unresolved = isinstance(reason, socket.gaierror)
    if unresolved or (canonical and isinstance(reason, ConnectionRefusedError)):
        why = "name does not resolve" if unresolved else "connection refused"
        what_to_do = OFFLINE_HINT if canonical else f"check the mirror setting ({url})"
        return DownloadError(f"{name}: cannot reach {urllib.parse.urlsplit(url).netloc} ({why}): {what_to_do}")
    retryable = not isinstance(reason, (FileNotFoundError, PermissionError, IsADirectoryError))
    return DownloadError(f"{name}: could not fetch {url}: {reason}", retryable=retryable)


def _download(name: str, url: str, part: Path, timeout: float, canonical: bool = False) -> None:
    """Stream `url` into `part`, resuming from the bytes already there; returns once `part` is complete.

    Raises DownloadError; a body cut short leaves `part` in place for the next attempt to resume.
    """
    response, first, body_length, total = _open_resumable(name, url, part, timeout, canonical)
    received = 0
    with response, _progress(name, total, first) as advance:
        try:
            with part.open("ab" if first else "wb") as out:
                while chunk := response.read(CHUNK_BYTES):
                    out.write(chunk)
                    received += len(chunk)
                    advance(len(chunk))
                out.flush()
                os.fsync(out.fileno())
        except http.client.IncompleteRead as error:  # Python 3.11 returns b"" at an early EOF; others may raise
            received += len(error.partial)
            with part.open("ab") as out:
                out.write(error.partial)
        except (OSError, http.client.HTTPException) as error:
            raise DownloadError(
                f"{name}: connection lost after {first + received} bytes of {url} ({error}); "
                f"kept {part.name} to resume",
                retryable=True,
            ) from error

    if body_length is not None and received < body_length:
        of_total = f" of {total}" if total is not None else ""
        raise DownloadError(
            f"{name}: connection dropped after {first + received}{of_total} bytes of {url}; kept {part.name} to resume",
            retryable=True,
        )
    size = part.stat().st_size
    if total is not None and size != total:  # the resumed bytes do not add up to the announced file
        part.unlink()
        raise DownloadError(
            f"{name}: {url} announced {total} bytes but {part.name} held {size}; deleted it to start over",
            retryable=True,
        )


def _open_resumable(
    name: str, url: str, part: Path, timeout: float, canonical: bool = False
) -> tuple[http.client.HTTPResponse, int, int | None, int | None]:
    """Open `url` from where `part` ends: (response, first byte of its body, body length, whole-file length).

    A 206 from the right offset resumes; a 200 (Range ignored), a 416 or a 206 from elsewhere starts over.
    """
    while True:
        offset = part.stat().st_size if part.exists() else 0
        try:
            response = _open_url(url, {"Range": f"bytes={offset}-"} if offset else {}, timeout)
        except urllib.error.HTTPError as error:
            if error.code == 416 and offset:  # the .part is no prefix of what the server has
                part.unlink()
                continue
            raise _http_error(name, url, error) from error
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            raise _connection_error(name, url, error, canonical) from error

        status = getattr(response, "status", None) or 200  # file:// responses carry no status
        length = _int_or_none(response.headers.get("Content-Length"))
        if not offset or status != 206:  # the body is the whole file
            return response, 0, length, length
        first, total = _content_range(response.headers.get("Content-Range"))
        if first == offset:
            return response, offset, length, total
        response.close()  # a range we did not ask for: start over (the next pass has no offset)
        part.unlink()


@contextmanager
def _progress(name: str, total: int | None, done: int) -> Iterator[Callable[[int], None]]:
    """Bytes, rate and time left on the terminal while a download runs; nothing at all when stderr is not a
    terminal (a log file, CI, a worker), where a redrawn bar would only add noise to the logs.

    Yields:
        advance(n): count n more bytes received.
    """
    if not getattr(sys.stderr, "isatty", lambda: False)():
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=Console(file=sys.stderr)) as progress:
        bar = progress.add_task(name, total=total, completed=done)
        yield lambda n: progress.advance(bar, n)


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def _content_range(header: str | None) -> tuple[int | None, int | None]:
    """(first byte, total size) from "bytes first-last/total"; None for what is missing or "*"."""
    match = re.match(r"^bytes (\d+)-(\d+)/(\d+|\*)$", (header or "").strip())
    if not match:
        return None, None
    total = match.group(3)
    return int(match.group(1)), (int(total) if total != "*" else None)


# ---------------------------------------------------------------------------------------------------------------
# Extracting
# ---------------------------------------------------------------------------------------------------------------
def extract_zip(zip_path: Path, target_dir: Path) -> list[Path]:
    """Extract a zip safely into `target_dir`, replacing an older extraction only once this one has succeeded.

    Args:
        zip_path: the archive.
        target_dir: the folder to hold its files; its previous contents are replaced as a whole.

    Returns:
        The extracted files, in archive order (directories and __MACOSX/ junk skipped).

    Raises:
        DataFormatError: the zip is truncated or corrupt, or an entry is absolute, a symlink, or escapes target_dir.
    """
    try:
        with zipfile.ZipFile(zip_path) as archive:
            members = _safe_members(zip_path, archive)
            staging = Path(
                tempfile.mkdtemp(prefix=f".{target_dir.name}.", suffix=".extracting", dir=_parent(target_dir))
            )
            try:
                for info, relative in members:
                    destination = staging / relative
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(info) as source, destination.open("wb") as out:
                        shutil.copyfileobj(source, out, CHUNK_BYTES)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as error:
        raise DataFormatError(
            f"{zip_path}: the zip is truncated or corrupt ({error}); delete it and download it again"
        ) from error

    _swap_in(staging, target_dir)
    return [target_dir / relative for _, relative in members]


def _parent(target_dir: Path) -> Path:
    parent = target_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    return parent


def _safe_members(zip_path: Path, archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Every file entry with its normalized relative path; refuses absolute paths, escapes and symlinks."""
    members = []
    for info in archive.infolist():
        name = info.filename.replace("\\", "/")  # a backslash is a separator to Windows tools that made the zip
        if name.startswith("__MACOSX/") or info.is_dir():
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            raise DataFormatError(f"{zip_path}: entry {info.filename!r} is a symbolic link; refusing to extract")
        if name.startswith("/") or PureWindowsPath(info.filename).drive:
            raise DataFormatError(f"{zip_path}: entry {info.filename!r} is an absolute path; refusing to extract")
        normalized = posixpath.normpath(name)
        if normalized == ".." or normalized.startswith("../"):
            raise DataFormatError(
                f"{zip_path}: entry {info.filename!r} would land outside the target folder; refusing to extract"
            )
        if normalized == ".":
            continue
        members.append((info, PurePosixPath(normalized)))
    return members


def _swap_in(staging: Path, target_dir: Path) -> None:
    """Move a finished extraction to `target_dir`; the older one is moved aside first, then deleted.

    POSIX cannot rename over a non-empty folder, so there is a moment with no `target_dir`; never a partial one.
    """
    if target_dir.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{target_dir.name}.", suffix=".old", dir=target_dir.parent))
        os.replace(target_dir, retired / target_dir.name)
        os.replace(staging, target_dir)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, target_dir)


def unpacked_csv(fetched: FetchedFile, raw_dir: Path) -> dict:
    """{"name", "sha256", "csv"} of one fetched source: a zip's only CSV, extracted under raw_dir/extracted/, or
    the file itself.

    Raises:
        DataFormatError: if a zip holds no CSV or more than one.
    """
    if fetched.path.suffix != ".zip":
        return {"name": fetched.name, "sha256": fetched.sha256, "csv": fetched.path}
    csvs = [p for p in extract_zip(fetched.path, Path(raw_dir) / "extracted" / fetched.path.stem) if p.suffix == ".csv"]
    if len(csvs) != 1:
        raise DataFormatError(f"{fetched.path}: expected exactly one .csv inside, found {[p.name for p in csvs]}")
    return {"name": fetched.name, "sha256": fetched.sha256, "csv": csvs[0]}


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


@task(task_run_name="unpack {dataset} sources", cache_policy=NO_CACHE)
def unpack_sources(dataset: str, fetched: list[FetchedFile], raw_dir: Path) -> list[dict]:
    """The CSV of each source: zips extracted safely under raw/extracted/, plain CSVs as they are."""
    return [unpacked_csv(f, Path(raw_dir)) for f in fetched]


@task(task_run_name="keep validated downloads", cache_policy=NO_CACHE)
def keep_downloads(fetched: list[FetchedFile], raw_dir: Path) -> list[FetchedFile]:
    """Make this run's validated downloads the raw files, replacing the previous ones."""
    return [keep_download(f, raw_dir) for f in fetched]
