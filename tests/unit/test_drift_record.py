"""The drift report record (tasks.core.records.drift): the same bytes as the dict it was made from, and a bad file
named with its field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.core import atomic
from tasks.core.errors import DataFormatError
from tasks.core.records.drift import DriftReport, drift_path

pytestmark = pytest.mark.unit

COMPUTED = {  # as tasks.ingest.drift.drift_report returns it (one feature, shortened)
    "dataset": "jena",
    "created": "2026-12-07T01:00:00+00:00",
    "reference": {"kind": "previous_version", "version": "jena-ab12", "sha256": "0" * 64, "rows": 10, "months": []},
    "new": {"version": "jena-cd34", "sha256": "1" * 64, "rows": 12, "months": ["2024-07"]},
    "thresholds": {"kl": 0.1},
    "features": [{"name": "T (degC)", "kl": None, "flagged": True, "reference": {"mean": 1.5}, "new": {"mean": 20.0}}],
    "flagged": ["T (degC)"],
}
FAILED = {  # as tasks.ingest.drift.report_for_version writes a report it could not compute
    "dataset": "imdb", "created": "2026-12-07T01:00:00+00:00", "reference": {"kind": "unknown"},
    "new": {"version": "imdb-ef56"}, "features": [], "flagged": [], "error": "ArrowInvalid: not parquet",
}


@pytest.mark.parametrize("data", [COMPUTED, FAILED], ids=["computed", "not computed"])
def test_a_report_is_written_as_the_same_bytes_as_its_dict_and_read_back(tmp_path: Path, data: dict) -> None:
    path = DriftReport.from_dict(data).write(drift_path(tmp_path, data["dataset"]))
    atomic.write_json(tmp_path / "plain.json", data)  # how the report was written before it had a record

    assert path == tmp_path / f"{data['dataset']}.drift.json"
    assert path.read_bytes() == (tmp_path / "plain.json").read_bytes()
    report = DriftReport.read(path)
    assert report.to_dict() == data and list(report.to_dict()) == list(data)
    assert report.new_version == data["new"]["version"]


def test_reading_no_report_gives_none(tmp_path: Path) -> None:
    assert DriftReport.read(drift_path(tmp_path, "jena")) is None


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", r"jena\.drift\.json is not valid JSON"),
        (json.dumps([COMPUTED]), r"jena\.drift\.json holds a list; expected a JSON object"),
        (json.dumps({k: v for k, v in COMPUTED.items() if k != "flagged"}), r"jena\.drift\.json lacks the field 'flagged'"),
        (json.dumps({**COMPUTED, "features": {"T (degC)": 1}}), r"jena\.drift\.json: field 'features' is a dict"),
        (json.dumps({**COMPUTED, "features": [{"name": "T (degC)", "flagged": "yes"}]}),
         r"field 'features\[0\]\.flagged' is 'yes'"),
    ],
    ids=["not JSON", "not an object", "a field missing", "a field of the wrong type", "a feature's field"],
)
def test_a_bad_file_is_refused_naming_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = drift_path(tmp_path, "jena")
    path.write_text(text)
    with pytest.raises(DataFormatError, match=message):
        DriftReport.read(path)


def test_the_ingest_reader_reads_a_bad_file_as_none_never_failing(tmp_path: Path) -> None:
    """Drift is never fatal: the run report and the retraining plan go on as if there were no report."""
    from tasks.ingest import read_drift

    drift_path(tmp_path, "jena").write_text("{not json")
    assert read_drift(tmp_path, "jena") is None
    DriftReport.from_dict(COMPUTED).write(drift_path(tmp_path, "jena"))
    assert read_drift(tmp_path, "jena") == COMPUTED
