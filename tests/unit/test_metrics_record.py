"""metrics.json's one reader: the record reads what the evaluate stage writes, and names the file when it cannot."""

from __future__ import annotations

import json

import pytest

from tasks.core.errors import DataFormatError
from tasks.core.records.metrics import Metrics

pytestmark = pytest.mark.unit

METRICS = {
    "run_id": "r1",
    "model": "jena_conv",
    "monitor": "val_loss",
    "validation": {"mae": 0.3, "mae_celsius": 2.5, "windows": 10},
    "test": {"mae": 0.31, "mae_celsius": 2.6, "windows": 10},
    "blessed": True,
    "data": {"sha256": "e" * 64},
    "model_dir": "/somewhere/runs/r1/jena_conv",
}


def test_a_written_record_reads_back_with_its_fields(tmp_path):
    path = Metrics(METRICS).write(tmp_path)
    assert path == tmp_path / "metrics.json" and json.loads(path.read_text()) == METRICS
    record = Metrics.read(tmp_path)
    assert record.data == METRICS and record.path == path
    assert (record.model, record.run_id, record.data_sha256, record.blessed) == ("jena_conv", "r1", "e" * 64, True)
    assert record.metric() == ("mae", "val MAE", False) and record.validation_value() == 0.3
    assert record.baselines == {} and record.blessing == {}


@pytest.mark.parametrize("content, message", [
    (None, "does not exist: only a finished run or evaluation has one"),
    ("{not json", "is not valid JSON"),
    ("[1, 2]", "holds a list; expected a JSON object"),
])
def test_an_unreadable_file_is_an_error_naming_it(tmp_path, content, message):
    if content is not None:
        (tmp_path / "metrics.json").write_text(content)
    with pytest.raises(DataFormatError, match=message) as error:
        Metrics.read(tmp_path)
    assert str(tmp_path / "metrics.json") in str(error.value)


def test_a_missing_or_bad_field_is_named_with_the_file(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"model": "no_such_model"}))
    record = Metrics.read(tmp_path)
    with pytest.raises(DataFormatError, match=r"metrics\.json: field model is 'no_such_model'"):
        record.model
    with pytest.raises(DataFormatError, match=r"metrics\.json: field validation is None"):
        record.validation
    with pytest.raises(DataFormatError, match=r"metrics\.json: metrics name no known model"):
        record.metric()
