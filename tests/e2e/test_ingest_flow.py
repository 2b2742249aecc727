"""The ingest flows run for real (Prefect test server, fixture mirror in the real formats): from a local folder and
over HTTP, every bad input the issue lists, reruns, and the command line.

A bad input must end in a clear error and leave the previously published dataset byte-identical: each bad-input
test copies one good data dir, runs the flow on a mirror holding the bad file, and compares the sha256 of every
file under data/processed and the links' targets before and after.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.ingest import ingest_imdb_flow, ingest_jena_flow
from tasks.core.atomic import VERSIONS
from tasks.core.errors import DataFormatError, ValidationFailed
from tasks.ingest import read_provenance
from tests.support import fixtures
from tests.support.http_mirror import HttpMirror

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
STATION_FILES = ["mpi_roof_2024a.csv", "mpi_roof_2024b.csv"]
CLASSIC_ZIP = "jena_climate_2009_2016.csv.zip"
MAX_PAR = "max. PAR (\u00b5mol/m\u00b2/s)"  # a station column normalization drops
FIXTURE_VOCAB = 12_000  # fixtures.write_imdb's default: the word index holds ranks 1..12,000
MARKER = Path(tempfile.gettempdir()) / f"seqconv-npz-ran-code-{os.getpid()}"  # what a malicious npz would write


def ingest_imdb(mirror: Path | str, data_dir: Path) -> Path:
    return ingest_imdb_flow(mirror=str(mirror), data_dir=str(data_dir), artifacts_dir=str(Path(data_dir) / "artifacts"))


def ingest_jena(mirror: Path | str, data_dir: Path, files: list[str] | None = None) -> Path:
    return ingest_jena_flow(mirror=str(mirror), data_dir=str(data_dir), files=files,
                            artifacts_dir=str(Path(data_dir) / "artifacts"))


def mirror_sums(mirror: Path) -> dict[str, str]:
    return dict(reversed(line.split("  ")) for line in (mirror / "SHA256SUMS").read_text().splitlines())


def snapshot(data_dir: Path) -> dict[str, str]:
    """sha256 of every file under data/processed and the target of every link there, by relative path."""
    processed = data_dir / "processed"
    state = {}
    for folder, dirs, files in os.walk(processed):  # does not follow the links: each version is hashed once
        for name in dirs + files:
            path = Path(folder) / name
            relative = str(path.relative_to(processed))
            if path.is_symlink():
                state[relative] = "-> " + os.readlink(path)
            elif path.is_file():
                state[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def raw_files(data_dir: Path) -> dict[str, str]:
    """sha256 of every file directly in data/raw (not the extractions, not the downloads waiting in incoming/)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (data_dir / "raw").iterdir() if p.is_file()}


def staging_left(data_dir: Path) -> list[str]:
    versions = data_dir / "processed" / VERSIONS
    return sorted(p.name for p in versions.iterdir() if p.name.startswith(".staging")) if versions.exists() else []


def validation(data_dir: Path, dataset: str, stage: str) -> dict:
    return json.loads((data_dir / "validation" / f"{dataset}.{stage}.json").read_text())


def soft_findings(document: dict) -> dict[tuple[str, str], int]:
    """{(batch, column): unexpected count} of the soft -9999 findings in a raw Jena report."""
    return {
        (batch["batch"], f["column"]): f["unexpected_count"]
        for batch in document["batches"]
        for f in batch["failed_soft"]
        if f["expectation"] == "expect_column_values_to_not_be_in_set"
    }


@pytest.fixture(scope="module")
def classic_data(prefect_harness, fixture_mirror: Path, tmp_path_factory) -> Path:
    """A data dir with the classic Jena zip ingested from the folder mirror."""
    data_dir = tmp_path_factory.mktemp("classic")
    ingest_jena(fixture_mirror, data_dir)
    return data_dir


