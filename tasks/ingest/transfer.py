"""Moving a file's bytes from a URL or a mirror folder into a `.part` file: HTTP with resume, errors that say
whether trying again can help, and a progress bar on a terminal.

What the bytes must hash to is tasks.ingest.checksums; where a verified file goes, tasks.ingest.download.
"""

from __future__ import annotations

import errno
import http.client
import os
import re
import shutil
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tasks.core.errors import DownloadError, with_path
from tasks.core.sources import Source

CHUNK_BYTES = 1024 * 1024  # read and hash 1 MiB at a time
URL_SCHEMES = ("http://", "https://", "file://")  # a mirror starting with one of these is a URL, else a folder
USER_AGENT = "seqconv-download/0.1 (+urllib)"  # some sites refuse urllib's default agent
OFFLINE_HINT = (
    'no internet? point the pipeline at a mirror with MIRROR=DIR (make), --mirror DIR, or SEQCONV_MIRROR '
    '(README "Without internet")'
)


# ---------------------------------------------------------------------------------------------------------------
# Where to fetch from
# ---------------------------------------------------------------------------------------------------------------
def is_url(mirror: str) -> bool:
    """Whether a mirror (or a resolved location) is a URL rather than a local folder."""
    return mirror.lower().startswith(URL_SCHEMES)


def resolve_url(source: Source, mirror: str | None) -> str:
    """The URL (or local path) to fetch `source` from.

    Args:
        source: the file to fetch.
        mirror: None for the canonical site, a base URL (http, https, file), or a local folder.

    Returns:
        The canonical URL, the mirror's base URL plus the file name, or the path of the file in the mirror folder.
    """
    if mirror is None or getattr(source, "own", False):  # a user's file is where its spec says
        return source.url
    if is_url(mirror):
        return (mirror if mirror.endswith("/") else mirror + "/") + source.name
    return str(Path(mirror) / source.name)


# ---------------------------------------------------------------------------------------------------------------
# Reading a small file whole, fetching a large one into a .part file
# ---------------------------------------------------------------------------------------------------------------
def read_text(name: str, where: str, timeout: float = 60.0) -> str | None:
    """The text of a small file (a mirror's SHA256SUMS) at a URL or local path; None where it does not exist.

    Raises:
        DownloadError: the file exists but could not be read (retryable for 5xx and dropped connections).
    """
    if not is_url(where):
        path = Path(where)
        return path.read_text(encoding="utf-8") if path.is_file() else None
    try:
        with _open_url(where, headers={}, timeout=timeout) as response:
            return response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise _http_error(name, where, error) from error
    except urllib.error.URLError as error:
        if isinstance(error.reason, FileNotFoundError):  # file:// mirror without the file
            return None
        raise _connection_error(name, where, error) from error
    except (OSError, http.client.HTTPException) as error:
        raise _connection_error(name, where, error) from error


def fetch_to_part(name: str, url: str, part: Path, timeout: float, canonical: bool = False) -> None:
    """Put the whole file at `url` (a URL, or a path in a mirror folder) into `part`; returns once it is complete.

    Args:
        name: the file's name, for messages.
        url: from `resolve_url`.
        part: the `.part` file; bytes already there are resumed from (URLs only).
        timeout: seconds to wait for the server before giving up on a request.
        canonical: whether `url` is the canonical site (an unreachable one says how to use a mirror).

    Raises:
        DownloadError: `.retryable` says whether trying again can help; a body cut short leaves `part` in place
            for the next attempt to resume.
    """
    if is_url(url):
        _download(name, url, part, timeout, canonical)
    else:
        _copy_from_folder(name, Path(url), part)


def _copy_from_folder(name: str, path: Path, part: Path) -> None:
    """Copy a file from a local mirror folder into the .part file."""
    if not path.is_file():
        raise DownloadError(f"{name}: not in the mirror folder: {path} does not exist")
    try:
        shutil.copyfile(path, part)
    except OSError as error:  # a full disk during the copy names no file
        raise with_path(error, part) from error


DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}


def _is_local_disk_error(error: BaseException) -> bool:
    """Whether an OSError while streaming to disk is the disk's (full, read-only, not ours), not the connection's."""
    return isinstance(error, OSError) and error.errno in DISK_ERRNOS


def _open_url(url: str, headers: dict[str, str], timeout: float) -> http.client.HTTPResponse:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **headers})
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - the schemes are checked by is_url


# ---------------------------------------------------------------------------------------------------------------
# Which failures are worth a retry
# ---------------------------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------------------------
# HTTP with resume
# ---------------------------------------------------------------------------------------------------------------
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
            if _is_local_disk_error(error):  # not the connection: the disk; no retry helps, the path says where
                raise with_path(error, part) from error
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
