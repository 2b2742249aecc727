"""A user's labelled texts read from their files (format `text_files`): CSV, TSV or JSONL rows with a text and a
label column; a folder per label of text files; one file per label with one text a line. Several files, and zips
(extracted safely by tasks.ingest.unpack), in any of these layouts; the split from the data (a split column,
train/ val/ test/ folders) or none.

Files are untrusted: read as bytes, decoded with the spec's encoding, never run. Bytes that do not decode are a
DataFormatError naming the file, line and byte offset, or, where the spec says `undecodable = "replace"`, replaced
with U+FFFD and counted per file. The rows come back with where each came from (file:line) for later messages.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import threading
from fnmatch import fnmatchcase
from dataclasses import dataclass, field
from pathlib import Path

from tasks.core.text_spec import TextFiles
from tasks.core.errors import DataFormatError

LAYOUTS = ("table", "folders", "lines")
SPLITS = ("train", "val", "test")
TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".jsonl": None, ".ndjson": None}
_counted = threading.local()  # replacements made by the "seqconv.count" decode handler in this thread


def _count_and_replace(error: UnicodeDecodeError) -> tuple[str, int]:
    _counted.n = getattr(_counted, "n", 0) + 1
    return "\ufffd", error.end


codecs.register_error("seqconv.count", _count_and_replace)


@dataclass
class Texts:
    """Rows read from the files, in file order."""

    text: list[str] = field(default_factory=list)
    label: list[str] = field(default_factory=list)
    split: list[str | None] = field(default_factory=list)  # None where the data names no split
    where: list[str] = field(default_factory=list)  # "<file>:<line>" (or the file, for one text a file)
    replaced: dict[str, int] = field(default_factory=dict)  # file -> undecodable bytes replaced
    blank_lines: int = 0  # "lines" layout: blank lines between texts, not texts
    ignored: dict[str, int] = field(default_factory=dict)  # entry left out by text.files.ignore -> its files

    def add(self, text: str, label: str, split: str | None, where: str) -> None:
        self.text.append(text)
        self.label.append(label)
        self.split.append(split)
        self.where.append(where)


def decode(data: bytes, name: str, files: TextFiles) -> tuple[str, int]:
    """`data` as text in the spec's encoding, and how many undecodable bytes were replaced (0 unless allowed).

    Raises:
        DataFormatError: a byte does not decode and the spec does not allow replacing it: names the file, the line
            and the byte offset (in the file, from 0), and the bytes.
    """
    if files.undecodable == "replace":
        _counted.n = 0
        text = data.decode(files.encoding, errors="seqconv.count")
        return text, _counted.n
    try:
        return data.decode(files.encoding), 0
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        bad = data[error.start:error.end].hex(" ")
        raise DataFormatError(
            f"{name}: line {line}, byte {error.start}: bytes {bad} are not {files.encoding} ({error.reason}); "
            f"fix the file, name its encoding in the spec's text.files.encoding, or set text.files.undecodable = "
            f'"replace"') from None


def read_sources(paths: list[Path], files: TextFiles, names: list[str] | None = None) -> Texts:
    """Every text of `paths` (files, or folders such as an extracted zip) in the spec's layout.

    Args:
        paths: the sources, each a file or a folder.
        files: the spec's [text.files].
        names: how messages name each path (default: the path).
    Raises:
        DataFormatError: a file that cannot be read as the layout says (the file, line and column named).
    """
    texts = Texts()
    for path, name in zip(paths, names or [str(p) for p in paths]):
        path = Path(path)
        listing = Listing(path, name, files, texts)
        if files.layout == "table":
            for file, shown in listing.files_under(path, name):
                _read_table(file, shown, files, texts)
        elif files.layout == "folders":
            _read_folders(listing, path, name, files, texts)
        else:
            _read_lines(listing, path, name, files, texts)
    return texts


@dataclass(frozen=True)
class Listing:
    """What is read under one source folder: its entries in sorted order, hidden ones and those text.files.ignore
    names (by name or by path below the source, glob patterns) left out, the files of each of those counted."""

    root: Path
    name: str
    files: TextFiles
    texts: Texts

    def entries(self, folder: Path) -> list[Path]:
        kept = []
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith("."):
                continue
            relative = entry.relative_to(self.root).as_posix()
            if any(fnmatchcase(entry.name, p) or fnmatchcase(relative, p) for p in self.files.ignore):
                count = sum(1 for f in entry.rglob("*") if f.is_file()) if entry.is_dir() else 1
                self.texts.ignored[f"{self.name}/{relative}"] = count  # by path: a folder listed twice counts once
                continue
            kept.append(entry)
        return kept

    def files_under(self, path: Path, name: str) -> list[tuple[Path, str]]:
        """A file as itself; a folder's files, sorted, each named below `name`."""
        if path.is_file():
            return [(path, name)]
        found = []
        for entry in self.entries(path):
            shown = f"{name}/{entry.name}"
            found += self.files_under(entry, shown) if entry.is_dir() else [(entry, shown)]
        return found

    def split_folders(self, folder: Path, name: str) -> list[tuple[Path, str, str | None]]:
        """(folder, name, split) to read labels from: the folder's split folders (train/ val/ test/, or as
        text.files.split_folders names them) when its folders are all splits; the one folder wrapping the data
        (aclImdb/ in aclImdb_v1.tar.gz), descended into; else the folder itself with no split."""
        entries = self.entries(folder)
        folders = [p for p in entries if p.is_dir()]
        split_of = {folder_name: split for split, folder_name in (self.files.split_folders
                                                                  or {s: s for s in SPLITS}).items()}
        if folders and all(p.name in split_of for p in folders):
            return [(p, f"{name}/{p.name}", split_of[p.name]) for p in folders]
        if len(entries) == 1 and folders and any(p.is_dir() for p in self.entries(folders[0])):
            return self.split_folders(folders[0], f"{name}/{folders[0].name}")
        if self.files.split_folders:
            raise DataFormatError(f"{name}: holds {', '.join(p.name + ('/' if p.is_dir() else '') for p in entries)}"
                                  f"; expected the folders text.files.split_folders names "
                                  f"({', '.join(self.files.split_folders.values())}) and nothing else "
                                  "(text.files.ignore leaves the others out)")
        return [(folder, name, None)]


