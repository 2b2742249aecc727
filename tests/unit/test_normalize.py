"""Reading the raw files and writing Parquet: plain functions on tiny inputs (never the network, no Prefect)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tasks.core.sources import JENA_FEATURES, JENA_SENTINEL, JENA_TIMESTAMP
from tasks.core.errors import ChecksumError, DataFormatError
from tasks.core.cache import file_sha256
from tasks.ingest.imdb_reviews import (
    flatten_reviews,
    imdb_table,
    load_imdb_npz,
    load_word_index,
    read_imdb_flat,
    read_imdb_split,
)
from tasks.ingest.jena_weather import grid_gaps, jena_arrow, normalize_jena, read_jena, read_jena_csv
from tasks.ingest.provenance import read_provenance, write_parquet
from tests.support import fixtures

pytestmark = pytest.mark.unit

PAR = "max. PAR (\u00b5mol/m\u00b2/s)"  # a station column that normalization drops


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def raw_jena(stamps: list[str], **columns: list[float]) -> pd.DataFrame:
    """A raw Jena frame as `read_jena_csv` returns it: `Date Time` as text, the 14 features as float64.

    Every feature is a plausible constant unless given in `columns` (keyword = feature name with spaces etc.
    replaced, see `_col`).
    """
    frame = pd.DataFrame({JENA_TIMESTAMP: pd.array(stamps, dtype="string")})
    for i, column in enumerate(JENA_FEATURES):
        frame[column] = np.full(len(stamps), 10.0 + i)
    frame["p (mbar)"] = 990.0
    frame["rho (g/m**3)"] = 1200.0
    frame["Tpot (K)"] = 283.0
    for key, values in columns.items():
        frame[_col(key)] = np.asarray(values, dtype="float64")
    return frame


def _col(key: str) -> str:
    """Keyword names for the columns tests change most."""
    return {"T": "T (degC)", "wv": "wv (m/s)", "max_wv": "max. wv (m/s)", "par": PAR}[key]


# ---------------------------------------------------------------------------------------------------------------
# Reading raw Jena CSVs
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "quoted_header, padded, crlf",
    [(True, True, False), (False, False, True)],  # the station original; a third party's re-save
    ids=["quoted-padded-LF", "unquoted-unpadded-CRLF"],
)
def test_read_jena_csv_reads_both_station_layouts(tmp_path: Path, quoted_header: bool, padded: bool,
                                                  crlf: bool) -> None:
    frame = fixtures.synthetic_weather("2024-01-01 00:10:00", rows=6, seed=3)
    path = fixtures.write_station_file(tmp_path, "mpi_roof_2024a.csv", "", 0, quoted_header=quoted_header,
                                       padded=padded, crlf=crlf, frame=frame)
    raw = path.read_bytes()
    assert raw.startswith(b'"Date Time","p (mbar)"' if quoted_header else b"Date Time,p (mbar)")
    assert (b"\r\n" in raw) == crlf
    assert (b",  " in raw) == padded  # space-padded values
    assert b"\xb2" in raw and b"\xb5" in raw  # latin-1 header bytes, invalid as UTF-8

    read = read_jena_csv(path)

    assert list(read.columns) == ["Date Time", *fixtures.FEATURES, *fixtures.STATION_EXTRAS]
    assert "SWDR (W/m\u00b2)" in read.columns and PAR in read.columns  # decoded, not mojibake
    assert list(read[JENA_TIMESTAMP]) == list(frame["Date Time"])
    for column in JENA_FEATURES:
        assert read[column].dtype == np.float64
    np.testing.assert_allclose(read[list(JENA_FEATURES)], frame[list(JENA_FEATURES)], atol=0.0051)


def test_read_jena_csv_reads_the_classic_layout(tmp_path: Path) -> None:
    text = (
        '"Date Time","p (mbar)","T (degC)","Tpot (K)","Tdew (degC)","rh (%)","VPmax (mbar)","VPact (mbar)",'
        '"VPdef (mbar)","sh (g/kg)","H2OC (mmol/mol)","rho (g/m**3)","wv (m/s)","max. wv (m/s)","wd (deg)"\n'
        "01.01.2009 00:10:00,996.52,-8.02,265.4,-8.9,93.3,3.33,3.11,0.22,1.94,3.12,1307.75,1.03,1.75,152.3\n"
        "01.01.2009 00:20:00,996.57,-8.41,265.01,-9.28,93.4,3.23,3.02,0.21,1.89,3.03,1309.8,-9999,0.5,136.1\n"
    )
    path = tmp_path / "jena_climate_2009_2016.csv"
    path.write_text(text, encoding="latin-1")

    read = read_jena_csv(path)

    assert list(read.columns) == [JENA_TIMESTAMP, *JENA_FEATURES]
    assert read["T (degC)"].tolist() == [-8.02, -8.41]
    assert read["wv (m/s)"].tolist() == [1.03, JENA_SENTINEL]  # sentinels are read as they are, repaired later


def test_read_jena_csv_names_file_line_and_column_of_a_non_numeric_cell(tmp_path: Path) -> None:
    frame = fixtures.synthetic_weather("2024-01-01 00:10:00", rows=5, seed=4)[["Date Time", *fixtures.FEATURES]]
    frame = frame.astype({"rh (%)": object})
    frame.loc[2, "rh (%)"] = "ERR"  # data row 3 = line 4 of the file (line 1 is the header)
    path = tmp_path / "mpi_roof_2024a.csv"
    header = ",".join(f'"{c}"' for c in frame.columns)
    lines = [",".join([frame.loc[i, "Date Time"], *(
        f"{v:8.2f}" if not isinstance(v, str) else f"{v:>8}" for v in frame.loc[i, list(fixtures.FEATURES)]
    )]) for i in frame.index]
    path.write_bytes(("\n".join([header, *lines]) + "\n").encode("latin-1"))

    with pytest.raises(DataFormatError) as caught:
        read_jena_csv(path)

    message = str(caught.value)
    assert str(path) in message
    assert "'rh (%)'" in message
    assert "line 4: 'ERR'" in message
    assert "1 non-numeric cell" in message


def test_read_jena_csv_leaves_a_missing_column_for_the_raw_suite(tmp_path: Path) -> None:
    frame = fixtures.synthetic_weather("2024-01-01 00:10:00", rows=4).drop(columns=["T (degC)"])
    path = fixtures.write_station_file(tmp_path, "mpi_roof_2024a.csv", "", 0, quoted_header=True, padded=True,
                                       crlf=False, frame=frame)

    read = read_jena_csv(path)

    assert "T (degC)" not in read.columns and len(read) == 4


def test_read_jena_csv_refuses_a_file_that_is_not_csv(tmp_path: Path) -> None:
    path = tmp_path / "mpi_roof_2024a.csv"
    path.write_bytes(b"")

    with pytest.raises(DataFormatError, match="mpi_roof_2024a.csv: not a readable CSV"):
        read_jena_csv(path)


# ---------------------------------------------------------------------------------------------------------------
# Normalizing Jena
# ---------------------------------------------------------------------------------------------------------------
def test_normalize_jena_sorts_drops_repeats_repairs_sentinels_and_records_gaps() -> None:
    a = raw_jena(
        ["01.01.2024 00:10:00", "01.01.2024 00:20:00", "01.01.2024 00:30:00", "01.01.2024 00:30:00",
         "01.01.2024 00:50:00", "01.01.2024 00:40:00"],
        T=[1.0, 2.0, 3.0, 3.0, 5.0, 4.0],
        wv=[1.0, JENA_SENTINEL, 3.0, 3.0, 5.0, 4.0],
    )
    b = raw_jena(
        ["01.01.2024 00:50:00", "01.01.2024 01:00:00", "01.01.2024 02:00:00"],
        T=[5.0, 6.0, 7.0],  # 00:50 repeats a's row with the same readings (a dropped column may differ)
        wv=[5.0, 6.0, 7.0],
        max_wv=[22.0, 9.0, JENA_SENTINEL],  # 22.0: raw_jena's constant, as in a; a sentinel in the last row
        par=[0.0, JENA_SENTINEL, 1.0],
    )
    before = (a.copy(), b.copy())

    table, report = normalize_jena([("a.csv", a), ("b.csv", b)])

    pd.testing.assert_frame_equal(a, before[0])  # inputs are not mutated
    pd.testing.assert_frame_equal(b, before[1])
    assert list(table.columns) == ["timestamp", *JENA_FEATURES]
    assert table["timestamp"].dtype == "datetime64[s]"
    assert all(table[c].dtype == np.float32 for c in JENA_FEATURES)
    assert table["timestamp"].dt.strftime("%H:%M").tolist() == ["00:10", "00:20", "00:30", "00:40", "00:50",
                                                                  "01:00", "02:00"]
    assert table["T (degC)"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert table["wv (m/s)"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]  # interpolated from neighbours
    assert table["max. wv (m/s)"].iloc[-1] == 9.0  # the last row takes its one neighbour's value

    repairs = report["repairs"]
    assert repairs["repeated_timestamps"] == {"identical": 2, "conflicting": 0}
    assert repairs["repeated_timestamps_dropped"] == 2
    assert repairs["rows_out_of_order_sorted"] == 1  # a's 00:40 row moved before its 00:50
    assert repairs["sentinels_interpolated"] == {"wv (m/s)": 1, "max. wv (m/s)": 1}
    assert repairs["sentinels_in_dropped_columns"] == {f"b.csv: {PAR}": 1}
    assert report["rows"] == 7
    assert (report["first"], report["last"]) == ("2024-01-01 00:10:00", "2024-01-01 02:00:00")
    assert report["gaps"] == [
        {"after": "2024-01-01 01:00:00", "before": "2024-01-01 02:00:00", "row": 6, "missing_steps": 5, "hours": 1.0}
    ]
    assert (report["gap_count"], report["missing_steps"], report["off_grid_timestamps"]) == (1, 5, 0)
    json.dumps(report)  # goes into the Parquet metadata as it is


def test_normalize_jena_names_file_and_line_of_an_unparseable_timestamp() -> None:
    good = raw_jena(["01.01.2024 00:10:00"])
    bad = raw_jena(["01.01.2024 00:10:00", "31.02.2024 00:20:00"])  # 31 February

    with pytest.raises(DataFormatError, match=r"b\.csv: line 3: Date Time '31\.02\.2024 00:20:00' is not"):
        normalize_jena([("a.csv", good), ("b.csv", bad)])


def test_normalize_jena_refuses_a_timestamp_repeated_with_other_readings_in_one_file() -> None:
    a = raw_jena(["01.01.2024 00:10:00", "01.01.2024 00:20:00", "01.01.2024 00:20:00", "01.01.2024 00:30:00"],
                 T=[1.0, 2.0, 2.5, 3.0])

    with pytest.raises(DataFormatError) as caught:
        normalize_jena([("a.csv", a)])

    message = str(caught.value)
    assert "1 row(s) repeat a timestamp with other readings" in message
    assert "2024-01-01 00:20:00: a.csv line 3 has T (degC) 2.0, a.csv line 4 has 2.5" in message


@pytest.mark.parametrize("order", ["ab", "ba"])
def test_normalize_jena_refuses_overlapping_files_that_disagree_in_either_order(order: str) -> None:
    stamps = [f"01.01.2024 0{h}:{m}0:00" for h in range(3) for m in range(6)][1:]  # 00:10 .. 02:50
    a = raw_jena(stamps[:10], T=[float(i) for i in range(10)])
    b = raw_jena(stamps[6:], T=[float(i) for i in range(6, 17)])
    b.loc[2, "T (degC)"] = 80.0  # b's 01:30 (a's row 8) disagrees with a
    b.loc[3, "rh (%)"] = 99.0  # and b's 01:40 in another column
    files = [("a.csv", a), ("b.csv", b)]

    with pytest.raises(DataFormatError) as caught:
        normalize_jena(files if order == "ab" else files[::-1])

    message = str(caught.value)
    assert "2 row(s) repeat a timestamp with other readings" in message
    assert "2024-01-01 01:30:00: a.csv line 10 has T (degC) 8.0, b.csv line 4 has 80.0" in message
    assert "2024-01-01 01:40:00: a.csv line 11 has rh (%) 14.0, b.csv line 5 has 99.0" in message


def test_normalize_jena_refuses_the_same_file_twice() -> None:
    a = raw_jena(["01.01.2024 00:10:00", "01.01.2024 00:20:00"])

    with pytest.raises(DataFormatError, match=r"a\.csv is given 2 times"):
        normalize_jena([("a.csv", a), ("a.csv", a.copy())])


def test_normalize_jena_refuses_a_file_without_rows() -> None:
    empty = raw_jena([])

    with pytest.raises(DataFormatError, match=r"b\.csv: no data rows"):
        normalize_jena([("a.csv", raw_jena(["01.01.2024 00:10:00"])), ("b.csv", empty)])


def test_normalize_jena_does_not_depend_on_the_order_files_are_named_in() -> None:
    """Sorting counts the rows it moves inside a file, not the order the files were listed in."""
    stamps = [f"01.01.2024 0{h}:{m}0:00" for h in range(3) for m in range(6)][1:]
    a = raw_jena(stamps[:8], T=[float(i) for i in range(8)])
    a = a.iloc[[2, 3, 0, 1, 4, 5, 6, 7]].reset_index(drop=True)  # two rows written after the two that follow them
    b = raw_jena(stamps[8:], T=[float(i) for i in range(8, 17)])

    forward = normalize_jena([("mpi_roof_2024a.csv", a), ("mpi_roof_2024b.csv", b)])
    backward = normalize_jena([("mpi_roof_2024b.csv", b), ("mpi_roof_2024a.csv", a)])

    pd.testing.assert_frame_equal(forward[0], backward[0])
    assert forward[1] == backward[1]
    assert forward[1]["repairs"]["rows_out_of_order_sorted"] == 2  # a's first two rows; none for b after a
    assert forward[0]["T (degC)"].tolist() == [float(i) for i in range(17)]


def test_normalize_jena_files_publishes_the_same_bytes_and_version_in_either_order(tmp_path: Path) -> None:
    from tasks.ingest.jena_station import normalize_jena_files

    a = fixtures.write_station_file(tmp_path / "raw", "mpi_roof_2024a.csv", "2024-01-01 00:10:00", 40,
                                    quoted_header=True, padded=True, crlf=False, seed=1, repeat_row=5)
    b = fixtures.write_station_file(tmp_path / "raw", "mpi_roof_2024b.csv", "2024-02-01 00:10:00", 30,
                                    quoted_header=False, padded=False, crlf=True, seed=2)
    sources = [{"name": p.name, "sha256": sha256(p), "csv": p} for p in (a, b)]
    raw_report = tmp_path / "validation.raw.json"
    raw_report.write_text("{}")

    forward = normalize_jena_files.fn("jena", sources, raw_report, tmp_path / "one")
    backward = normalize_jena_files.fn("jena", sources[::-1], raw_report, tmp_path / "two")

    assert forward.name == backward.name
    assert (forward / "jena.parquet").read_bytes() == (backward / "jena.parquet").read_bytes()
    assert [s["name"] for s in read_provenance(forward / "jena.parquet")["sources"]] == [a.name, b.name]


def test_normalize_jena_files_refuses_the_same_bytes_under_two_names(tmp_path: Path) -> None:
    from tasks.ingest.jena_station import normalize_jena_files

    a = fixtures.write_station_file(tmp_path / "raw", "mpi_roof_2024a.csv", "2024-01-01 00:10:00", 10,
                                    quoted_header=True, padded=True, crlf=False)
    copy = tmp_path / "raw" / "mpi_roof_2024a-copy.csv"
    copy.write_bytes(a.read_bytes())
    sources = [{"name": p.name, "sha256": sha256(p), "csv": p} for p in (a, copy)]

    with pytest.raises(DataFormatError, match=r"mpi_roof_2024a-copy\.csv and mpi_roof_2024a\.csv are the same file"):
        normalize_jena_files.fn("jena", sources, tmp_path / "unused.json", tmp_path / "processed")


def test_read_jena_csv_refuses_a_header_without_rows(tmp_path: Path) -> None:
    path = fixtures.write_station_file(tmp_path, "mpi_roof_2024b.csv", "2024-01-01 00:10:00", 1,
                                       quoted_header=False, padded=False, crlf=True)
    path.write_bytes(path.read_bytes().split(b"\r\n")[0] + b"\r\n")  # the header alone
    assert path.read_bytes().startswith(b"Date Time,p (mbar)") and path.read_bytes().count(b"\n") == 1

    with pytest.raises(DataFormatError, match=r"mpi_roof_2024b\.csv: a header and no data rows"):
        read_jena_csv(path)


def test_grid_gaps_counts_missing_steps_and_off_grid_stamps() -> None:
    stamps = pd.Series(pd.to_datetime(["2024-01-01 00:10", "2024-01-01 00:20", "2024-01-02 00:20",
                                       "2024-01-02 00:35"]))

    gaps = grid_gaps(stamps)

    assert gaps["gap_count"] == 2
    assert [g["missing_steps"] for g in gaps["gaps"]] == [143, 0]  # a day minus one step; 15 min is no full step
    assert [g["hours"] for g in gaps["gaps"]] == [24.0, 0.25]
    assert gaps["off_grid_timestamps"] == 1


def test_jena_arrow_schema_and_read_jena_round_trip(tmp_path: Path) -> None:
    table, report = normalize_jena([("a.csv", raw_jena(["01.01.2024 00:10:00", "01.01.2024 00:20:00"], T=[1, 2]))])
    path = write_parquet(jena_arrow(table), tmp_path / "jena.parquet", {"dataset": "jena", **report})

    schema = pq.read_schema(path)
    assert schema.names == ["timestamp", *JENA_FEATURES]
    # Written as timestamp[s]; Parquet has no seconds unit, so it reads back as timestamp[ms].
    assert pa.types.is_timestamp(schema.field("timestamp").type) and not schema.field("timestamp").nullable
    assert all(schema.field(c).type == pa.float32() for c in JENA_FEATURES)
    seconds, features = read_jena(path)
    assert seconds.tolist() == [1704067800, 1704068400]  # 2024-01-01 00:10 and 00:20 UTC, in seconds (not ms)
    assert seconds.dtype == np.int64
    assert features.shape == (2, 14) and features.dtype == np.float32
    assert features[:, JENA_FEATURES.index("T (degC)")].tolist() == [1.0, 2.0]
    assert read_provenance(path)["gap_count"] == 0


# ---------------------------------------------------------------------------------------------------------------
# IMDB
# ---------------------------------------------------------------------------------------------------------------
def object_array(reviews: list) -> np.ndarray:
    array = np.empty(len(reviews), dtype=object)
    array[:] = reviews
    return array


def test_imdb_reviews_round_trip_through_parquet(tmp_path: Path) -> None:
    reviews = object_array([[1, 14, 22], [], [88584], [5, 5, 5, 5]])  # an empty review and the highest rank
    labels = np.array([1, 0, 1, 0], dtype=np.int64)

    flat, lengths = flatten_reviews(reviews, "imdb.npz x_train")
    assert flat.tolist() == [1, 14, 22, 88584, 5, 5, 5, 5] and lengths.tolist() == [3, 0, 1, 4]
    provenance = {"dataset": "imdb", "split": "train", "rows": 4, "sources": [{"name": "imdb.npz", "sha256": "ab"}]}
    write_parquet(imdb_table(flat, lengths, labels, "imdb.npz x_train"), tmp_path / "train.parquet", provenance)

    schema = pq.read_schema(tmp_path / "train.parquet")
    assert schema.field("review").type == pa.list_(pa.int32())
    assert schema.field("label").type == pa.int8()
    back, back_labels = read_imdb_split(tmp_path, "train")
    assert [r.tolist() for r in back] == [list(r) for r in reviews]
    assert all(r.dtype == np.int32 for r in back)
    assert back_labels.tolist() == [1, 0, 1, 0]
    flat_back, lengths_back, _ = read_imdb_flat(tmp_path, "train")
    assert flat_back.tolist() == flat.tolist() and lengths_back.tolist() == lengths.tolist()
    assert read_provenance(tmp_path / "train.parquet") == provenance


def test_flatten_reviews_names_the_source_of_a_non_integer_rank() -> None:
    with pytest.raises(DataFormatError, match="imdb.npz x_test: a review holds something other than integer"):
        flatten_reviews(object_array([[1, 2], [3, "great"]]), "imdb.npz x_test")


@pytest.mark.parametrize("bad", [7, "a great film", None], ids=["int", "str", "None"])
def test_flatten_reviews_names_array_and_row_of_a_review_that_is_not_a_list(bad) -> None:
    with pytest.raises(DataFormatError) as caught:
        flatten_reviews(object_array([[1, 2], [3], bad]), "imdb.npz x_train")

    message = str(caught.value)
    assert message.startswith("imdb.npz x_train: 1 review(s) are not lists of word ranks (row 2: ")
    assert type(bad).__name__ in message


@pytest.mark.parametrize("bad", [1.5, "12", True], ids=["float", "numeric-str", "bool"])
def test_flatten_reviews_names_the_row_of_a_rank_that_is_not_an_int(bad) -> None:
    """numpy would turn these into ranks without a word (1.5 -> 1, "12" -> 12, True -> 1)."""
    with pytest.raises(DataFormatError) as caught:
        flatten_reviews(object_array([[1, 2], [3], [4, bad, 5]]), "imdb.npz x_test")

    assert str(caught.value).startswith(
        f"imdb.npz x_test: a review holds something other than integer word ranks (row 2: {type(bad).__name__} "
    )


def test_imdb_table_refuses_ranks_outside_int32() -> None:
    flat, lengths = flatten_reviews(object_array([[1, -4]]), "imdb.npz x_train")

    with pytest.raises(DataFormatError, match=r"imdb.npz x_train: word ranks outside 0..2\^31-1 \(min -4"):
        imdb_table(flat, lengths, np.array([1]), "imdb.npz x_train")


def test_read_provenance_names_a_parquet_without_it(tmp_path: Path) -> None:
    pq.write_table(pa.table({"a": [1]}), tmp_path / "plain.parquet")

    with pytest.raises(DataFormatError, match="plain.parquet: no seqconv provenance"):
        read_provenance(tmp_path / "plain.parquet")


UNPICKLED: list[str] = []  # what the tripwire below recorded when it was unpickled


def _record_unpickling(tag: str) -> str:
    UNPICKLED.append(tag)
    return tag


class Tripwire:
    """An object whose unpickling leaves a trace: proof of whether a file was unpickled at all."""

    def __reduce__(self):
        return _record_unpickling, ("unpickled",)


def write_small_imdb(folder: Path, x_train: list | None = None, **overrides: np.ndarray) -> Path:
    arrays = {
        "x_train": object_array(x_train if x_train is not None else [[1, 2], [3]]),
        "y_train": np.array([1, 0]),
        "x_test": object_array([[4], [5, 6]]),
        "y_test": np.array([0, 1]),
        **overrides,
    }
    path = folder / "imdb.npz"
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def test_load_imdb_npz_loads_the_verified_file(tmp_path: Path) -> None:
    path = write_small_imdb(tmp_path)

    arrays = load_imdb_npz(path, sha256(path))

    assert sorted(arrays) == ["x_test", "x_train", "y_test", "y_train"]
    assert [list(r) for r in arrays["x_train"]] == [[1, 2], [3]]
    assert arrays["y_test"].tolist() == [0, 1]


def test_load_imdb_npz_never_unpickles_a_file_whose_digest_changed(tmp_path: Path) -> None:
    path = write_small_imdb(tmp_path, x_train=[[1, 2], Tripwire()])
    verified = "0" * 64  # what the download step verified: no longer these bytes
    UNPICKLED.clear()

    with pytest.raises(ChecksumError) as caught:
        load_imdb_npz(path, verified)

    assert UNPICKLED == []  # refused before np.load
    message = str(caught.value)
    assert str(path) in message and sha256(path) in message and verified in message
    assert "refusing to unpickle" in message
    with pytest.raises(DataFormatError):  # with its own digest, the tripwire is refused by the unpickler
        load_imdb_npz(path, sha256(path))
    assert UNPICKLED == []


@pytest.mark.parametrize("keep", [0.5, 0.9, 40], ids=["half", "most", "40-bytes"])
def test_load_imdb_npz_reports_a_truncated_file(tmp_path: Path, keep: float) -> None:
    path = write_small_imdb(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep) if keep < 1 else int(keep)])

    with pytest.raises(DataFormatError, match=r"imdb\.npz: truncated or corrupt npz"):
        load_imdb_npz(path, sha256(path))


def test_load_imdb_npz_names_missing_arrays_and_length_mismatches(tmp_path: Path) -> None:
    path = tmp_path / "imdb.npz"
    np.savez(path, x_train=object_array([[1]]), y_train=np.array([1]))
    with pytest.raises(DataFormatError, match=r"missing array\(s\) \['x_test', 'y_test'\]"):
        load_imdb_npz(path, sha256(path))

    path = write_small_imdb(tmp_path, y_test=np.array([0, 1, 1]))
    with pytest.raises(DataFormatError, match="x_test has 2 reviews but y_test 3 labels"):
        load_imdb_npz(path, sha256(path))


def test_load_word_index_refuses_what_is_not_a_word_to_rank_object(tmp_path: Path) -> None:
    path = tmp_path / "imdb_word_index.json"
    path.write_text('{"the": 1, "and": 2}', encoding="utf-8")
    assert load_word_index(path) == {"the": 1, "and": 2}

    path.write_text('{"the": 1, "and": "2"}', encoding="utf-8")
    with pytest.raises(DataFormatError, match="imdb_word_index.json: expected a JSON object of word -> integer"):
        load_word_index(path)

    path.write_text('{"the": 1,', encoding="utf-8")
    with pytest.raises(DataFormatError, match="imdb_word_index.json: not a JSON word index"):
        load_word_index(path)


def test_file_sha256_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"x" * (3 << 20))  # several 1 MiB reads

    assert file_sha256(path) == sha256(path)


class RunsAShellCommand:
    """A real attack: unpickling it runs `touch <marker>` through os.system."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


