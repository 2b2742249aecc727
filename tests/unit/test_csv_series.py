"""A user's time series in CSV files (format csv_series, tasks.ingest.series_csv): an hourly record timed by
year/month/day/hour columns, with NA readings, a text column and a gap, read as its spec says; and the one-line
errors a bad file or spec gets (file, line and column, or spec key)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasks.core.datasets import SpecError, read_spec, with_interval
from tasks.core.errors import DataFormatError
from tasks.ingest.series_csv import check_record, read_series_csv
from tasks.ingest.series_grid import combine_series

pytestmark = pytest.mark.unit

SPEC = """
name = "sensor"
kind = "series"
format = "csv_series"
description = "an hourly sensor"

[sources]
files = [{{ name = "sensor.csv" }}]

[record]
time_parts = {{ year = "Year", month = "Month", day = "Day", hour = "Hour" }}
interval = "1h"
target = "temp"
unit = "°C"
{record}
"""
HOURS = 24 * 10
GAP = range(100, 106)  # hours without a row
NA = (30, 31, 200)  # hours whose humidity is NA


def write_csv(path: Path, *, hours: int = HOURS, edit=None, encoding: str = "utf-8") -> Path:
    """An hourly sensor log: Year/Month/Day/Hour, temp, humidity ("NA" where none), site (text), note (text)."""
    rows = ["Year,Month,Day,Hour,temp,humidity,site,note"]
    start = pd.Timestamp("2024-01-01")
    for h in range(hours):
        if h in GAP:
            continue
        t = start + pd.Timedelta(hours=h)
        humidity = "NA" if h in NA else f"{50 + 10 * np.sin(h / 5):.2f}"
        rows.append(f"{t.year},{t.month},{t.day},{t.hour},{5 + 3 * np.sin(h / 24 * 2 * np.pi):.3f},{humidity},"
                    f"{'north' if h % 2 else 'south'},checked by Zoë")
    rows.insert(50, rows[49])  # an identical repeat
    if edit:
        rows = edit(rows)
    path.write_text("\n".join(rows) + "\n", encoding=encoding)
    return path


def spec_at(tmp_path: Path, record: str = 'drop = ["note"]\none_hot = { site = ["north", "south"] }'):
    path = tmp_path / "sensor.toml"
    path.write_text(SPEC.format(record=record), encoding="utf-8")
    spec = read_spec(path)
    check_record(spec.record, spec.path)
    return spec


def combined(tmp_path: Path, spec, csv: Path | None = None):
    csv = csv or write_csv(tmp_path / "sensor.csv")
    return combine_series([(csv.name, read_series_csv(csv, spec.record, spec.path))], spec)


def test_an_hourly_record_with_a_composite_time_nas_a_text_column_and_a_gap(tmp_path):
    table, report = combined(tmp_path, spec_at(tmp_path))
    assert list(table.columns) == ["timestamp", "temp", "humidity", "site=north", "site=south"]
    assert len(table) == HOURS - len(GAP) - len(NA)  # a missing reading leaves the grid: never a zero
    assert table["timestamp"].iloc[0] == pd.Timestamp("2024-01-01 00:00") and table["humidity"].notna().all()
    assert (table["site=north"] + table["site=south"] == 1).all()
    assert table.loc[table["timestamp"] == pd.Timestamp("2024-01-01 01:00"), "site=north"].item() == 1.0
    assert all(table[c].dtype == np.float32 for c in table.columns[1:])
    repairs = report["repairs"]
    assert repairs["repeated_timestamps_dropped"] == 1 and repairs["missing_readings"] == {"humidity": 3}
    assert repairs["rows_with_missing_readings_dropped"] == 3 and repairs["readings_interpolated"] == {}
    hole = next(g for g in report["gaps"] if g["after"] == "2024-01-05 03:00:00")  # hour 99, then 106
    assert (hole["before"], hole["missing_steps"]) == ("2024-01-05 10:00:00", 6)
    assert report["gap_count"] == 3  # that hole, and the rows of the NA hours 30-31 and 200


def test_interpolate_fills_missing_readings_from_their_neighbours(tmp_path):
    spec = spec_at(tmp_path, 'drop = ["note", "site"]\nfill = "interpolate"')
    table, report = combined(tmp_path, spec)
    assert len(table) == HOURS - len(GAP) and report["repairs"]["readings_interpolated"] == {"humidity": 3}
    at = table.set_index("timestamp")["humidity"]
    before, after = at[pd.Timestamp("2024-01-02 05:00")], at[pd.Timestamp("2024-01-02 08:00")]  # NA at 06, 07
    assert at[pd.Timestamp("2024-01-02 06:00")] == pytest.approx(before + (after - before) / 3, abs=1e-4)


def test_a_time_zone_stores_utc(tmp_path):
    spec = spec_at(tmp_path, 'drop = ["note", "site"]\ntime_zone = "Europe/Berlin"')
    table, _ = combined(tmp_path, spec)
    assert table["timestamp"].iloc[0] == pd.Timestamp("2023-12-31 23:00")  # midnight in Berlin, winter: UTC+1


def test_sentinels_and_column_markers_are_gaps_never_values(tmp_path):
    spec = spec_at(tmp_path, 'drop = ["note", "site"]\nmissing = [-9999]\nmissing_by_column = { temp = ["--"] }')
    csv = write_csv(tmp_path / "sensor.csv", edit=lambda rows: [
        rows[0], rows[1].replace(",5.000,50.00,", ",--,-9999,"), *rows[2:]])  # hour 0: temp "--", humidity -9999
    table, report = combined(tmp_path, spec, csv)
    assert report["repairs"]["missing_readings"] == {"temp": 1, "humidity": 4}
    assert table["timestamp"].iloc[0] == pd.Timestamp("2024-01-01 01:00")
    assert (table[["temp", "humidity"]] > -9000).all().all()


@pytest.mark.parametrize("record, edit, message", [
    ('drop = ["note"]', None,
     r"sensor.csv: line 2: column 'site' holds 'south', not a number; a text column must be dropped "
     r"\(record.drop\) or one-hot \(record.one_hot\)"),
    ('drop = ["note"]\none_hot = { site = ["north"] }', None,
     r"sensor.csv: line 2: column 'site' holds 'south', not one of its categories \['north'\]"),
    ('drop = ["note", "site"]\nfeatures = ["temp", "pressure"]', None, r"sensor.csv: no column 'pressure'"),
    ('drop = ["note", "site"]', lambda rows: rows[:7] + [rows[7].replace("2024,1,1,6,", "2024,13,1,6,")] + rows[8:],
     r"sensor.csv: line 8: Year/Month/Day/Hour hold '2024/13/1/6', not a time \(record.time_parts of "),
    ('drop = ["note", "site"]', lambda rows: rows + [rows[3].replace(rows[3].split(",")[4], "100.000", 1)],
     r"1 row\(s\) repeat a time with other readings .*record.duplicates = \"first\", \"last\" or \"mean\""),
])
def test_a_bad_file_is_one_error_naming_file_line_and_column(tmp_path, record, edit, message):
    spec = spec_at(tmp_path, record)
    csv = write_csv(tmp_path / "sensor.csv", edit=edit)
    with pytest.raises(DataFormatError, match=message):
        combined(tmp_path, spec, csv)


def test_a_repeated_time_is_resolved_by_the_rule_the_spec_picks(tmp_path):
    spec = spec_at(tmp_path, 'drop = ["note", "site"]\nduplicates = "mean"')
    csv = write_csv(tmp_path / "sensor.csv", edit=lambda rows: rows + [
        rows[3].replace(rows[3].split(",")[4], "100.000", 1)])
    table, report = combined(tmp_path, spec, csv)
    first = float(csv.read_text().splitlines()[3].split(",")[4])
    assert table["temp"].iloc[2] == pytest.approx((first + 100) / 2)
    assert report["repairs"]["repeated_timestamps"]["conflicting"] == 1


def test_bytes_that_are_not_the_spec_s_encoding_are_an_error_naming_line_and_byte(tmp_path):
    spec = spec_at(tmp_path)
    csv = write_csv(tmp_path / "sensor.csv", encoding="latin-1")  # "Zoë" as 0xEB
    with pytest.raises(DataFormatError, match=r"sensor.csv: line 2: byte 0xeb \(character 43\) is not utf-8 \(record.encoding of "):
        combined(tmp_path, spec, csv)


@pytest.mark.parametrize("record, message", [
    ('time = "when"', r"record.time, record.time_parts or record.time_columns: name the time column, .* not time and "
     r"time_parts"),
    ('fill = "zero"', r"record.fill='zero'; allowed: gap, interpolate"),
    ('ranges = { temp = [10] }', r"record.ranges.temp: expected \[low, high\]"),
    ('time_zone = "Mars/Olympus"', r"record.time_zone='Mars/Olympus' is not a time zone"),
    ('features = ["humidity"]', r"record.target 'temp' is not one of record.features"),
    ('colour = "blue"', r"unknown key record.colour"),
])
def test_a_bad_record_section_is_one_error_naming_the_spec_key(tmp_path, record, message):
    with pytest.raises(SpecError, match=message) as caught:
        spec_at(tmp_path, record)
    assert str(tmp_path / "sensor.toml") in str(caught.value)


def test_a_file_read_in_chunks_gives_the_same_table_and_names_lines_across_chunks(tmp_path, monkeypatch):
    import tasks.ingest.series_file as series_file

    spec = spec_at(tmp_path)
    whole, whole_report = combined(tmp_path, spec)
    monkeypatch.setattr(series_file, "CHUNK_ROWS", 7)  # the file's 236 rows in 34 chunks
    chunked, chunked_report = combined(tmp_path, spec)
    pd.testing.assert_frame_equal(whole, chunked)
    assert whole_report == chunked_report
    csv = write_csv(tmp_path / "sensor.csv", edit=lambda rows: rows[:99] + [rows[99].replace(",south,", ",west,").replace(",north,", ",west,")]
                    + rows[100:])
    with pytest.raises(DataFormatError, match=r"sensor.csv: line 100: column 'site' holds 'west', not one of"):
        combined(tmp_path, spec, csv)


def test_a_local_time_that_does_not_exist_is_named_by_its_line_in_a_later_chunk(tmp_path, monkeypatch):
    import tasks.ingest.series_file as series_file

    monkeypatch.setattr(series_file, "CHUNK_ROWS", 5)
    path = tmp_path / "sensor.toml"
    path.write_text(SPEC.replace('time_parts = {{ year = "Year", month = "Month", day = "Day", hour = "Hour" }}',
                                 'time = "when"').format(record='time_zone = "Europe/Berlin"\n'
                                                                'time_format = "%Y-%m-%d %H:%M"'), encoding="utf-8")
    spec = read_spec(path)
    check_record(spec.record, spec.path)
    hours = pd.date_range("2024-03-30 12:00", "2024-03-31 05:00", freq="h")
    lines = ["when,temp"] + [f"{t:%Y-%m-%d %H:%M},{i}.5" for i, t in enumerate(hours)]
    csv = tmp_path / "sensor.csv"
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"sensor.csv: line 16: '2024-03-31 02:00' does not exist in "
                                              r"Europe/Berlin \(a clock change\)"):
        combined(tmp_path, spec, csv)


def test_a_reading_on_a_declared_decimal_bound_passes_both_suites(tmp_path):
    """10.1 stored as a float32 is 10.1000004: a range that ends at 10.1 must still hold the reading 10.1, in the
    raw suite (on the file's rows) and in the normalized one (on the table about to be published)."""
    from tasks.ingest.series_csv import file_rows
    from tasks.ingest.series_suite import series_normalized_suite, series_raw_suite
    from tasks.ingest.suite_runner import run_suite, run_suite_on_float32

    spec = spec_at(tmp_path, 'drop = ["note", "site"]\nranges = { temp = [-10.1, 10.1] }')

    def on_the_bounds(rows):
        rows[1] = rows[1].replace(rows[1].split(",")[4], "10.1", 1)
        rows[2] = rows[2].replace(rows[2].split(",")[4], "-10.1", 1)
        return rows

    csv = write_csv(tmp_path / "sensor.csv", edit=on_the_bounds)
    rows, _ = file_rows(csv.name, read_series_csv(csv, spec.record, spec.path), spec.record, spec.path)
    assert rows["temp"].max() == np.float32(10.1) and rows["temp"].min() == np.float32(-10.1)
    raw = run_suite(rows.astype({"temp": "float64"}), series_raw_suite(spec, rows), csv.name)
    assert raw.success, raw.failed_hard
    table, _ = combined(tmp_path, spec, csv)
    features = [c for c in table.columns if c != "timestamp"]
    normalized = run_suite_on_float32(table, series_normalized_suite(spec, features, 1), "sensor.parquet",
                                      widen=spec.record.ranges)
    assert normalized.success, normalized.failed_hard

    beyond = write_csv(tmp_path / "beyond.csv", edit=lambda r: [r[0], r[1].replace(r[1].split(",")[4], "10.2", 1),
                                                                 *r[2:]])
    rows, _ = file_rows(beyond.name, read_series_csv(beyond, spec.record, spec.path), spec.record, spec.path)
    outside = run_suite(rows.astype({"temp": "float64"}), series_raw_suite(spec, rows), beyond.name)
    assert not outside.success and "record.ranges.temp" in str(outside.failed_hard)


EUROPEAN = """
name = "power"
kind = "series"
format = "csv_series"
description = "a household meter as public archives publish it"

[sources]
files = [{{ name = "power.csv" }}]

[record]
time_columns = ["Date", "Time"]
time_format = "%d/%m/%Y %H.%M.%S"
interval = "1h"
delimiter = ";"
decimal = ","
missing = [-200]
missing_text = ["", "?"]
target = "CO"
{record}
"""


def european_csv(path: Path, hours: int = 48) -> Path:
    """Date and clock time in two text columns, ';' between fields, decimal commas, -200 and '?' for no reading."""
    rows = ["Date;Time;CO;NOx"]
    start = pd.Timestamp("2004-03-10 18:00")
    for h in range(hours):
        t = start + pd.Timedelta(hours=h)
        co = "-200" if h == 5 else "?" if h == 9 else f"{2 + h / 10:.1f}".replace(".", ",")
        rows.append(f"{t:%d/%m/%Y};{t:%H.%M.%S};{co};{100 + h}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def european_spec(tmp_path: Path, record: str = ""):
    path = tmp_path / "power.toml"
    path.write_text(EUROPEAN.format(record=record), encoding="utf-8")
    spec = read_spec(path)
    check_record(spec.record, spec.path)
    return spec


def test_a_date_and_a_clock_column_and_decimal_commas_read_as_one_time_and_numbers(tmp_path):
    spec = european_spec(tmp_path)
    table, report = combined(tmp_path, spec, european_csv(tmp_path / "power.csv"))
    assert table["timestamp"].iloc[0] == pd.Timestamp("2004-03-10 18:00")
    assert table["timestamp"].iloc[-1] == pd.Timestamp("2004-03-12 17:00")
    assert table.set_index("timestamp").loc[pd.Timestamp("2004-03-10 19:00"), "CO"] == pytest.approx(2.1)
    assert report["repairs"]["missing_readings"] == {"CO": 2}  # -200 and "?": gaps, never numbers
    assert len(table) == 46


def test_a_time_split_over_two_columns_that_does_not_parse_names_its_line_and_both_cells(tmp_path):
    spec = european_spec(tmp_path)
    csv = european_csv(tmp_path / "power.csv")
    lines = csv.read_text().splitlines()
    lines[4] = lines[4].replace("21.00.00", "21:00:00")
    csv.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"power.csv: line 5: columns 'Date' \+ 'Time' hold "
                                              r"'10/03/2004 21:00:00', not a time as '%d/%m/%Y %H.%M.%S'"):
        combined(tmp_path, spec, csv)


@pytest.mark.parametrize("edit, message", [
    (lambda text: text.replace('time_columns = ["Date", "Time"]', 'time_columns = ["Date", "Time"]\ntime = "Date"'),
     r"power.toml: record.time, record.time_parts or record.time_columns: .* not time and time_columns"),
    (lambda text: text.replace('time_columns = ["Date", "Time"]', 'time_columns = ["Date"]'),
     r"power.toml: record.time_columns: two or more columns"),
    (lambda text: text.replace('decimal = ","', 'decimal = "\'"'), r"power.toml: record.decimal=\"'\"; allowed"),
    (lambda text: text.replace('delimiter = ";"', 'delimiter = ","'),
     r"power.toml: record.decimal and record.delimiter are both ','"),
])
def test_a_time_or_number_format_the_reader_cannot_follow_is_an_error_naming_the_key(tmp_path, edit, message):
    path = tmp_path / "power.toml"
    path.write_text(edit(EUROPEAN.format(record="")), encoding="utf-8")
    with pytest.raises(SpecError, match=message):
        check_record(read_spec(path).record, str(path))


def test_a_column_without_any_reading_is_named_not_a_gap_in_every_row(tmp_path):
    """A trailing delimiter on every line (as some public archives write) makes unnamed, empty columns."""
    csv = european_csv(tmp_path / "power.csv")
    csv.write_text("\n".join(line + ";;" for line in csv.read_text().splitlines()) + "\n")
    with pytest.raises(DataFormatError, match=r"power.csv: column 'Unnamed: 4' \(column 5\) holds no reading in any "
                                              r"of its 48 rows; drop it \(record.drop\)"):
        combined(tmp_path, european_spec(tmp_path), csv)
    table, _ = combined(tmp_path, european_spec(tmp_path, 'drop = ["Unnamed: 4", "Unnamed: 5"]'), csv)
    assert list(table.columns) == ["timestamp", "CO", "NOx"] and len(table) == 46


SETTINGS = '\n[settings]\nlookback = "2d"\nstep = "1h"\ndelay = "6h"\nmax_gap_minutes = "3h"\n'


def inferred_spec_at(tmp_path: Path, settings: str = SETTINGS):
    """The hourly sensor's spec with no record.interval: ingestion infers it from the times."""
    path = tmp_path / "sensor.toml"
    path.write_text(SPEC.replace('interval = "1h"\n', "").format(record='drop = ["note", "site"]' + settings),
                    encoding="utf-8")
    spec = read_spec(path)
    check_record(spec.record, spec.path)
    return spec


def test_an_interval_left_out_is_inferred_and_gives_the_rows_and_windows_of_the_named_one(tmp_path):
    inferred = inferred_spec_at(tmp_path)
    assert inferred.awaits_interval
    with pytest.raises(SpecError, match=r"sensor.toml: record.interval is not named, so it is inferred from the data "
                                        r"when sensor is ingested, and no version of sensor is published"):
        inferred.run_defaults()  # its windows in rows are not known before its data is read
    table, report = combined(tmp_path, inferred)
    (tmp_path / "named").mkdir()
    (tmp_path / "named" / "sensor.toml").write_text(
        Path(inferred.path).read_text(encoding="utf-8").replace("[record]\n", '[record]\ninterval = "1h"\n'))
    named = read_spec(tmp_path / "named" / "sensor.toml")
    named_table, named_report = combined(tmp_path, named, tmp_path / "sensor.csv")
    pd.testing.assert_frame_equal(table, named_table)  # the six-hour hole and the NA rows are gaps either way
    assert (report["interval"], report["interval_inferred"]) == ("1h", True)
    assert named_report == {**report, "interval_inferred": False}
    on_it = with_interval(inferred, report["interval"], "sensor.csv")
    assert on_it.run_defaults() == named.run_defaults() == {"lookback": 48, "step": 1, "delay": 6,
                                                           "max_gap_minutes": 180}


def test_an_irregular_record_without_an_interval_is_refused_naming_its_file_and_a_row(tmp_path):
    spec = inferred_spec_at(tmp_path)
    times = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.cumsum([0] + [2, 3, 5] * 40), unit="h")  # no step
    # dominates: 2h is as common as 3h and 5h, and neither is a whole number of it

    def irregular(rows):
        return [rows[0]] + [f"{t.year},{t.month},{t.day},{t.hour},5.0,50.0,north,x" for t in times]

    csv = write_csv(tmp_path / "sensor.csv", edit=irregular)
    with pytest.raises(DataFormatError, match=r"^sensor.csv: line 4: irregular interval: 2024-01-01 05:00:00 comes "
                                              r"3h after the time before it, .*the most common are 2h \(33% of "
                                              r"them\) and 3h \(33% of them\)\): name record.interval in .*sensor"
                                              r".toml"):
        combined(tmp_path, spec, csv)


