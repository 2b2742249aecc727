"""A dataset is a spec file (tasks.core.datasets): the built-in ones hold what the code used to, and a bad spec is
an error naming its file and key, never a traceback or a silent default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tasks.core.config import FAMILIES, TrainSettings
from tasks.core.datasets import SpecError, builtin_names, builtin_spec, duration_minutes, read_spec

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def test_the_built_in_specs_give_the_book_s_settings_on_the_record_s_grid():
    assert builtin_names() == ("imdb", "jena")
    jena = builtin_spec("jena")
    assert jena.kind == "series" and jena.record.interval_minutes == 10
    assert jena.run_defaults() == {"lookback": 1440, "step": 6, "delay": 144, "max_gap_minutes": 360}
    assert len(jena.record.features) == 14 and jena.record.target in jena.record.features
    imdb = builtin_spec("imdb")
    assert imdb.kind == "text" and imdb.run_defaults() == {"num_words": 10000, "maxlen": 500, "validation_split": 0.2}
    assert [f.name for f in imdb.sources.files] == ["imdb.npz", "imdb_word_index.json"]
    assert TrainSettings(model="jena_conv").lookback == 1440 and TrainSettings(model="imdb_conv").maxlen == 500
    assert FAMILIES["jena"].metric == "mae" and FAMILIES["imdb"].baselines == ("majority", "bag_of_words")


@pytest.mark.parametrize("text, minutes", [("10min", 10), ("1h", 60), ("24h", 1440), ("10d", 14400)])
def test_durations(text, minutes):
    assert duration_minutes(text) == minutes


def spec_text(**replace: str) -> str:
    text = (ROOT / "datasets" / "jena.toml").read_text()
    for old, new in replace.items():
        old = old.replace("_", " ") if old.startswith("line ") else old
        text = re.sub(old, new, text, count=1, flags=re.M)
    return text


@pytest.mark.parametrize("edit, message", [
    ({r"^kind = .*$": 'kind = "video"'}, r"kind='video'; expected one of text, series"),
    ({r"^predicts_with = .*$": 'predicts_with = "jena_conv_gru"\ncolour = "blue"'}, r"unknown key colour"),
    ({r"^time = .*$": 'time = "Date Time"\nzone = "UTC"'}, r"unknown key record\.zone"),
    ({r"^interval = .*$": 'interval = "ten minutes"'}, r"'ten minutes' is not a duration"),
    ({r"^stamped = .*$": 'stamped = "middle"'}, r"record\.stamped='middle'; allowed: start, end"),
    ({r'^step = "1h".*$': 'step = "15min"'}, r"settings\.step: 15 minutes is not a whole number of 10-minute rows"),
    ({r"^lookback = .*$": 'lookback = "10d"\nmaxlen = 500'}, r"unknown key settings\.maxlen; a series dataset's"),
    ({r"^lookback = .*$": 'lookback = "ten days"'}, r"key settings\.lookback must be int or a duration"),
    ({r"^higher_is_better = .*$": 'higher_is_better = "no"'}, r"key evaluation\.higher_is_better must be bool"),
    ({r"^target = .*$": ""}, r"missing key record\.target"),  # published, predicts_with and evaluation have
    # defaults by kind (tasks.core.datasets.kind_defaults)
    ({r"^\[record\][\s\S]*?(?=^\[settings\])": ""}, r"a series dataset needs a \[record\] section"),
    ({r"^name = .*$": 'name = "jena" = 1'}, r"cannot be read as TOML"),
])
def test_a_bad_spec_is_an_error_naming_its_file_and_key(tmp_path, edit, message):
    path = tmp_path / "mine.toml"
    path.write_text(spec_text(**edit))
    with pytest.raises(SpecError, match=message) as caught:
        read_spec(path)
    assert str(path) in str(caught.value)


def test_an_unknown_built_in_dataset_names_the_known_ones():
    with pytest.raises(SpecError, match="unknown dataset 'weather'; allowed: imdb, jena"):
        builtin_spec("weather")
    with pytest.raises(SpecError, match="does not exist"):
        read_spec(Path("/nonexistent/spec.toml"))
