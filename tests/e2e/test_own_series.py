"""Issue 24: a user's hourly sensor log through every stage from one spec file and no code: `seqconv train-all
--dataset <spec.toml>` (smoke) ingests it, trains the default series architectures on it as
<architecture>@<dataset>, judges and reports them; `seqconv predict` forecasts from a recent file of readings, and
the run's serving/ model gives the same forecast from the raw readings. The spec of that run leaves its interval out:
ingestion infers it (1h) and every later stage reads its windows on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]

SPEC = """# An hourly sensor log, as its owner describes it.
name = "greenhouse"
kind = "series"
format = "csv_series"
description = "a greenhouse's hourly temperature and humidity"

[sources]
files = [{ name = "greenhouse.csv" }]

[record]
time_parts = { year = "Year", month = "Month", day = "Day", hour = "Hour" }
interval = "1h"
missing = [-9999]
drop = ["note"]
one_hot = { door = ["open", "shut"] }
target = "temp"
unit = "degC"

[settings]
lookback = "2d"
step = "1h"
delay = "6h"
max_gap_minutes = "3h"
block_days = "7d"
"""


def readings(start: str, hours: int, seed: int) -> pd.DataFrame:
    """Hourly readings with a daily cycle: temp (°C), humidity (%, NA now and then), door (text), note (text)."""
    rng = np.random.default_rng(seed)
    t = pd.date_range(start, periods=hours, freq="h")
    h = np.arange(hours)
    temp = 18 + 6 * np.sin((t.hour.to_numpy() - 9) / 24 * 2 * np.pi) + rng.normal(0, 0.5, hours)
    humidity = (60 - 2 * (temp - 18) + rng.normal(0, 1, hours)).round(1).astype(str)
    humidity[rng.choice(hours - 60, 5, replace=False)] = "NA"  # never in the newest window
    return pd.DataFrame({"Year": t.year, "Month": t.month, "Day": t.day, "Hour": t.hour, "temp": temp.round(2),
                         "humidity": humidity, "door": np.where(h % 7 == 0, "open", "shut"), "note": "ok"})


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


def test_train_all_on_a_spec_then_predict_from_a_recent_file_and_from_serving(tmp_path):
    own = tmp_path / "mine"
    own.mkdir()
    log = readings("2024-03-01", 24 * 60, seed=1)
    log = log.drop(index=range(700, 704))  # a 4-hour hole: windows across it are not made
    log.to_csv(own / "greenhouse.csv", index=False)
    inferred = SPEC.replace('interval = "1h"\n', "")  # the hourly interval inferred from the times
    (own / "greenhouse.toml").write_text(inferred, encoding="utf-8")
    data, artifacts = tmp_path / "data", tmp_path / "artifacts"

    result = cli("flows.train_all", "--dataset", str(own / "greenhouse.toml"), "--profile", "smoke",
                 "--data-dir", str(data), "--artifacts-dir", str(artifacts))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (data / "specs" / "greenhouse.toml").read_text(encoding="utf-8") == inferred  # found by name from now on
    from tasks.ingest import read_provenance

    provenance = read_provenance(data / "processed" / "greenhouse" / "greenhouse.parquet")
    assert (provenance["interval"], provenance["interval_inferred"]) == ("1h", True)  # what the stages read it from
    (run,) = (artifacts / "runs").iterdir()
    models = sorted(p.name for p in run.iterdir() if p.is_dir())
    assert models == ["jena_conv@greenhouse", "jena_conv_gru@greenhouse"]
    model_dir = run / "jena_conv_gru@greenhouse"
    metrics = json.loads((model_dir / "metrics.json").read_text())
    normalization = json.loads((model_dir / "normalization.json").read_text())
    assert normalization["features"] == ["temp", "humidity", "door=open", "door=shut"]
    assert (normalization["lookback"], normalization["step"], normalization["delay"]) == (48, 1, 6)
    assert metrics["settings"]["split"] == "blocked" and metrics["settings"]["block_days"] == 7
    assert set(metrics["baselines"]) == {"persistence", "mean"}
    assert metrics["validation"]["mae_celsius"] > 0 and metrics["test"]["windows"] > 0
    rows = len(log) - int((log["humidity"] == "NA").sum())  # a row with a missing reading is a gap, not a zero
    assert "jena_conv_gru@greenhouse" in result.stdout and f"greenhouse: {rows:,} rows" in result.stdout
    assert f"{metrics['validation']['mae_celsius']:.2f} degC" in result.stdout  # the target's unit, the spec's

    recent = readings("2024-05-10", 24 * 4, seed=2)  # four days of new readings, the model's own format
    recent.to_csv(tmp_path / "recent.csv", index=False)
    result = cli("flows.predict", "greenhouse", "--files", str(tmp_path / "recent.csv"), "--model-dir",
                 str(model_dir), "--data-dir", str(data), "--artifacts-dir", str(artifacts))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (out,) = (artifacts / "predictions").iterdir()
    forecast = json.loads((next(out.iterdir()) / "forecast.json").read_text())
    headline = forecast["headline"]
    assert forecast["unit"] == "degC" and f"{headline['forecast_c']:.1f} degC at" in result.stdout
    assert headline["reading_time"] == "2024-05-13 23:00:00" and headline["horizon_hours"] == 7.0

    from tests.support.serving import load_serving

    serving = load_serving(model_dir)
    window = recent.tail(48)
    raw = np.stack([window["temp"].to_numpy(float), window["humidity"].astype(float).to_numpy(),
                    (window["door"] == "open").to_numpy(float), (window["door"] == "shut").to_numpy(float)], axis=1)
    served = float(np.asarray(serving.predict(raw[None], verbose=0)).reshape(-1)[0])
    assert served == pytest.approx(headline["forecast_c"], abs=1e-3)


def write_own(folder: Path, log: pd.DataFrame, spec: str = SPEC) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    log.to_csv(folder / "greenhouse.csv", index=False)
    (folder / "greenhouse.toml").write_text(spec, encoding="utf-8")
    return folder / "greenhouse.toml"


def test_a_bad_spec_is_one_error_line_before_anything_starts(tmp_path):
    spec = write_own(tmp_path / "mine", readings("2024-03-01", 24 * 30, seed=1),
                     SPEC.replace('interval = "1h"', 'interval = "1h"\nsampling = "hourly"'))
    result = cli("flows.ingest", str(spec), "--data-dir", str(tmp_path / "data"))
    assert result.returncode != 0 and "Traceback" not in result.stderr + result.stdout
    errors = [line for line in (result.stderr + result.stdout).splitlines() if line.startswith("error:")]
    assert errors == [f"error: {spec}: unknown key record.sampling; allowed in record: target, interval, "
                      "stamped, time, time_format, time_parts, time_columns, time_zone, encoding, delimiter, decimal, "
                      "missing, missing_text, missing_by_column, features, drop, one_hot, ranges, fill, duplicates, "
                      "unit"]
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("edit, spec_edit, message", [
    (lambda log: log.drop(columns=["temp"]), None,
     r"greenhouse.csv: no column 'temp' \(named in .*greenhouse.toml\)"),
    (lambda log: log.assign(Day=log["Day"].astype(str).where(log.index != 30, "thirty")), None,
     r"greenhouse.csv: line 32: Year/Month/Day/Hour hold '2024/3/thirty/6', not a time"),
    (lambda log: log, [('drop = ["note"]', 'drop = []')],
     r"greenhouse.csv: line 2: column 'note' holds 'ok', not a number; a text column must be dropped"),
    (lambda log: log.head(24 * 4), None,
     r"greenhouse: \d\d rows on the 1h grid; a window of .*greenhouse.toml's settings .* needs at least 165"),
    (lambda log: log, [('interval = "1h"', 'interval = "3h"'), ('step = "1h"', 'step = "3h"')],
     r"greenhouse.csv: line 3: 2024-03-01 01:00:00 is off the 3h grid of record.interval in .*greenhouse.toml: the "
     r"most common step between rows is 60 minutes and 480 of 720 rows are off the grid"),
])
def test_bad_data_is_one_error_naming_file_row_and_column_and_publishes_nothing(
        prefect_harness, tmp_path, edit, spec_edit, message):
    from flows.ingest import ingest_flow
    from tasks.core.errors import SeqconvError

    spec_text = SPEC
    for old, new in spec_edit or []:
        spec_text = spec_text.replace(old, new)
    spec = write_own(tmp_path / "mine", edit(readings("2024-03-01", 24 * 30, seed=1)), spec_text)
    with pytest.raises(SeqconvError, match=message):
        ingest_flow(str(spec), data_dir=str(tmp_path / "data"), artifacts_dir=str(tmp_path / "artifacts"))
    assert not (tmp_path / "data" / "processed" / "greenhouse").exists()
    assert not (tmp_path / "data" / "specs").exists()


def test_a_changed_file_is_read_again_and_drift_is_reported_against_the_previous_version(prefect_harness, tmp_path):
    from flows.ingest import ingest_flow

    spec = write_own(tmp_path / "mine", readings("2024-03-01", 24 * 30, seed=1))
    where = dict(data_dir=str(tmp_path / "data"), artifacts_dir=str(tmp_path / "artifacts"))
    first = Path(ingest_flow(str(spec), **where)).resolve()
    warmer = readings("2024-03-01", 24 * 40, seed=1)
    warmer["temp"] += 8  # the user's file grows and warms: same path, new bytes
    write_own(tmp_path / "mine", warmer)
    second = Path(ingest_flow(str(spec), **where)).resolve()
    assert second != first
    drift = json.loads((tmp_path / "data" / "validation" / "greenhouse.drift.json").read_text())
    assert drift["reference"]["kind"] == "previous_version"
    assert [f["name"] for f in drift["features"] if f["flagged"]] == ["temp"]