def test_a_duration_that_is_not_whole_rows_of_the_inferred_interval_is_refused_naming_the_key(tmp_path):
    spec = inferred_spec_at(tmp_path, SETTINGS.replace('step = "1h"', 'step = "90min"'))  # fits any grid of minutes
    with pytest.raises(SpecError, match=r"sensor.toml: settings.step: 90 minutes is not a whole number of 60-minute "
                                        r"rows: the interval 1h is inferred from sensor.csv \(record.interval is not "
                                        r"named in the spec\)"):
        combined(tmp_path, spec)


def test_two_files_in_chunks_and_blocks_publish_what_one_file_in_one_chunk_does(tmp_path, monkeypatch):
    """The paths that keep memory to about one copy of the rows (readings filled into arrays sized by a newline
    count, grown where it falls short; time computations in blocks; files joined column by column, sorted by a
    take per column) publish the table one file read in one chunk publishes."""
    import tasks.ingest.series_file as series_file
    import tasks.ingest.series_grid as series_grid
    from tasks.ingest.series_grid import series_arrow

    spec = spec_at(tmp_path)
    whole, whole_report = combined(tmp_path, spec)
    monkeypatch.setattr(series_file, "CHUNK_ROWS", 7)
    monkeypatch.setattr(series_grid, "BLOCK_ROWS", 5)
    monkeypatch.setattr(series_file.SeriesFile, "rows_at_most", lambda self: 3)  # short: every column grows
    lines = (tmp_path / "sensor.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "a.csv").write_text("\n".join([lines[0], *lines[120:]]) + "\n", encoding="utf-8")  # the later rows
    (tmp_path / "b.csv").write_text("\n".join(lines[:120]) + "\n", encoding="utf-8")  # first: out of order
    table, report = combine_series([(n, read_series_csv(tmp_path / n, spec.record, spec.path))
                                    for n in ("b.csv", "a.csv")], spec)
    assert series_arrow(table).equals(series_arrow(whole), check_metadata=True)
    assert report["repairs"]["rows_out_of_order_sorted"] == 0  # each file is in order; the files are not
    assert {k: v for k, v in report.items() if k not in ("rows_read", "repairs")} \
        == {k: v for k, v in whole_report.items() if k not in ("rows_read", "repairs")}
    assert report["repairs"]["repeated_timestamps"] == whole_report["repairs"]["repeated_timestamps"]
    assert sum(report["rows_read"].values()) == sum(whole_report["rows_read"].values())


def test_a_suite_run_column_by_column_finds_what_a_run_on_the_whole_frame_finds(tmp_path):
    """Hard (a reading beyond its range) and soft (missing readings, a repeated time) findings, the same and in
    the same order; the frame is given up, column by column."""
    from tasks.ingest.series_csv import file_rows
    from tasks.ingest.series_suite import series_raw_suite
    from tasks.ingest.suite_runner import run_suite, run_suite_column_by_column

    spec = spec_at(tmp_path, 'drop = ["note", "site"]\nranges = { temp = [-1, 7] }')
    csv = write_csv(tmp_path / "sensor.csv")
    rows, _ = file_rows(csv.name, read_series_csv(csv, spec.record, spec.path), spec.record, spec.path)
    whole = run_suite(rows.astype({"temp": "float64"}), series_raw_suite(spec, rows), csv.name)
    given = rows.copy()
    by_column = run_suite_column_by_column(given, series_raw_suite(spec, rows), csv.name, widen=spec.record.ranges,
                                           last="timestamp")
    assert whole.failed_hard and len(whole.failed_soft) == 2
    assert by_column.to_dict() == whole.to_dict()
    assert given.columns.empty


def test_a_published_file_is_read_column_by_column_as_pyarrow_reads_it(tmp_path):
    import pyarrow.parquet as pq

    from tasks.ingest.series_grid import read_published, series_arrow

    table, _ = combined(tmp_path, spec_at(tmp_path))
    path = tmp_path / "sensor.parquet"
    pq.write_table(series_arrow(table), path, row_group_size=50)  # several row groups
    assert pq.ParquetFile(path).metadata.num_row_groups > 1
    pd.testing.assert_frame_equal(read_published(path), pq.read_table(path).to_pandas())
