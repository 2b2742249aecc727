"""Ingesting the real files of the read-only mirror in ../shared/datasets through the flows, and what the suites
and the Parquet metadata must then say about them (facts from the mirror's README)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.ingest import ingest_imdb_flow, ingest_jena_flow
from tasks.core.sources import JENA_FEATURES
from tasks.ingest.imdb_reviews import read_imdb_flat
from tasks.ingest.provenance import read_provenance

pytestmark = pytest.mark.data

STATION_FILES = ["mpi_roof_2024a.csv", "mpi_roof_2024b.csv"]
MAX_PAR = "max. PAR (\u00b5mol/m\u00b2/s)"


def mirror_sums(mirror: Path) -> dict[str, str]:
    return dict(reversed(line.split("  ")) for line in (mirror / "SHA256SUMS").read_text().splitlines())


@pytest.fixture(scope="module")
def real_data(prefect_harness, shared_datasets: Path, tmp_path_factory) -> Path:
    """A data dir with IMDB and the two 2024 station files ingested from the real mirror."""
    data_dir = tmp_path_factory.mktemp("real-data")
    ingest_imdb_flow(mirror=str(shared_datasets), data_dir=str(data_dir), artifacts_dir=str(data_dir / "artifacts"))
    ingest_jena_flow(mirror=str(shared_datasets), data_dir=str(data_dir), files=STATION_FILES,
                     artifacts_dir=str(data_dir / "artifacts"))
    return data_dir


def validation(data_dir: Path, dataset: str, stage: str) -> dict:
    return json.loads((data_dir / "validation" / f"{dataset}.{stage}.json").read_text())


def test_imdb_gives_25000_plus_25000_reviews_with_their_provenance(real_data: Path, shared_datasets: Path) -> None:
    dataset = real_data / "processed" / "imdb"
    sums = mirror_sums(shared_datasets)
    assert sums["imdb.npz"] == hashlib.sha256((shared_datasets / "imdb.npz").read_bytes()).hexdigest()
    mean_lengths = {"train": 238.71, "test": 230.80}  # the mirror's README, as Keras loads them: + 1 start token
    for split in ("train", "test"):
        schema = pq.read_schema(dataset / f"{split}.parquet")
        assert schema.field("review").type == pa.list_(pa.int32()) and schema.field("label").type == pa.int8()
        flat, lengths, labels = read_imdb_flat(dataset, split)
        assert len(lengths) == 25_000 and np.bincount(labels).tolist() == [12_500, 12_500]
        assert round(float(lengths.mean()) + 1, 2) == mean_lengths[split]
        assert 1 <= flat.min() and flat.max() <= 88_584  # raw ranks, no Keras offsets
        provenance = read_provenance(dataset / f"{split}.parquet")
        assert provenance["rows"] == 25_000
        assert {s["name"]: s["sha256"] for s in provenance["sources"]} == {
            "imdb.npz": sums["imdb.npz"], "imdb_word_index.json": sums["imdb_word_index.json"],
        }
    assert (dataset / "word_index.json").read_bytes() == (shared_datasets / "imdb_word_index.json").read_bytes()
    for stage in ("raw", "normalized"):
        report = validation(real_data, "imdb", stage)
        assert report["success"]
        assert all(b["failed_hard"] == [] and b["failed_soft"] == [] for b in report["batches"])


def test_jena_station_files_give_38668_rows_with_repairs_and_the_gap_recorded(
    real_data: Path, shared_datasets: Path
) -> None:
    parquet = real_data / "processed" / "jena" / "jena.parquet"
    schema = pq.read_schema(parquet)
    assert schema.names == ["timestamp", *JENA_FEATURES]
    assert pa.types.is_timestamp(schema.field("timestamp").type)
    assert all(schema.field(c).type == pa.float32() for c in JENA_FEATURES)
    assert pq.read_metadata(parquet).num_rows == 38_668  # 19,537 + 19,132 less one repeated timestamp

    provenance = read_provenance(parquet)
    sums = mirror_sums(shared_datasets)
    assert provenance["sources"] == [
        {"name": "mpi_roof_2024a.csv", "sha256": sums["mpi_roof_2024a.csv"], "rows": 19_537},
        {"name": "mpi_roof_2024b.csv", "sha256": sums["mpi_roof_2024b.csv"], "rows": 19_132},
    ]
    assert provenance["rows"] == 38_668
    assert (provenance["first"], provenance["last"]) == ("2024-01-01 00:10:00", "2024-10-20 08:10:00")
    repairs = provenance["repairs"]
    assert repairs["repeated_timestamps"] == {"identical": 1, "conflicting": 0}
    assert repairs["repeated_timestamps_dropped"] == 1
    assert repairs["sentinels_interpolated"] == {}  # the 14 kept columns have none in 2024
    assert repairs["sentinels_in_dropped_columns"] == {
        f"mpi_roof_2024a.csv: {MAX_PAR}": 1, f"mpi_roof_2024b.csv: {MAX_PAR}": 18,
    }
    assert provenance["gap_count"] == 1
    gap = provenance["gaps"][0]
    assert (gap["after"], gap["before"]) == ("2024-05-15 16:00:00", "2024-06-09 11:40:00")
    assert gap["hours"] / 24 == pytest.approx(24.8, abs=0.05)
    assert provenance["off_grid_timestamps"] == 0


def test_jena_raw_suite_reports_the_sentinels_and_the_repeat_as_soft_and_the_normalized_suite_passes(
    real_data: Path,
) -> None:
    raw = validation(real_data, "jena", "raw")
    assert raw["success"] and [b["batch"] for b in raw["batches"]] == STATION_FILES
    assert all(b["failed_hard"] == [] for b in raw["batches"])
    soft = {
        (b["batch"], f["expectation"], f["column"]): f for b in raw["batches"] for f in b["failed_soft"]
    }
    assert set(soft) == {
        ("mpi_roof_2024a.csv", "expect_column_values_to_be_unique", "parsed timestamp"),
        ("mpi_roof_2024a.csv", "expect_column_values_to_not_be_in_set", MAX_PAR),
        ("mpi_roof_2024b.csv", "expect_column_values_to_not_be_in_set", MAX_PAR),
    }
    repeat = soft[("mpi_roof_2024a.csv", "expect_column_values_to_be_unique", "parsed timestamp")]
    assert repeat["unexpected_count"] == 2 and repeat["examples"] == ["2024-04-13 06:00:00"] * 2  # one row twice
    sentinels = [soft[(name, "expect_column_values_to_not_be_in_set", MAX_PAR)] for name in STATION_FILES]
    assert sum(f["unexpected_count"] for f in sentinels) == 19
    assert all(set(f["examples"]) == {-9999.0} for f in sentinels)

    normalized = validation(real_data, "jena", "normalized")
    assert normalized["success"]
    (batch,) = normalized["batches"]
    assert batch["rows"] == 38_668 and batch["evaluated"] == 5 + 3 * 14  # row count, 3 table checks, 3 per column
    assert batch["failed_hard"] == [] and batch["failed_soft"] == []
