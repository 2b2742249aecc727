"""Issue 24: a user's hourly sensor log through every stage from one spec file and no code: `seqconv train-all
--dataset <spec.toml>` (smoke) ingests it, trains the default series architectures on it as
<architecture>@<dataset>, judges and reports them; `seqconv predict` forecasts from a recent file of readings, and
the run's serving/ model gives the same forecast from the raw readings."""

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
unit = "°C"

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
    (own / "greenhouse.toml").write_text(SPEC, encoding="utf-8")
    data, artifacts = tmp_path / "data", tmp_path / "artifacts"

    result = cli("flows.train_all", "--dataset", str(own / "greenhouse.toml"), "--profile", "smoke",
                 "--data-dir", str(data), "--artifacts-dir", str(artifacts))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (data / "specs" / "greenhouse.toml").read_text(encoding="utf-8") == SPEC  # found by name from now on
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

    recent = readings("2024-05-10", 24 * 4, seed=2)  # four days of new readings, the model's own format
    recent.to_csv(tmp_path / "recent.csv", index=False)
    result = cli("flows.predict", "greenhouse", "--files", str(tmp_path / "recent.csv"), "--model-dir",
                 str(model_dir), "--data-dir", str(data), "--artifacts-dir", str(artifacts))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (out,) = (artifacts / "predictions").iterdir()
    forecast = json.loads((next(out.iterdir()) / "forecast.json").read_text())
    headline = forecast["headline"]
    assert headline["reading_time"] == "2024-05-13 23:00:00" and headline["horizon_hours"] == 7.0

    from tests.support.serving import load_serving

    serving = load_serving(model_dir)
    window = recent.tail(48)
    raw = np.stack([window["temp"].to_numpy(float), window["humidity"].astype(float).to_numpy(),
                    (window["door"] == "open").to_numpy(float), (window["door"] == "shut").to_numpy(float)], axis=1)
    served = float(np.asarray(serving.predict(raw[None], verbose=0)).reshape(-1)[0])
    assert served == pytest.approx(headline["forecast_c"], abs=1e-3)
