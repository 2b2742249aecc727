"""A dataset given by a spec file (tasks.core.datasets.dataset_spec): found by its path or by its name once stored
with the data, and every architecture of its kind trains on it as <architecture>@<dataset>."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.core import datasets
from tasks.core.config import FAMILIES, TrainSettings, architecture, family, models_for
from tasks.core.datasets import SpecError, dataset_spec, spec_as_written, store_spec, use_data_dir
from tasks.core.errors import DataFormatError, SettingsError
from tasks.core.profiles import resolve_settings
from tasks.core.sources import sources_of

pytestmark = pytest.mark.unit

SENSOR = """
name = "{name}"
kind = "series"
format = "csv_series"
description = "an hourly sensor"

[sources]
files = [{{ name = "sensor.csv" }}]

[record]
time = "when"
interval = "1h"
target = "temp"
unit = "K"

[settings]
lookback = "2d"
step = "1h"
delay = "6h"
max_gap_minutes = "3h"
"""


def write_spec(folder: Path, name: str = "sensor", file: str = "sensor.toml") -> Path:
    path = folder / file
    path.write_text(SENSOR.format(name=name))
    return path


@pytest.fixture
def fresh(monkeypatch):
    """No user spec read or data dir used by an earlier test."""
    monkeypatch.setattr(datasets, "_READ", {})
    monkeypatch.setattr(datasets, "_DATA_DIRS", [Path("data")])


def test_a_spec_path_gives_its_dataset_with_its_kinds_defaults(tmp_path, fresh):
    spec = dataset_spec(str(write_spec(tmp_path)))
    assert (spec.name, spec.kind, spec.published) == ("sensor", "series", ("sensor.parquet",))
    assert spec.run_defaults() == {"lookback": 48, "step": 1, "delay": 6, "max_gap_minutes": 180}
    assert dataset_spec("sensor") is spec  # by name, in the process that read it
    row = FAMILIES["sensor"]
    assert (row.interval_minutes, row.compared_label, row.predicts_with) == (60, "val MAE (K)",
                                                                                 "jena_conv_gru@sensor")


def test_a_stored_spec_is_found_by_name_from_its_data_dir(tmp_path, fresh):
    spec = datasets.user_spec(write_spec(tmp_path))
    data_dir = tmp_path / "data"
    stored = store_spec(spec, data_dir)
    assert stored == data_dir / "specs" / "sensor.toml" and stored.read_bytes() == Path(spec.path).read_bytes()
    datasets._READ.clear()  # another process: only the data dir knows it
    with pytest.raises(SpecError, match="unknown dataset 'sensor'"):
        dataset_spec("sensor")
    use_data_dir(data_dir)
    assert dataset_spec("sensor").run_defaults()["delay"] == 6
    (source,) = sources_of(dataset_spec("sensor"))  # a relative path stays relative to the user's folder
    assert source.own and Path(source.url) == tmp_path.resolve() / "sensor.csv"


def test_a_spec_named_like_a_built_in_is_refused(tmp_path, fresh):
    with pytest.raises(SpecError, match=r"name='jena' is a built-in dataset"):
        dataset_spec(str(write_spec(tmp_path, name="jena")))
    with pytest.raises(SpecError, match=r"name='My Sensor'"):
        dataset_spec(str(write_spec(tmp_path, name="My Sensor")))


def test_an_architecture_on_another_dataset_of_its_kind_is_named_for_it(tmp_path, fresh):
    dataset_spec(str(write_spec(tmp_path)))
    on = architecture("jena_conv@sensor")
    assert (on.name, on.dataset, on.kind, on.book) == ("jena_conv@sensor", "sensor", "series", None)
    assert "step" not in on.published and on.published["epochs"] == 20  # the windows are the dataset's
    assert family("jena_conv@sensor") == "sensor" and family("jena_conv") == "jena"
    s = resolve_settings("jena_tcn@sensor", "smoke")  # smoke's lookback (288 rows of Jena's grid) is not the
    # sensor's: its spec's 2 days are
    assert (s.model, s.step, s.delay, s.lookback, s.filters, s.epochs) == ("jena_tcn@sensor", 1, 6, 48, 28, 2)
    assert resolve_settings("jena_tcn@sensor", "smoke", {"lookback": "72"}).lookback == 72
    assert s.spec.name == "sensor" and TrainSettings(model="jena_conv").step == 6
    assert models_for("sensor") == ["jena_conv@sensor", "jena_conv_gru@sensor"]
    assert models_for("sensor", ["jena_tcn"]) == ["jena_tcn@sensor"]
    assert models_for("jena", ["jena_tcn"]) == ["jena_tcn"]
    with pytest.raises(SettingsError, match=r"imdb_conv reads text datasets, and sensor is series"):
        architecture("imdb_conv@sensor")
    with pytest.raises(SettingsError, match=r"jena_conv is registered on jena; name it jena_conv"):
        architecture("jena_conv@jena")
    with pytest.raises(SettingsError, match=r"unknown dataset 'nowhere'"):
        architecture("jena_conv@nowhere")


def publish_sensor(processed_dir: Path, interval: str) -> Path:
    """A published version of the sensor whose provenance records `interval`, as ingestion leaves one."""
    import pandas as pd
    import pyarrow as pa

    from tasks.core.atomic import VERSIONS, point_link
    from tasks.ingest.provenance import write_parquet

    version = processed_dir / VERSIONS / f"sensor-{interval}"
    version.mkdir(parents=True)
    table = pa.Table.from_pandas(pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=3, freq="h"),
                                               "temp": [1.0, 2.0, 3.0]}), preserve_index=False)
    write_parquet(table, version / "sensor.parquet", {"sources": [], "interval": interval, "interval_inferred": True})
    point_link(version, processed_dir / "sensor")
    return version


def test_an_inferred_interval_is_read_from_the_published_version_and_another_one_is_refused(tmp_path, fresh):
    from tasks.core.profiles import check_run
    from tasks.ingest.csv_series import check_same_interval

    path = tmp_path / "sensor.toml"
    path.write_text(SENSOR.format(name="sensor").replace('interval = "1h"\n', ""))
    data_dir = tmp_path / "data"
    use_data_dir(data_dir)
    spec = dataset_spec(str(path))
    assert spec.awaits_interval and FAMILIES["sensor"].kind == "series"  # drift and reports ask no interval
    with pytest.raises(SpecError, match=r"record.interval is not named, .*ingest it first \(seqconv ingest "):
        resolve_settings("jena_conv@sensor", "smoke")
    assert check_run("smoke", ["jena_conv@sensor"]) == []  # train-all starts: its windows are known once ingested

    publish_sensor(data_dir / "processed", "1h")
    assert dataset_spec("sensor").record.interval == "1h" and dataset_spec("sensor") is dataset_spec("sensor")
    assert dataset_spec("sensor").run_defaults() == {"lookback": 48, "step": 1, "delay": 6, "max_gap_minutes": 180}
    assert FAMILIES["sensor"].interval_minutes == 60 and resolve_settings("jena_conv@sensor", "smoke").lookback == 48
    assert spec_as_written("sensor").awaits_interval  # what ingestion infers a new version's interval on

    check_same_interval(spec, {"interval": "60min", "interval_inferred": True}, data_dir / "processed")
    with pytest.raises(DataFormatError, match=r"^sensor.csv: the record's interval is 2h \(inferred from the data\), "
                                              r"and the published version of sensor \(sensor-1h\) is on a 1h grid"):
        check_same_interval(spec, {"interval": "2h", "interval_inferred": True, "rows_read": {"sensor.csv": 9}},
                            data_dir / "processed")


TICKETS = """
name = "tickets"
kind = "text"
format = "text_files"
description = "support tickets"