# ---------------------------------------------------------------------------------------------------------------
# Good inputs
# ---------------------------------------------------------------------------------------------------------------
def test_imdb_from_a_folder_mirror_is_published_as_parquet(ingested_data: Path, fixture_mirror: Path) -> None:
    dataset = ingested_data / "processed" / "imdb"
    assert dataset.is_symlink() and os.readlink(dataset).startswith(f"{VERSIONS}/imdb-")
    assert sorted(p.name for p in dataset.iterdir()) == [
        "test.parquet", "train.parquet", "validation.normalized.json", "validation.raw.json", "word_index.json"]
    sums = mirror_sums(fixture_mirror)
    for split in ("train", "test"):
        table = pq.read_table(dataset / f"{split}.parquet")
        assert table.num_rows == 25_000
        assert table.schema.field("review").type == pa.list_(pa.int32())
        assert table.schema.field("label").type == pa.int8()
        provenance = read_provenance(dataset / f"{split}.parquet")
        assert provenance["rows"] == 25_000 and provenance["split"] == split
        assert {s["name"]: s["sha256"] for s in provenance["sources"]} == {
            "imdb.npz": sums["imdb.npz"], "imdb_word_index.json": sums["imdb_word_index.json"],
        }
    assert (dataset / "word_index.json").read_bytes() == (fixture_mirror / "imdb_word_index.json").read_bytes()
    for stage in ("raw", "normalized"):
        report = validation(ingested_data, "imdb", stage)
        assert report["success"] and [b["batch"] for b in report["batches"]] == ["train", "test"]
    assert staging_left(ingested_data) == []


def test_classic_jena_zip_from_a_folder_mirror_repairs_and_records(classic_data: Path, fixture_mirror: Path) -> None:
    parquet = classic_data / "processed" / "jena" / "jena.parquet"
    table = pq.read_table(parquet)
    assert table.num_rows == fixtures.CLASSIC_ROWS - 1  # one repeated timestamp dropped
    assert table.schema.names == ["timestamp", *fixtures.FEATURES]
    assert all(table.schema.field(c).type == pa.float32() for c in fixtures.FEATURES)
    provenance = read_provenance(parquet)
    assert provenance["sources"] == [{"name": CLASSIC_ZIP, "sha256": mirror_sums(fixture_mirror)[CLASSIC_ZIP],
                                      "rows": fixtures.CLASSIC_ROWS}]
    assert provenance["repairs"]["sentinels_interpolated"] == {"wv (m/s)": 1, "max. wv (m/s)": 1}
    assert provenance["repairs"]["repeated_timestamps"] == {"identical": 1, "conflicting": 0}
    assert provenance["gap_count"] == 1 and provenance["missing_steps"] == 36
    assert table.column("wv (m/s)").to_numpy().min() >= 0  # no -9999 left

    raw = validation(classic_data, "jena", "raw")
    assert raw["success"]
    assert soft_findings(raw) == {("jena_climate_2009_2016.csv", "wv (m/s)"): 1,
                                  ("jena_climate_2009_2016.csv", "max. wv (m/s)"): 1}
    normalized = validation(classic_data, "jena", "normalized")
    assert normalized["success"] and normalized["batches"][0]["failed_soft"] == []
    assert normalized["batches"][0]["evaluated"] == 5 + 3 * 14
    assert staging_left(classic_data) == []


