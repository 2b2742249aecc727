"""Unpacking fetched sources: a zip or a tar archive extracted safely (no absolute paths, escapes, links or devices;
an older extraction replaced only once the new one is whole), and the one CSV each Jena source holds.
"""

from __future__ import annotations

import lzma
import posixpath
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath, PureWindowsPath

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.core.atomic import replace_folder
from tasks.core.errors import DataFormatError
from tasks.ingest.download import FetchedFile

CHUNK_BYTES = 1024 * 1024  # copy 1 MiB at a time


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

    replace_folder(staging, target_dir)
    return [target_dir / relative for _, relative in members]


TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


def archive_kind(path: Path) -> str | None:
    """"zip", "tar" or None (not an archive this module extracts), by the file's name."""
    name = Path(path).name.lower()
    if name.endswith(".zip"):
        return "zip"
    return "tar" if name.endswith(TAR_SUFFIXES) else None


def archive_stem(path: Path) -> str:
    """The archive's name without its archive suffix (aclImdb_v1.tar.gz -> aclImdb_v1)."""
    name = Path(path).name
    for suffix in (".zip", *TAR_SUFFIXES):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def extract_archive(path: Path, target_dir: Path) -> list[Path]:
    """A zip or a tar archive (archive_kind) extracted safely into `target_dir`, as extract_zip does."""
    return extract_zip(path, target_dir) if archive_kind(path) == "zip" else extract_tar(path, target_dir)


def extract_tar(tar_path: Path, target_dir: Path) -> list[Path]:
    """Extract a tar archive (plain, gzip, bzip2 or xz) safely into `target_dir`, as extract_zip does.

    Only regular files are written (their bytes copied, never their owners, modes or times); a link, a device or a
    fifo entry is refused rather than skipped, as is an absolute path or one that escapes target_dir.

    Raises:
        DataFormatError: the archive is truncated or corrupt, or an entry is not a plain file or folder, is absolute,
            or escapes target_dir.
    """
    files = []
    try:
        with tarfile.open(tar_path, mode="r:*") as archive:
            staging = Path(
                tempfile.mkdtemp(prefix=f".{target_dir.name}.", suffix=".extracting", dir=_parent(target_dir))
            )
            try:
                for member in archive:  # streamed: a .tar.gz is read once, front to back
                    relative = _safe_relative(tar_path, member.name)
                    if member.isdir() or relative is None:
                        continue
                    if not member.isreg():
                        raise DataFormatError(f"{tar_path}: entry {member.name!r} is a link or a device, not a file; "
                                              "refusing to extract")
                    destination = staging / relative
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    source = archive.extractfile(member)
                    with source, destination.open("wb") as out:
                        shutil.copyfileobj(source, out, CHUNK_BYTES)
                    files.append(relative)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError) as error:
        if isinstance(error, OSError) and not isinstance(error, (EOFError, tarfile.TarError)) and error.errno:
            raise  # the disk, not the archive: the caller names the stage and path
        raise DataFormatError(
            f"{tar_path}: the tar archive is truncated or corrupt ({error}); delete it and download it again"
        ) from error
    replace_folder(staging, target_dir)
    return [target_dir / relative for relative in files]


def _parent(target_dir: Path) -> Path:
    parent = target_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    return parent


def _safe_members(zip_path: Path, archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Every file entry with its normalized relative path; refuses absolute paths, escapes and symlinks."""
    members = []
    for info in archive.infolist():
        if info.filename.replace("\\", "/").startswith("__MACOSX/") or info.is_dir():
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            raise DataFormatError(f"{zip_path}: entry {info.filename!r} is a symbolic link; refusing to extract")
        relative = _safe_relative(zip_path, info.filename)
        if relative is not None:
            members.append((info, relative))
    return members


def _safe_relative(archive_path: Path, entry: str) -> PurePosixPath | None:
    """An entry's path inside the target folder (None for the folder itself); refuses absolute paths and escapes."""
    name = entry.replace("\\", "/")  # a backslash is a separator to Windows tools that made the archive
    if name.startswith("/") or PureWindowsPath(entry).drive:
        raise DataFormatError(f"{archive_path}: entry {entry!r} is an absolute path; refusing to extract")
    normalized = posixpath.normpath(name)
    if normalized == ".." or normalized.startswith("../"):
        raise DataFormatError(
            f"{archive_path}: entry {entry!r} would land outside the target folder; refusing to extract"
        )
    return None if normalized == "." else PurePosixPath(normalized)


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
@task(task_run_name="unpack {dataset} sources", cache_policy=NO_CACHE)
def unpack_sources(dataset: str, fetched: list[FetchedFile], raw_dir: Path) -> list[dict]:
    """The CSV of each source: zips extracted safely under raw/extracted/, plain CSVs as they are."""
    return [unpacked_csv(f, Path(raw_dir)) for f in fetched]