[sources]
files = [{{ name = "tickets.csv" }}]

[text.files]
layout = "table"
text_column = "text"
label_column = "label"
fractions = {{ train = 0.7, val = 0.1, test = 0.2 }}
{evaluation}
[settings]
num_words = 2000
maxlen = {maxlen}
"""


def write_tickets(folder: Path, maxlen: int = 40, evaluation: str = "") -> Path:
    path = folder / "tickets.toml"
    path.write_text(TICKETS.format(maxlen=maxlen, evaluation=evaluation))
    return path


def test_a_maxlen_too_short_for_imdb_conv_is_refused_naming_the_spec_key_or_the_set(tmp_path, fresh):
    from tasks.model.imdb_conv import build_imdb_conv

    spec = dataset_spec(str(write_tickets(tmp_path, maxlen=40)))
    with pytest.raises(SettingsError) as refused:
        resolve_settings("imdb_conv@tickets", "smoke")
    message = str(refused.value)
    assert "maxlen=40: imdb_conv needs at least 41 words per text" in message
    assert message.endswith(f"(maxlen from {spec.path}: settings.maxlen)")
    with pytest.raises(SettingsError, match=r"maxlen=30: imdb_conv needs at least 41 words .*leave nothing of fewer\)$"):
        resolve_settings("imdb_conv@tickets", "smoke", {"maxlen": "30"})
    assert resolve_settings("imdb_conv@tickets", "smoke", {"maxlen": "41"}).maxlen == 41
    # the limit is the layers' own: 41 words build, 40 do not
    assert build_imdb_conv(max_features=50, maxlen=41, embedding_dim=4).output_shape == (None, 1)
    with pytest.raises(ValueError, match="output size would be zero"):
        build_imdb_conv(max_features=50, maxlen=40, embedding_dim=4)
    # imdb_dilated pads every convolution, so it reads the short texts
    assert resolve_settings("imdb_dilated@tickets", "smoke").maxlen == 40


def test_a_text_datasets_count_unit_is_texts_unless_its_evaluation_names_one(tmp_path, fresh):
    assert dataset_spec(str(write_tickets(tmp_path, maxlen=64))).evaluation.unit == "texts"
    named = dataset_spec(str(write_tickets(tmp_path, 64, '\n[evaluation]\nunit = "tickets"\n')))
    assert named.evaluation.unit == "tickets" and named.evaluation.metric == "accuracy"  # the others kept
    assert FAMILIES["imdb"].unit == "reviews"


def test_the_report_and_the_confusion_plot_count_in_the_datasets_unit(tmp_path, fresh):
    from tasks.publish.report import report_markdown
    from tasks.publish.text import plot_test_split
    from tests.unit.test_report_artifacts import IMDB

    dataset_spec(str(write_tickets(tmp_path, 64, '\n[evaluation]\nunit = "tickets"\n')))
    tickets = {**IMDB, "model": "imdb_conv@tickets", "test": {"reviews": 420, "accuracy": 0.9, "macro_f1": 0.89,
                                                             "confusion_matrix": [[140, 0, 0], [1, 139, 0], [0, 40, 100]]}}
    text = report_markdown([{"metrics": IMDB, "promotion": None}, {"metrics": tickets, "promotion": None}], "r", "smoke")
    assert "Test accuracy 0.8711, ROC AUC 0.93 on 500 reviews." in text  # IMDB's spec says reviews
    assert "Test accuracy 0.9, macro-F1 0.89 on 420 tickets." in text and "420 reviews" not in text
    [png] = plot_test_split({}, tickets, tmp_path)
    assert png.name == "confusion.png" and png.stat().st_size > 1000


def test_a_refusal_names_the_origin_of_every_setting_it_is_about_even_where_its_text_has_no_key_equals(
        tmp_path, fresh):
    path = tmp_path / "sensor.toml"
    path.write_text(SENSOR.format(name="sensor").replace('lookback = "2d"', 'lookback = "20h"'))
    spec = dataset_spec(str(path))
    with pytest.raises(SettingsError) as refused:  # 20 timesteps of 1 h: "lookback/step = 20 timesteps: ..."
        resolve_settings("jena_conv@sensor", "smoke")
    message = str(refused.value)
    assert "lookback/step = 20 timesteps: the Jena models need at least 22" in message
    assert message.endswith(f"(lookback from {spec.path}: settings.lookback; step from {spec.path}: settings.step)")