def _read_bytes(path: Path, name: str, files: TextFiles, texts: Texts) -> str:
    text, replaced = decode(path.read_bytes(), name, files)
    if replaced:
        texts.replaced[name] = texts.replaced.get(name, 0) + replaced
    return text.removeprefix("\ufeff")  # a byte order mark is not part of the first text


# ---------------------------------------------------------------------------------------------------------------
# Layouts
# ---------------------------------------------------------------------------------------------------------------
def _read_table(path: Path, name: str, files: TextFiles, texts: Texts) -> None:
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES and not files.delimiter:
        raise DataFormatError(f"{name}: a table must be .csv, .tsv, .jsonl or .ndjson, not "
                              f"{suffix or 'no extension'} (or name its text.files.delimiter)")
    content = _read_bytes(path, name, files, texts)
    wanted = [files.text_column, files.label_column] + ([files.split_column] if files.split_column else [])
    if suffix in TABLE_SUFFIXES and TABLE_SUFFIXES[suffix] is None:
        if files.columns:
            raise DataFormatError(f"{name}: JSON lines name their fields; text.files.columns is for a header-less "
                                  "CSV or TSV")
        for line_number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataFormatError(f"{name}: line {line_number}: not a JSON object ({error.msg})") from None
            if not isinstance(row, dict):
                raise DataFormatError(f"{name}: line {line_number}: a {type(row).__name__}, not a JSON object")
            _add_row(row, wanted, f"{name}:{line_number}", files, texts)
        return
    delimiter = files.delimiter or TABLE_SUFFIXES[suffix]
    # the csv module refuses a field over 128 KiB by default; a long document is a text, not a broken file
    csv.field_size_limit(max(csv.field_size_limit(), len(content) + 1))
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter, strict=True)
    try:
        header = list(files.columns) or next(reader, None)  # named by the spec: the first line is a row
        if header is None:
            raise DataFormatError(f"{name}: empty file; expected a header with {', '.join(wanted)}")
        missing = [c for c in wanted if c not in header]
        if missing:
            raise DataFormatError(f"{name}: line 1: no column {missing[0]!r} (text.files."
                                  f"{_key_of(missing[0], files)}); the header has {', '.join(header)}")
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise DataFormatError(f"{name}: line {reader.line_num}: {len(row)} fields; the "
                                      + (f"spec's text.files.columns name {len(header)}" if files.columns
                                         else f"header has {len(header)}"))
            _add_row(dict(zip(header, row)), wanted, f"{name}:{reader.line_num}", files, texts)
    except csv.Error as error:
        raise DataFormatError(f"{name}: line {reader.line_num}: not {delimiter!r}-separated values ({error})") from None


