"""A local folder as a source (a user's texts: a folder per label of text files, optionally under train/ val/
test/ folders, or several tables or line files): copied into the raw folder as a snapshot, its content hashed as
a file's bytes are, so that a changed folder is ingested again and an unchanged one reuses the last build.

The folder is the user's, and untrusted: entries named with a leading "." are left out (the readers of
tasks.ingest.text_sources leave them out too); a symbolic link is followed only to a regular file inside the
folder; a link out of the folder, a link to a folder (a loop in the making), a broken link and anything that is not
a regular file (a device, a pipe, a socket) are refused, each error naming the entry. Files are visited in sorted
order, so the snapshot and its digest do not depend on the order the file system lists them in.

The digest of a folder is the sha256 of one line per file, in sorted order: "<relative path>\\0<the file's
sha256>\\n" (the path with "/" separators). Renaming, adding, removing or editing any file changes it.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path, PurePosixPath

from tasks.core.errors import DataFormatError, with_path

CHUNK_BYTES = 1024 * 1024  # copy and hash 1 MiB at a time


def folder_files(root: Path, name: str) -> list[tuple[PurePosixPath, Path]]:
    """Every file a folder source holds: (its path relative to the folder, the real file to read), sorted.

    Args:
        root: the folder (the spec's path; a link to a folder is fine: the user named it).
        name: how messages name it.

    Raises:
        DataFormatError: an entry is a link out of the folder, to a folder, or to nothing, or is not a regular
            file; the folder holds no file at all.
    """
    real_root = Path(root).resolve(strict=True)
    found: list[tuple[PurePosixPath, Path]] = []

    def refuse(error: OSError) -> None:
        raise DataFormatError(f"{name}: cannot list {error.filename}: {error.strerror}")

    for folder, dirs, files in os.walk(real_root, followlinks=False, onerror=refuse):
        here = Path(folder)
        for entry in sorted(d for d in dirs if (here / d).is_symlink() and not d.startswith(".")):
            raise DataFormatError(f"{name}/{(here / entry).relative_to(real_root).as_posix()}: a link to a folder; "
                                  "a folder source follows links to files only (copy the folder in instead)")
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for file in sorted(f for f in files if not f.startswith(".")):
            relative = PurePosixPath((here / file).relative_to(real_root).as_posix())
            found.append((relative, _real_file(here / file, real_root, f"{name}/{relative}")))
    if not found:
        raise DataFormatError(f"{name}: the folder holds no files (names starting with '.' are left out)")
    return sorted(found)


def _real_file(path: Path, real_root: Path, shown: str) -> Path:
    """The regular file `path` is (itself, or the target of a link inside the folder)."""
    real = path
    if path.is_symlink():
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):  # RuntimeError: a loop of links on Python < 3.13
            raise DataFormatError(f"{shown}: a broken link (it points to {os.readlink(path)!r})") from None
        if not real.is_relative_to(real_root):
            raise DataFormatError(f"{shown}: a link to {real}, outside the folder; a folder source reads only what "
                                  "it holds")
    mode = real.stat().st_mode
    if not stat.S_ISREG(mode):
        raise DataFormatError(f"{shown}: not a regular file ({_what(mode)}); a folder source reads files only")
    return real


def _what(mode: int) -> str:
    for test, what in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return "not a file"


def copy_folder(root: Path, name: str, target: Path) -> str:
    """Copy every file of a folder source into `target` (a new, empty folder) and return the folder's digest.

    Args:
        root: the folder to copy.
        name: how messages name it.
        target: where the copy goes, files at the same relative paths.

    Returns:
        The folder's sha256 (the module's docstring says of what), of the bytes copied.

    Raises:
        DataFormatError: as folder_files, or a file that is no longer a regular file when it is opened.
    """
    digest = hashlib.sha256()
    for relative, real in folder_files(root, name):
        destination = Path(target) / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        # O_NOFOLLOW and O_NONBLOCK: a file swapped for a link or a pipe since it was listed is refused, not
        # followed or waited on
        try:
            descriptor = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as error:
            raise DataFormatError(f"{name}/{relative}: cannot be read ({error.strerror})") from None
        with os.fdopen(descriptor, "rb") as source:
            if not stat.S_ISREG(os.fstat(source.fileno()).st_mode):
                raise DataFormatError(f"{name}/{relative}: no longer a regular file; a folder source reads files only")
            file_digest = hashlib.sha256()
            try:
                with destination.open("wb") as out:
                    while chunk := source.read(CHUNK_BYTES):
                        file_digest.update(chunk)
                        out.write(chunk)
            except OSError as error:  # a full disk while copying names no file
                raise with_path(error, destination) from error
        digest.update(f"{relative.as_posix()}\0{file_digest.hexdigest()}\n".encode())
    return digest.hexdigest()
