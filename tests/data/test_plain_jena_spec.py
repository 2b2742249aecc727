"""Issue 24, part 4: the mirror's 2024 station files through a plain time-series spec, written as a user would
(format csv_series: columns, time format, encoding, sentinel and durations in the spec, no Jena code), give the
same table, the same windows and the same metrics as the built-in `jena`, seed for seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from flows.ingest import ingest_flow, ingest_jena_flow
from tasks.core.datasets import builtin_spec
from tasks.core.profiles import resolve_settings
from tasks.judge.evaluate import evaluate_model
from tasks.model.series import prepare_jena, settings_for_data
from tasks.model.train import train_model

pytestmark = pytest.mark.data

STATION_FILES = ["mpi_roof_2024a.csv", "mpi_roof_2024b.csv"]
SPEC = """# The MPI-BGC roof station's 2024 half-year files, as a user writes them down from the files alone.
name = "roof2024"
kind = "series"
format = "csv_series"
description = "MPI-BGC Jena roof station, 2024, every 10 minutes"

[sources]
files = [{files}]

[record]
time = "Date Time"
time_format = "%d.%m.%Y %H:%M:%S"
interval = "10min"
stamped = "end"
encoding = "latin-1"
missing = [-9999]
fill = "interpolate"
features = ["p (mbar)", "T (degC)", "Tpot (K)", "Tdew (degC)", "rh (%)", "VPmax (mbar)", "VPact (mbar)",
            "VPdef (mbar)", "sh (g/kg)", "H2OC (mmol/mol)", "rho (g/m**3)", "wv (m/s)", "max. wv (m/s)", "wd (deg)"]
target = "T (degC)"
unit = "°C"

[settings]
lookback = "240h"
step = "1h"
delay = "24h"
max_gap_minutes = "6h"
"""


@pytest.fixture(scope="module")
def both(prefect_harness, shared_datasets: Path, tmp_path_factory) -> tuple[Path, Path]:
    """(jena's published folder, roof2024's) ingested from the real mirror into one data dir."""
    data_dir = tmp_path_factory.mktemp("plain-jena")
    sums = dict(reversed(line.split("  ")) for line in (shared_datasets / "SHA256SUMS").read_text().splitlines())
    files = ", ".join(f'{{ name = "{shared_datasets / n}", sha256 = "{sums[n]}" }}' for n in STATION_FILES)
    spec = tmp_path_factory.mktemp("spec") / "roof2024.toml"
    spec.write_text(SPEC.format(files=files), encoding="utf-8")
    artifacts = str(data_dir / "artifacts")
    jena = ingest_jena_flow(mirror=str(shared_datasets), data_dir=str(data_dir), files=STATION_FILES,
                            artifacts_dir=artifacts)
    roof = ingest_flow(str(spec), data_dir=str(data_dir), artifacts_dir=artifacts)
    assert (data_dir / "specs" / "roof2024.toml").read_bytes() == spec.read_bytes()  # workers find it by name
    return Path(jena), Path(roof)


def test_the_plain_spec_publishes_the_same_table(both):
    jena, roof = both
    a, b = pq.read_table(jena / "jena.parquet"), pq.read_table(roof / "roof2024.parquet")
    assert a.schema.names == b.schema.names == ["timestamp", *builtin_spec("jena").record.features]
    assert a.num_rows == b.num_rows == 38_668
    for name in a.schema.names:
        assert a.column(name).equals(b.column(name)), name


def test_the_same_windows_and_metrics_seed_for_seed(both, tmp_path):
    jena, roof = both
    same = {"lookback": "288"}  # smoke's on jena; a spec'd dataset's smoke run keeps its spec's windows
    runs = {}
    for model, path in (("jena_conv", jena), ("jena_conv@roof2024", roof)):
        settings = resolve_settings(model, "smoke", same)
        data = prepare_jena(path, settings_for_data(path, settings))
        runs[model] = (settings, data)
    (s1, d1), (s2, d2) = runs.values()
    assert (s1.lookback, s1.step, s1.delay, s1.max_gap_minutes) == (s2.lookback, s2.step, s2.delay, s2.max_gap_minutes)
    assert d1.split == d2.split and d1.splits == d2.splits and d1.target_col == d2.target_col == 1
    for split in ("train", "val", "test"):
        assert np.array_equal(d1.rows[split], d2.rows[split]) and len(d1.rows[split]) > 0
    assert np.array_equal(d1.series, d2.series)
    assert np.array_equal(d1.normalizer.mean, d2.normalizer.mean)

    metrics = {}
    for model, path in (("jena_conv", jena), ("jena_conv@roof2024", roof)):
        settings = resolve_settings(model, "smoke", same)
        run_dir = tmp_path / model
        train_model(settings, path.parent.parent, run_dir, "r1")
        metrics[model] = evaluate_model(run_dir, path.parent.parent, run_dir)
    a, b = metrics["jena_conv"], metrics["jena_conv@roof2024"]
    print("equality figures:", {m: (v["validation"], v["test"]) for m, v in metrics.items()})
    assert a["validation"] == b["validation"] and a["test"] == b["test"]
    assert a["baselines"] == b["baselines"]
