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
        if files.layout == "table":
            for file, shown in _files_under(path, name):
                _read_table(file, shown, files, texts)
        elif files.layout == "folders":
            _read_folders(path, name, files, texts)
        else:
            _read_lines(path, name, files, texts)
    return texts


def _files_under(path: Path, name: str) -> list[tuple[Path, str]]:
    """A file as itself; a folder's files (hidden ones left out), sorted, each named below `name`."""
    if path.is_file():
        return [(path, name)]
    found = sorted(p for p in path.rglob("*") if p.is_file() and not any(part.startswith(".")
                                                                          for part in p.relative_to(path).parts))
    return [(p, f"{name}/{p.relative_to(path).as_posix()}") for p in found]


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


def _split_folders(root: Path, name: str) -> list[tuple[Path, str, str | None]]:
    """(folder, name, split) to read labels from: the root's train/ val/ test/ when its folders are all splits,
    else the root itself with no split."""
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if folders and all(p.name in SPLITS for p in folders):
        return [(p, f"{name}/{p.name}", p.name) for p in folders]
    return [(root, name, None)]


def _read_folders(root: Path, name: str, files: TextFiles, texts: Texts) -> None:
    if not root.is_dir():
        raise DataFormatError(f"{name}: layout \"folders\" needs a folder (or a zip) holding a folder per label")
    for folder, shown, split in _split_folders(root, name):
        stray = sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
        if stray:
            raise DataFormatError(f"{shown}/{stray[0]}: a file beside the label folders; layout \"folders\" reads "
                                  "<label>/<file> (optionally under train/ val/ test/)")
        for label_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for file, file_name in _files_under(label_dir, f"{shown}/{label_dir.name}"):
                texts.add(_read_bytes(file, file_name, files, texts), label_dir.name, split, file_name)


def _read_lines(path: Path, name: str, files: TextFiles, texts: Texts) -> None:
    if path.is_file():
        entries = [(path, name, None)]
    else:
        entries = [(file, shown, split) for folder, folder_name, split in _split_folders(path, name)
                   for file, shown in _files_under(folder, folder_name)]
    for file, shown, split in entries:
        label = file.stem
        content = _read_bytes(file, shown, files, texts)
        for line_number, line in enumerate(content.splitlines(), start=1):
            if line.strip():
                texts.add(line, label, split, f"{shown}:{line_number}")
            else:
                texts.blank_lines += 1
