"""A Jena model's normalization.json (tasks/core/records/normalization.py): written as training always wrote it,
read back by evaluation and forecasting alike, each broken file named with its field."""

from __future__ import annotations

import json

import pytest

from tasks.core import atomic
from tasks.core.errors import DataFormatError
from tasks.core.records.normalization import NormalizationRecord
from tasks.core.sources import JENA_FEATURES

pytestmark = pytest.mark.unit

SPLIT = {"split": "blocked", "block_days": 28, "block_pattern": "train,train,val,test"}


def stored() -> dict:
    """What tasks.model.train wrote before the record existed: Normalizer.to_json, target, window shape, split."""
    mean = [float(i) + 0.125 for i in range(14)]
    std = [1.0 + i / 7 for i in range(14)]
    return {"features": list(JENA_FEATURES), "mean": mean, "std": std, "target": "T (degC)", "target_col": 1,
            "lookback": 720, "step": 6, "delay": 144, **SPLIT}


def test_write_gives_the_bytes_training_wrote_and_reads_back(tmp_path) -> None:
    before = atomic.write_json(tmp_path / "before.json", stored()).read_bytes()
    record = NormalizationRecord.from_json(stored(), "stored")
    assert record.write(tmp_path / "normalization.json").read_bytes() == before
    again = NormalizationRecord.read(tmp_path / "normalization.json")
    assert again == record and again.to_json() == stored()
    assert (again.target_mean, again.target_std, again.split_settings) == (1.125, 1 + 1 / 7, SPLIT)


def test_a_file_from_before_the_blocked_split_has_no_split_settings(tmp_path) -> None:
    old = {k: v for k, v in stored().items() if k not in SPLIT}
    (tmp_path / "normalization.json").write_text(json.dumps(old))
    record = NormalizationRecord.read(tmp_path / "normalization.json")
    assert record.split_settings == {} and record.to_json() == old


@pytest.mark.parametrize("change, message", [
    ({"step": None}, r"no key\(s\) \['step'\]"),
    ({"mean": [0.0] * 13}, r"14 features, 13 means, 14 stds and target_col 1; expected one mean and std per"),
    ({"target_col": 14}, r"14 features, 14 means, 14 stds and target_col 14; expected one mean and std per feature and a target among them"),
    ({"lookback": 700}, r"lookback 700, step 6, delay 144; expected lookback a positive multiple of step"),
    ({"std": [1.0] * 13 + ["x"]}, r"std is \[.*; expected a list of numbers"),
    ({"std": [1.0] * 13 + [0.0]}, r"std\[13\] = 0.0; expected finite means and positive stds"),
    ({"delay": "soon"}, r"delay is 'soon'; expected a whole number"),
    ({"target": "p (mbar)"}, r"target 'p \(mbar\)' but target_col 1 is 'T \(degC\)'"),
])
def test_read_names_the_file_and_the_field(tmp_path, change: dict, message: str) -> None:
    data = {k: v for k, v in {**stored(), **change}.items() if v is not None}
    path = tmp_path / "normalization.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DataFormatError, match=rf"normalization\.json: {message}"):
        NormalizationRecord.read(path)


def test_read_names_a_missing_or_unreadable_file(tmp_path) -> None:
    with pytest.raises(DataFormatError, match=r"normalization\.json: no such file"):
        NormalizationRecord.read(tmp_path / "normalization.json")
    (tmp_path / "normalization.json").write_text("{not json")
    with pytest.raises(DataFormatError, match=r"normalization\.json: not a JSON file"):
        NormalizationRecord.read(tmp_path / "normalization.json")
    (tmp_path / "normalization.json").write_text("[1, 2]")
    with pytest.raises(DataFormatError, match=r"normalization\.json: expected a JSON object with keys"):
        NormalizationRecord.read(tmp_path / "normalization.json")


def test_write_refuses_a_record_that_would_not_read_back(tmp_path) -> None:
    record = NormalizationRecord(**{**NormalizationRecord.from_json(stored()).__dict__, "step": 7})
    with pytest.raises(DataFormatError, match="lookback 720, step 7"):
        record.write(tmp_path / "normalization.json")
    assert not (tmp_path / "normalization.json").exists()


def test_the_model_stage_builds_its_normalizer_from_the_record() -> None:
    from tasks.model.normalizer import Normalizer

    record = NormalizationRecord.from_json(stored())
    assert Normalizer.from_record(record) == Normalizer.from_json(stored())
