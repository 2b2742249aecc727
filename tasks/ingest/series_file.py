"""One CSV of a user's time series, read a chunk of rows at a time as text (tasks.ingest.series_csv turns each chunk
into numbers before the next is read); errors that are the file's own (bytes not its encoding, not a CSV) name the
file and line."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.core.errors import DataFormatError

CHUNK_ROWS = 25_000  # rows of text held at once while a file is read: its cells never all live as strings


@dataclass(frozen=True)
class SeriesFile:
    """One CSV of a user's record, read by `file_rows` chunk by chunk (so a file's cells are never all held as
    text at once), every time it is asked for: reading twice costs seconds, keeping the rows costs memory."""

    path: Path
    encoding: str
    delimiter: str
    spec_path: str

    def header(self) -> list[str]:
        """The file's column names, stripped."""
        return [str(c).strip() for c in self._read(nrows=0).columns]

    def rows_at_most(self) -> int:
        """An upper bound on the file's data rows: its newline bytes (a newline is written with a 0x0a byte in the
        encodings CSVs come in; blank lines, quoted newlines and UTF-16's other 0x0a bytes only raise the bound)."""
        count = 0
        with open(self.path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                count += block.count(b"\n")
        return count

    def chunks(self, columns: set[str]) -> Iterator[pd.DataFrame]:
        """The file's rows, CHUNK_ROWS at a time: `columns`, every cell as text (stripped). Every column is read
        (not `usecols`): pandas would not decode the others, and a byte that is not the encoding is an error."""
        reader = self._read(chunksize=CHUNK_ROWS)
        with reader:
            while True:
                try:
                    chunk = next(reader)
                except StopIteration:
                    return
                except Exception as error:  # noqa: BLE001 - decoding and parsing errors, as _read words them
                    raise self._error(error) from None
                yield pd.DataFrame({name: chunk[column].str.strip() for column in chunk.columns
                                    if (name := str(column).strip()) in columns})

    def _read(self, **how: Any):
        try:
            return pd.read_csv(self.path, encoding=self.encoding, sep=self.delimiter, dtype="string",
                               keep_default_na=False, skipinitialspace=True, **how)
        except Exception as error:  # noqa: BLE001 - worded by _error, or raised as it is
            raise self._error(error) from None

    def _error(self, error: Exception) -> Exception:
        if isinstance(error, UnicodeDecodeError):  # its offsets are within a chunk pandas decoded: find the line
            line, byte, column = undecodable(self.path, self.encoding)
            return DataFormatError(f"{self.path}: line {line}: byte 0x{byte:02x} (character {column}) is not "
                                   f"{self.encoding} (record.encoding of {self.spec_path})")
        if isinstance(error, (pd.errors.ParserError, pd.errors.EmptyDataError)):
            return DataFormatError(f"{self.path}: not a readable CSV ({error})")
        return error


def undecodable(path: Path, encoding: str) -> tuple[int, int, int]:
    """(line, byte, character position in the line, from 1) of the first byte of a file that is not `encoding`."""
    for number, line in enumerate(Path(path).read_bytes().split(b"\n"), 1):
        try:
            line.decode(encoding)
        except UnicodeDecodeError as error:
            return number, line[error.start], len(line[: error.start].decode(encoding, errors="replace")) + 1
    return 0, 0, 0
