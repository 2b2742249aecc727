"""Parquet with provenance: each published Parquet file carries, in its schema metadata (key `seqconv`), the
sha256 of the source files it was made from, its row count, the repairs made and (Jena) the grid gaps. Written
here; read by every stage through tasks.core.records.provenance.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tasks.core.errors import with_path
from tasks.core.records.provenance import METADATA_KEY, read_provenance

__all__ = ["METADATA_KEY", "read_provenance", "write_parquet"]


def write_parquet(table: pa.Table, path: Path, provenance: dict[str, Any]) -> Path:
    """Write `table` with `provenance` as JSON in the schema metadata (into a staging folder, never in place)."""
    metadata = dict(table.schema.metadata or {})
    metadata[METADATA_KEY] = json.dumps(provenance, default=str).encode("utf-8")
    try:
        pq.write_table(table.replace_schema_metadata(metadata), path, compression="zstd")
    except OSError as error:  # pyarrow's full disk names no file (and removes the half-written one)
        raise with_path(error, path) from error
    return Path(path)