def _key_of(column: str, files: TextFiles) -> str:
    return {files.text_column: "text_column", files.label_column: "label_column",
            files.split_column: "split_column"}[column]


def _add_row(row: dict, wanted: list[str], where: str, files: TextFiles, texts: Texts) -> None:
    missing = [c for c in wanted if c not in row]
    if missing:
        raise DataFormatError(f"{where}: no {missing[0]!r} (text.files.{_key_of(missing[0], files)})")
    text, label = row[files.text_column], row[files.label_column]
    if not isinstance(text, str):
        raise DataFormatError(f"{where}: column {files.text_column!r} holds {type(text).__name__} {text!r:.40}, "
                              "not a text")
    if isinstance(label, bool) or not isinstance(label, (str, int)) or str(label).strip() == "":
        raise DataFormatError(f"{where}: column {files.label_column!r} holds {label!r:.40}; expected a label (a "
                              "string or an integer)")
    split = None
    if files.split_column:
        split = row[files.split_column]
        if split not in SPLITS:
            raise DataFormatError(f"{where}: column {files.split_column!r} holds {split!r:.40}; expected one of "
                                  f"{', '.join(SPLITS)}")
    texts.add(text, str(label), split, where)


def _read_folders(listing: Listing, root: Path, name: str, files: TextFiles, texts: Texts) -> None:
    if not root.is_dir():
        raise DataFormatError(f"{name}: layout \"folders\" needs a folder (or an archive) holding a folder per label")
    for folder, shown, split in listing.split_folders(root, name):
        entries = listing.entries(folder)
        stray = [p.name for p in entries if p.is_file()]
        if stray:
            raise DataFormatError(f"{shown}/{stray[0]}: a file beside the label folders; layout \"folders\" reads "
                                  "<label>/<file> (optionally under train/ val/ test/); text.files.ignore leaves "
                                  "files out")
        for label_dir in (p for p in entries if p.is_dir()):
            for file, file_name in listing.files_under(label_dir, f"{shown}/{label_dir.name}"):
                texts.add(_read_bytes(file, file_name, files, texts), label_dir.name, split, file_name)


def _read_lines(listing: Listing, path: Path, name: str, files: TextFiles, texts: Texts) -> None:
    if path.is_file():
        entries = [(path, name, None)]
    else:
        entries = [(file, shown, split) for folder, folder_name, split in listing.split_folders(path, name)
                   for file, shown in listing.files_under(folder, folder_name)]
    for file, shown, split in entries:
        label = file.stem
        content = _read_bytes(file, shown, files, texts)
        for line_number, line in enumerate(content.splitlines(), start=1):
            if line.strip():
                texts.add(line, label, split, f"{shown}:{line_number}")
            else:
                texts.blank_lines += 1
