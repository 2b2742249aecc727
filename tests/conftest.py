"""Shared fixtures: the real-data mirror, a fixture mirror in the real formats, one Prefect test server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(os.environ.get("SEQCONV_SHARED_DATASETS", ROOT.parent / "shared" / "datasets"))
KINDS = ("unit", "data", "model", "e2e")


def pytest_collection_modifyitems(config, items):
    """Mark each test by the folder it lives in, so `-m unit` etc. select a kind."""
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
        if parts and parts[0] in KINDS:
            item.add_marker(getattr(pytest.mark, parts[0]))


@pytest.fixture
def csv_field_limit():
    """The csv module's field limit at its default (128 KiB) for one test, as in a fresh process: the limit is
    process-wide, and the readers that raise it would otherwise hide a reader that does not."""
    import csv

    before = csv.field_size_limit(131_072)
    yield
    csv.field_size_limit(before)


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The read-only real-data mirror beside the checkout; tests that need it skip where it is absent."""
    if not (SHARED_DATASETS / "SHA256SUMS").is_file():
        pytest.skip(f"real-data mirror not found at {SHARED_DATASETS} (set SEQCONV_SHARED_DATASETS to point at it)")
    return SHARED_DATASETS


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    """One temporary Prefect server and database for every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def fixture_mirror(tmp_path_factory) -> Path:
    """A local mirror in the real formats: IMDB npz + word index, the classic Jena zip, two station files, and
    SHA256SUMS. Read-only by convention: tests that need a bad file build their own mirror."""
    from tests.support import fixtures

    folder = tmp_path_factory.mktemp("mirror")
    fixtures.write_imdb(folder)
    fixtures.write_jena_classic(folder)
    fixtures.write_station_pair(folder)
    fixtures.write_checksums(folder)
    return folder


@pytest.fixture(scope="session")
def ingested_data(prefect_harness, fixture_mirror, tmp_path_factory) -> Path:
    """A data dir with both fixture datasets ingested and published (the station pair for Jena). Read-only by
    convention: copy it (shutil.copytree(symlinks=True)) before changing anything."""
    from flows.ingest import ingest_imdb_flow, ingest_jena_flow

    data_dir = tmp_path_factory.mktemp("data")
    artifacts = tmp_path_factory.mktemp("artifacts")  # no registry: not the checkout's ./artifacts, whatever it holds
    ingest_imdb_flow(mirror=str(fixture_mirror), data_dir=str(data_dir), artifacts_dir=str(artifacts))
    ingest_jena_flow(mirror=str(fixture_mirror), data_dir=str(data_dir),
                     files=["mpi_roof_2024a.csv", "mpi_roof_2024b.csv"], artifacts_dir=str(artifacts))
    return data_dir