def test_station_files_from_a_folder_mirror_and_over_http_give_the_same_table(
    ingested_data: Path, fixture_mirror: Path, tmp_path: Path
) -> None:
    with HttpMirror(fixture_mirror) as server:
        ingest_jena(server.base_url, tmp_path / "data", files=STATION_FILES)
        assert [server.count(name) for name in STATION_FILES] == [1, 1]

    over_folder = ingested_data / "processed" / "jena" / "jena.parquet"
    over_http = tmp_path / "data" / "processed" / "jena" / "jena.parquet"
    assert pq.read_table(over_http).equals(pq.read_table(over_folder))
    provenance = read_provenance(over_http)
    assert provenance == read_provenance(over_folder)
    sums = mirror_sums(fixture_mirror)
    assert [(s["name"], s["sha256"], s["rows"]) for s in provenance["sources"]] == [
        ("mpi_roof_2024a.csv", sums["mpi_roof_2024a.csv"], fixtures.STATION_ROWS + 1),  # one row written twice
        ("mpi_roof_2024b.csv", sums["mpi_roof_2024b.csv"], fixtures.STATION_ROWS),
    ]
    assert provenance["rows"] == 2 * fixtures.STATION_ROWS
    repairs = provenance["repairs"]
    assert repairs["repeated_timestamps"] == {"identical": 1, "conflicting": 0}
    assert repairs["sentinels_interpolated"] == {"wv (m/s)": 1}
    assert repairs["sentinels_in_dropped_columns"] == {f"mpi_roof_2024a.csv: {MAX_PAR}": 1,
                                                       f"mpi_roof_2024b.csv: {MAX_PAR}": 3}
    assert provenance["gap_count"] == 1 and 24 * 24 < provenance["gaps"][0]["hours"] < 25 * 24
    raw = validation(tmp_path / "data", "jena", "raw")
    assert soft_findings(raw) == {
        ("mpi_roof_2024a.csv", "wv (m/s)"): 1,
        ("mpi_roof_2024a.csv", MAX_PAR): 1,
        ("mpi_roof_2024b.csv", MAX_PAR): 3,
    }


