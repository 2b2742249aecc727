"""The provenance of a published Parquet file: JSON in its schema metadata (key `seqconv`) with the sha256 of the
source files it was made from, its row count, the repairs made, the grid gaps and (series) the interval its rows
are on. Ingestion writes it (tasks.ingest.provenance); every stage reads it here, the spec lookup included (a
record's interval inferred from its data is known from its published version: tasks.core.datasets)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tasks.core.errors import DataFormatError

METADATA_KEY = b"seqconv"  # Parquet schema metadata key holding our provenance JSON


def read_provenance(path: Path) -> dict[str, Any]:
    """The provenance JSON of a Parquet file written by tasks.ingest.provenance.write_parquet."""
    import pyarrow.parquet as pq

    metadata = pq.read_schema(path).metadata or {}
    if METADATA_KEY not in metadata:
        raise DataFormatError(f"{path}: no seqconv provenance in the Parquet metadata; ingest it again")
    return json.loads(metadata[METADATA_KEY])