class WritesAndPassesAsAReview:
    """A stealthier one: unpickling it writes the marker and returns a real review, so np.load shows nothing."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return eval, (f"__import__('pathlib').Path({self.marker!r}).write_text('ran') and [14, 22, 16]",)


@pytest.mark.parametrize("payload, refused",
                         [(RunsAShellCommand, ".system"), (WritesAndPassesAsAReview, "builtins.eval")],
                         ids=["os.system", "eval-returning-a-review"])
def test_load_imdb_npz_refuses_a_pickle_that_would_run_code(tmp_path: Path, payload, refused: str) -> None:
    marker = tmp_path / "pwned"
    path = write_small_imdb(tmp_path, x_train=[[1, 2], payload(marker)])

    with pytest.raises(DataFormatError) as caught:
        load_imdb_npz(path, sha256(path))

    assert not marker.exists()  # nothing ran
    message = str(caught.value)
    assert message.startswith(f"{path}: array 'x_train': the pickle names ")
    assert refused in message and "refusing to unpickle" in message

    # The control: the payload is real, np.load(allow_pickle=True) runs it.
    with np.load(path, allow_pickle=True) as npz:
        x_train = npz["x_train"]
    assert marker.exists()
    if payload is WritesAndPassesAsAReview:
        assert x_train[1] == [14, 22, 16]  # a review like any other


def test_load_imdb_npz_reads_object_arrays_as_np_load_does(tmp_path: Path) -> None:
    reviews = [[1, 14, 22], [], [88584, 2**40]]
    path = write_small_imdb(tmp_path, x_train=reviews, y_train=np.array([1, 0, 1], dtype=np.int64),
                            y_test=np.array([[0], [1]], dtype=">i2"))  # another dtype, byte order and shape

    arrays = load_imdb_npz(path, sha256(path))

    with np.load(path, allow_pickle=True) as npz:
        for key in ("x_train", "y_train", "x_test", "y_test"):
            expected = npz[key]
            assert arrays[key].dtype == expected.dtype and arrays[key].shape == expected.shape, key
            assert arrays[key].tolist() == expected.tolist(), key