def test_station_files_named_in_either_order_publish_the_same_bytes_and_version(
    prefect_harness, ingested_data: Path, fixture_mirror: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"

    ingest_jena(fixture_mirror, data_dir, files=STATION_FILES[::-1])  # ingested_data has them in name order

    backward, forward = data_dir / "processed" / "jena", ingested_data / "processed" / "jena"
    assert os.readlink(backward) == os.readlink(forward)  # the same version name
    assert (backward / "jena.parquet").read_bytes() == (forward / "jena.parquet").read_bytes()
    assert read_provenance(backward / "jena.parquet")["repairs"]["rows_out_of_order_sorted"] == 0


def test_over_http_then_a_rerun_reuses_the_verified_downloads(
    prefect_harness, ingested_data: Path, classic_data: Path, fixture_mirror: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    downloads = ["imdb.npz", "imdb_word_index.json", CLASSIC_ZIP]
    with HttpMirror(fixture_mirror) as server:
        ingest_imdb(server.base_url, data_dir)
        ingest_jena(server.base_url, data_dir)
        assert [server.count(name) for name in downloads] == [1, 1, 1]
        first = {name: os.readlink(data_dir / "processed" / name) for name in ("imdb", "jena")}

        ingest_imdb(server.base_url, data_dir)
        ingest_jena(server.base_url, data_dir)

        assert [server.count(name) for name in downloads] == [1, 1, 1]  # no new request for a checksummed file
        assert {r.name for r in server.requests} == {*downloads, "SHA256SUMS"}

    for name in ("imdb", "jena"):
        current = os.readlink(data_dir / "processed" / name)
        assert current == first[name]  # unchanged sources: the same content-addressed version, not a copy
        kept = sorted(p.name for p in (data_dir / "processed" / VERSIONS).glob(f"{name}-*"))
        assert kept == [Path(current).name]
    for split in ("train", "test"):
        http_table = pq.read_table(data_dir / "processed" / "imdb" / f"{split}.parquet")
        assert http_table.equals(pq.read_table(ingested_data / "processed" / "imdb" / f"{split}.parquet"))
    assert pq.read_table(data_dir / "processed" / "jena" / "jena.parquet").equals(
        pq.read_table(classic_data / "processed" / "jena" / "jena.parquet")
    )


def test_the_same_sources_in_two_data_dirs_are_published_in_each(
    prefect_harness, ingested_data: Path, fixture_mirror: Path, tmp_path: Path
) -> None:
    """Caching by content must not hand one data folder the dataset of another built from the same sources."""
    for data_dir in (tmp_path / "one", tmp_path / "two"):
        for dataset, ingest in (("imdb", ingest_imdb), ("jena", lambda m, d: ingest_jena(m, d, STATION_FILES))):
            published = Path(ingest(fixture_mirror, data_dir)).resolve()
            assert published.parent == (data_dir / "processed" / VERSIONS).resolve(), published
            assert (data_dir / "processed" / dataset).resolve() == published
            assert json.loads((published / "validation.raw.json").read_text())["success"]


# ---------------------------------------------------------------------------------------------------------------
# Bad inputs: each one a mirror folder holding one bad file (and a SHA256SUMS that matches it, so the download
# step passes and the stage that reads the file has to catch it)
# ---------------------------------------------------------------------------------------------------------------
def truncated_zip(mirror: Path, good: Path) -> None:
    data = (good / CLASSIC_ZIP).read_bytes()
    (mirror / CLASSIC_ZIP).write_bytes(data[: len(data) // 2])


def zip_entry_escaping(mirror: Path, good: Path) -> None:
    with zipfile.ZipFile(good / CLASSIC_ZIP) as archive:
        text = archive.read(fixtures.CLASSIC_NAME)
    with zipfile.ZipFile(mirror / CLASSIC_ZIP, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"../{fixtures.CLASSIC_NAME}", text)


def csv_without_a_column(mirror: Path, good: Path) -> None:
    fixtures.write_jena_classic(mirror, frame=fixtures.classic_frame(fixtures.CLASSIC_ROWS).drop(columns=["T (degC)"]))


def non_numeric_cell(mirror: Path, good: Path) -> None:
    for name in STATION_FILES:
        shutil.copyfile(good / name, mirror / name)
    lines = (mirror / "mpi_roof_2024b.csv").read_bytes().split(b"\r\n")
    cells = lines[41].split(b",")
    cells[5] = b"7x.5"  # rh (%) on line 42 of the file
    lines[41] = b",".join(cells)
    (mirror / "mpi_roof_2024b.csv").write_bytes(b"\r\n".join(lines))


def out_of_physical_range(mirror: Path, good: Path) -> None:
    """Caught only by the normalized suite, after the staging folder exists."""
    frame = fixtures.classic_frame(fixtures.CLASSIC_ROWS)
    frame.loc[1234, "T (degC)"] = 75.0
    fixtures.write_jena_classic(mirror, frame=frame)


def header_only_station_file(mirror: Path, good: Path) -> None:
    lines = (good / "mpi_roof_2024b.csv").read_bytes().split(b"\r\n")
    (mirror / "mpi_roof_2024b.csv").write_bytes(lines[0] + b"\r\n")


def header_only_beside_a_good_file(mirror: Path, good: Path) -> None:
    shutil.copyfile(good / "mpi_roof_2024a.csv", mirror / "mpi_roof_2024a.csv")
    header_only_station_file(mirror, good)


def too_few_rows(mirror: Path, good: Path) -> None:
    """Good files, but together too short for every split to hold a window of the default settings."""
    fixtures.write_station_pair(mirror, rows=1_000)


def overlapping_files_that_disagree(mirror: Path, good: Path) -> None:
    """2024b starts inside 2024a, with other readings for the 400 timestamps they share."""
    shutil.copyfile(good / "mpi_roof_2024a.csv", mirror / "mpi_roof_2024a.csv")
    start = pd.Timestamp("2024-01-01 00:10:00") + pd.Timedelta(minutes=10 * (fixtures.STATION_ROWS - 400))
    fixtures.write_station_file(mirror, "mpi_roof_2024b.csv", str(start), fixtures.STATION_ROWS, quoted_header=False,
                                padded=False, crlf=True, seed=2)


def truncated_npz(mirror: Path, good: Path) -> None:
    shutil.copyfile(good / "imdb_word_index.json", mirror / "imdb_word_index.json")
    data = (good / "imdb.npz").read_bytes()
    (mirror / "imdb.npz").write_bytes(data[: len(data) * 3 // 4])


class RunsCodeAndPassesAsAReview:
    """Unpickled by np.load(allow_pickle=True), it writes MARKER and becomes an ordinary review."""

    def __reduce__(self):
        return eval, (f"__import__('pathlib').Path({str(MARKER)!r}).write_text('ran') and [14, 22, 16]",)


def npz_running_code(mirror: Path, good: Path) -> None:
    fixtures.write_imdb(mirror, mutate=lambda arrays: arrays["x_train"].__setitem__(3, RunsCodeAndPassesAsAReview()))


def label_2(mirror: Path, good: Path) -> None:
    fixtures.write_imdb(mirror, mutate=lambda arrays: arrays["y_train"].__setitem__(7, 2))


def rank_beyond_the_index(mirror: Path, good: Path) -> None:
    def mutate(arrays: dict) -> None:
        arrays["x_test"][5] = [*arrays["x_test"][5], FIXTURE_VOCAB + 9]

    fixtures.write_imdb(mirror, mutate=mutate)


BAD_INPUTS: dict[str, tuple[Callable[[Path, Path], None], str, list[str] | None, type, list[str]]] = {
    # name: (write the bad mirror, dataset, Jena files, error, what the message must say)
    "truncated zip": (truncated_zip, "jena", None, DataFormatError,
                      [f"raw/{CLASSIC_ZIP}: the zip is truncated or corrupt"]),
    "zip entry with ../": (zip_entry_escaping, "jena", None, DataFormatError,
                           [f"raw/{CLASSIC_ZIP}: entry '../jena_climate_2009_2016.csv' would land outside"]),
    "csv without a column": (csv_without_a_column, "jena", None, ValidationFailed,
                             ["jena raw data failed validation",
                              "jena_climate_2009_2016.csv: expect_table_columns_to_match_set",
                              "'missing': ['T (degC)']"]),
    "non-numeric cell": (non_numeric_cell, "jena", STATION_FILES, DataFormatError,
                         ["raw/incoming/mpi_roof_2024b.csv: column 'rh (%)' has 1 non-numeric cell(s) "
                          "(line 42: '7x.5')"]),
    "out of physical range": (out_of_physical_range, "jena", None, ValidationFailed,
                              ["jena normalized data failed validation",
                               "jena.parquet: column 'T (degC)': expect_column_values_to_be_between "
                               f"(physical range): 1 of {fixtures.CLASSIC_ROWS - 1} rows; e.g. [75.0]"]),
    "header-only station file": (header_only_station_file, "jena", ["mpi_roof_2024b.csv"], DataFormatError,
                                 ["raw/incoming/mpi_roof_2024b.csv: a header and no data rows"]),
    "header-only station file beside a good one": (header_only_beside_a_good_file, "jena", STATION_FILES,
                                                   DataFormatError,
                                                   ["raw/incoming/mpi_roof_2024b.csv: a header and no data rows"]),
    "too few rows for the splits": (too_few_rows, "jena", STATION_FILES, ValidationFailed,
                                    ["jena normalized data failed validation",
                                     "jena.parquet: expect_table_row_count_to_be_between", "observed 2000"]),
    "overlapping files that disagree": (overlapping_files_that_disagree, "jena", STATION_FILES, DataFormatError,
                                        ["400 row(s) repeat a timestamp with other readings",
                                         "mpi_roof_2024a.csv line 3003 has ", "mpi_roof_2024b.csv line 2 has "]),
    "overlapping files that disagree, named the other way round": (
        overlapping_files_that_disagree, "jena", STATION_FILES[::-1], DataFormatError,
        ["400 row(s) repeat a timestamp with other readings",
         "mpi_roof_2024a.csv line 3003 has ", "mpi_roof_2024b.csv line 2 has "]),
    "npz whose pickle would run code": (npz_running_code, "imdb", None, DataFormatError,
                                        ["raw/incoming/imdb.npz: array 'x_train': the pickle names builtins.eval, "
                                         "which could "
                                         "run code; refusing to unpickle it"]),
    "truncated npz": (truncated_npz, "imdb", None, DataFormatError,
                      ["raw/incoming/imdb.npz: truncated or corrupt npz"]),
    "npz with label 2": (label_2, "imdb", None, ValidationFailed,
                         ["imdb raw data failed validation",
                          "train: column 'label': expect_column_values_to_be_in_set (labels are 0/1): "
                          "1 of 25000 rows; e.g. [2]"]),
    "npz with a rank beyond the index": (rank_beyond_the_index, "imdb", None, ValidationFailed,
                                         ["imdb raw data failed validation",
                                          "test: column 'max_rank': expect_column_values_to_be_between (every word "
                                          f"rank is in the word index): 1 of 25000 rows; e.g. [{FIXTURE_VOCAB + 9}]"]),
}


@pytest.fixture(scope="module")
def published_state(ingested_data: Path) -> dict[str, str]:
    state = snapshot(ingested_data)
    assert {"imdb", "jena"} <= set(state) and any(v.startswith("-> ") for v in state.values())
    return state


@pytest.mark.parametrize("bad", list(BAD_INPUTS))
def test_a_bad_input_fails_clearly_and_leaves_the_published_dataset_byte_identical(
    bad: str, ingested_data: Path, published_state: dict[str, str], fixture_mirror: Path, tmp_path: Path
) -> None:
    write_bad, dataset, files, error, says = BAD_INPUTS[bad]
    mirror = fixtures.write_bad_mirror(tmp_path / "mirror", write_bad, fixture_mirror)
    data_dir = tmp_path / "data"
    shutil.copytree(ingested_data, data_dir, symlinks=True)
    assert snapshot(data_dir) == published_state
    raw_before = raw_files(data_dir)
    MARKER.unlink(missing_ok=True)

    with pytest.raises(error) as caught, HttpMirror(mirror) as server:  # over real HTTP, as from the internet
        if dataset == "imdb":
            ingest_imdb(server.base_url, data_dir)
        else:
            ingest_jena(server.base_url, data_dir, files)

    message = str(caught.value)
    for text in says:
        assert text in message
    assert snapshot(data_dir) == published_state  # every file byte-identical, every link where it was
    assert staging_left(data_dir) == []
    assert not MARKER.exists()  # nothing in a data file ran
    # The bad download, checksum-valid per the mirror's SHA256SUMS, did not replace the good raw file it followed.
    raw_after = raw_files(data_dir)
    assert {name: raw_after.get(name) for name in raw_before} == raw_before
    extracted = data_dir / "raw" / "extracted"  # zips are extracted to extracted/<zip stem>/; nothing lands beside
    assert not (extracted / fixtures.CLASSIC_NAME).is_file() and not (data_dir / "raw" / fixtures.CLASSIC_NAME).exists()
    if error is ValidationFailed:  # the failing report is kept for the user, and the message says where
        stage = "normalized" if "normalized" in says[0] else "raw"
        report_path = data_dir / "validation" / f"{dataset}.{stage}.json"
        assert str(report_path) in message
        assert json.loads(report_path.read_text())["success"] is False


def test_a_good_new_download_replaces_the_raw_file_once_the_run_has_validated_it(
    ingested_data: Path, tmp_path: Path
) -> None:
    mirror = tmp_path / "mirror"
    fixtures.write_imdb(mirror, seed=1)  # other reviews: other bytes, as good as the first
    fixtures.write_checksums(mirror)
    data_dir = tmp_path / "data"
    shutil.copytree(ingested_data, data_dir, symlinks=True)

    ingest_imdb(mirror, data_dir)

    assert (data_dir / "raw" / "imdb.npz").read_bytes() == (mirror / "imdb.npz").read_bytes()
    assert not (data_dir / "raw" / "incoming" / "imdb.npz").exists()


# ---------------------------------------------------------------------------------------------------------------
# The command line, as a user runs it
# ---------------------------------------------------------------------------------------------------------------
def run_cli(*args: str) -> subprocess.CompletedProcess:
    from prefect.settings import PREFECT_API_URL

    # The session's test server instead of a temporary one per process (which costs ~20 s to start here).
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "flows.ingest", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_cli_prints_the_rows_and_exits_0(prefect_harness, fixture_mirror: Path, tmp_path: Path) -> None:
    done = run_cli("jena", "--mirror", str(fixture_mirror), "--data-dir", str(tmp_path / "data"),
                   "--files", *STATION_FILES)

    assert done.returncode == 0, done.stderr[-3000:]
    assert f"jena: {2 * fixtures.STATION_ROWS:,} rows, 2024-01-01 00:10:00 to" in done.stdout
    assert "repairs: 1 repeated timestamp(s) dropped" in done.stdout
    assert (tmp_path / "data" / "processed" / "jena" / "jena.parquet").is_file()


def test_cli_failure_exits_non_zero_with_the_message_on_stderr(
    prefect_harness, ingested_data: Path, published_state: dict[str, str], fixture_mirror: Path, tmp_path: Path
) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    truncated_zip(mirror, fixture_mirror)
    fixtures.write_checksums(mirror)
    data_dir = tmp_path / "data"
    shutil.copytree(ingested_data, data_dir, symlinks=True)

    done = run_cli("jena", "--mirror", str(mirror), "--data-dir", str(data_dir))

    assert done.returncode == 1
    assert f"error: {data_dir}/raw/{CLASSIC_ZIP}: the zip is truncated or corrupt" in done.stderr
    assert "jena:" not in done.stdout
    assert snapshot(data_dir) == published_state


def test_a_new_season_is_reported_as_drift_against_the_previous_version(prefect_harness, tmp_path: Path) -> None:
    """Winter, then the same station in summer: the second ingestion writes jena.drift.json against the version it
    replaces (no champion yet), with the temperature flagged; drift never stops the publication."""
    mirror, data_dir = tmp_path / "mirror", tmp_path / "data"
    rows = 7_000  # at least JENA_MIN_ROWS
    year = fixtures.synthetic_weather("2024-01-01 00:10:00", 26_000 + rows, seed=4)  # one yearly cycle from January
    fixtures.write_station_file(mirror, "mpi_roof_2024a.csv", "", 0, quoted_header=True, padded=True, crlf=False,
                                frame=year.iloc[:rows].reset_index(drop=True))
    fixtures.write_station_file(mirror, "mpi_roof_2024b.csv", "", 0, quoted_header=False, padded=False, crlf=True,
                                frame=year.iloc[26_000:].reset_index(drop=True))  # 29 June to 17 August
    fixtures.write_checksums(mirror)
    artifacts = tmp_path / "artifacts"

    ingest_jena_flow(mirror=str(mirror), data_dir=str(data_dir), files=["mpi_roof_2024a.csv"],
                     artifacts_dir=str(artifacts))
    first = json.loads((data_dir / "validation" / "jena.drift.json").read_text())
    assert first["reference"] == {"kind": "none"} and first["new"]["months"] == ["2024-01", "2024-02"]
    winter = (data_dir / "processed" / "jena").resolve().name

    published = ingest_jena_flow(mirror=str(mirror), data_dir=str(data_dir), files=["mpi_roof_2024b.csv"],
                                 artifacts_dir=str(artifacts))
    report = json.loads((data_dir / "validation" / "jena.drift.json").read_text())
    assert report["reference"]["kind"] == "previous_version" and report["reference"]["version"] == winter
    assert report["reference"]["months"] == ["2024-01", "2024-02"]
    assert report["new"]["version"] == Path(published).resolve().name
    assert report["new"]["months"] == ["2024-06", "2024-07", "2024-08"]
    assert "T (degC)" in report["flagged"]
    assert report["features"][0]["kl"] > report["thresholds"]["kl"]
    assert not {"wv (m/s)", "wd (deg)"} & set(report["flagged"])  # the wind keeps no season in the fixture
