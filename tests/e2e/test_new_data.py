"""When new data arrives (docs/retraining.md, "When new data arrives"), end to end on real data and the real service.

The Jena station's January-May file (`mpi_roof_2024a.csv`) is published and `train-all` runs through the deployment
on a real Prefect server with its cpu and gpu workers; its run becomes the champion (through the registry's own API
when a smoke-trained model is not blessed). Then the June-October file arrives and the same deployment runs again:
the drift report flags the season's features, the champion is judged again on the new splits, the challenger is
trained and compared with it on the same windows, and the decision is reported. The second run retrains under
`on_decay`: during its ingestion the champion is scored on the summer windows it never saw (tasks.judge.new_data),
the record lands in its registry entry's history, the server receives the `seqconv.champion.*` event, and the
retraining decision follows the record.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.service import SERVICE, backend, running_service

pytestmark = pytest.mark.e2e
MODEL = "jena_conv_gru"
SPRING, SUMMER = "mpi_roof_2024a.csv", "mpi_roof_2024b.csv"


@pytest.fixture(scope="module")
def service(shared_datasets, tmp_path_factory):
    """The service with the real mirror; its workers' default station files are the two of 2024."""
    with running_service(backend(), shared_datasets, tmp_path_factory.mktemp("new-data"),
                         SEQCONV_JENA_FILES=f"{SPRING} {SUMMER}") as running:
        yield running


def train_all(service: dict, **parameters) -> tuple[str, float]:
    """`prefect deployment run train-all/train-all --watch` with these parameters; its run id and wall seconds."""
    base = service["base"]
    params = dict(profile="smoke", models=[MODEL], data_dir=str(base / "data"), artifacts_dir=str(base / "artifacts"),
                  **parameters)
    runs_before = set((base / "artifacts" / "runs").glob("*"))
    started = time.perf_counter()
    run = subprocess.run(["bash", str(SERVICE), "run", "train-all/train-all", "--params", json.dumps(params)],
                         env=service["env"], capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - started
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    new = sorted(set((base / "artifacts" / "runs").glob("*")) - runs_before)
    assert len(new) == 1, new
    return new[0].name, seconds


def test_new_station_data_is_reported_as_drift_and_the_champion_is_judged_on_it(service):
    base = service["base"]
    data, artifacts = base / "data", base / "artifacts"
    registry = artifacts / "registry"

    # Spring: the first publication has nothing to compare with; its run becomes the champion.
    first, _ = train_all(service, jena_files=[SPRING])
    first_drift = json.loads((data / "validation" / "jena.drift.json").read_text())
    assert first_drift["reference"]["kind"] == "none" and first_drift["flagged"] == []
    first_dir = artifacts / "runs" / first / MODEL
    if not (registry / f"{MODEL}.json").is_file():  # two smoke epochs rarely beat persistence: record it anyway
        from tasks.judge.registry import promote

        promote(registry, MODEL, json.loads((first_dir / "metrics.json").read_text()), first_dir)
    champion = json.loads((registry / f"{MODEL}.json").read_text())
    assert champion["run_id"] == first
    own = json.loads((first_dir / "metrics.json").read_text())
    assert set(own["splits"]["val"]["months"]) <= {"2024-01", "2024-02", "2024-03", "2024-04", "2024-05"}

    # Summer arrives: the scheduled deployment runs again with its workers' files, both halves of 2024.
    second, seconds = train_all(service, retrain="on_decay")
    print(f"second train-all run (new data, drift, champion judged again, challenger trained): {seconds:.0f} s")

    drift = json.loads((data / "validation" / "jena.drift.json").read_text())
    assert drift["reference"]["kind"] == "champion"
    assert (drift["reference"]["model"], drift["reference"]["run"]) == (MODEL, first)
    assert drift["reference"]["months"][-1] <= "2024-05" and drift["new"]["months"][-1] == "2024-10"
    kl = {f["name"]: f["kl"] for f in drift["features"]}
    print("drift, most moved first:", [(f["name"], round(f["kl"], 3)) for f in drift["features"][:6]])
    assert [f["kl"] for f in drift["features"]] == sorted(kl.values(), reverse=True)
    # Temperature and the features that follow it (moisture, saturation pressure) moved most; the wind least.
    seasonal = {"T (degC)", "Tpot (K)", "Tdew (degC)", "VPmax (mbar)", "VPact (mbar)", "sh (g/kg)", "H2OC (mmol/mol)"}
    assert {f["name"] for f in drift["features"][:5]} <= seasonal and "T (degC)" in drift["flagged"]
    # Flagged above 0.1 (tasks.ingest.drift): the target moved (KL 0.35 on the default blocked split, where the
    # champion trained on January-February and April-May; 2.2 on the contiguous split's January-March), wind not.
    assert kl["T (degC)"] > 0.1 > kl["wv (m/s)"] and "wv (m/s)" not in drift["flagged"]

    # The champion judged again on the new version, on the very windows the challenger is judged on.
    again = json.loads((artifacts / "evaluations" / f"{second}-champion" / MODEL / "metrics.json").read_text())
    challenger = json.loads((artifacts / "runs" / second / MODEL / "metrics.json").read_text())
    assert again["data"]["sha256"] == challenger["data"]["sha256"] != own["data"]["sha256"]
    for split in ("validation", "test"):
        assert again[split]["windows"] == challenger[split]["windows"]
    for split in ("val", "test"):  # persistence on the same windows: the same error in °C for both (the mean
        # baseline differs by design: each forecasts its own training rows' mean)
        assert again["baselines"]["persistence"][split]["mae_celsius"] == pytest.approx(
            challenger["baselines"]["persistence"][split]["mae_celsius"], rel=1e-6)
    # The new months are judged (on the blocked split October falls in validation; on contiguous, in test).
    assert "2024-10" in challenger["splits"]["val"]["months"] + challenger["splits"]["test"]["months"]

    report = (artifacts / "runs" / second / "report.md").read_text()
    section = report[report.index(f"## {MODEL}"):]
    assert (f"Champion {first} trained on other data: val MAE (°C) {own['validation']['mae_celsius']:.4g} on its "
            f"own data, {again['validation']['mae_celsius']:.4g} judged again on this run's data") in section
    promoted = json.loads((registry / f"{MODEL}.json").read_text())["run_id"] == second
    assert f"**Promoted: {'yes' if promoted else 'no'}.**" in section, section  # the decision, with its reason
    assert "Data drift: jena" in report and "T (degC)" in report[report.index("Data drift: jena"):]

    # The champion on the summer rows it never saw: in the registry's history (kept when a challenger replaces
    # it), in the report beside the decision that followed it, and as an event on the server.
    history = json.loads((registry / f"{MODEL}.json").read_text())["new_data"]
    (record,) = [r for r in history if r["champion_run_id"] == first]
    assert record["version"] == drift["new"]["version"] and record["rows_from"] >= "2024-06"
    assert record["windows"] > 10_000 and record["baseline"] == "persistence"
    print(f"the champion on the new rows: {record['reason']}")
    if record["beats"]:
        assert f"**Not retrained:** champion {first} still beats its baseline: {record['reason']}" in section
    else:
        assert f"**Retrained:** champion {first} decayed: {record['reason']}." in section
    assert "Retraining policy `on_decay`." in report
    new_data = report[report.index(f"## Champion on new data: {MODEL}"):]
    assert record["version"] in new_data and f"{record['ratio']:.3f}" in new_data
    assert (artifacts / "runs" / second / f"new-data-{MODEL}.png").is_file()
    event = wait_for_event(service, record)
    assert event["event"] == ("seqconv.champion.holds" if record["beats"] else "seqconv.champion.decayed")
    assert event["resource"]["seqconv.champion"] == first
    assert event["payload"]["ratio"] == pytest.approx(record["ratio"])

    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with SyncPrefectClient(f"http://127.0.0.1:{service['port']}/api") as client:
        keys = ["drift-jena", "train-all-report", "champion-new-data-jena-conv-gru"]
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)))
        assert {a.key for a in found} == set(keys)
        latest_drift = max((a for a in found if a.key == "drift-jena"), key=lambda a: a.created)
        assert describe(first) in latest_drift.data
        assert "Forecast target T (degC): KL divergence" in latest_drift.data


def wait_for_event(service: dict, record: dict, timeout: float = 60) -> dict:
    """The `seqconv.champion.*` event about MODEL and the record's version, read back from the server's events API
    (the server stores events a few seconds after it receives them)."""
    import httpx

    body = {"filter": {"event": {"prefix": ["seqconv.champion."]},
                       "resource": {"id": [f"seqconv.model.{MODEL}"]}}, "limit": 50}
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.post(f"http://127.0.0.1:{service['port']}/api/events/filter", json=body, timeout=10)
        response.raise_for_status()
        found = [e for e in response.json()["events"] if e["payload"].get("version") == record["version"]]
        if found or time.monotonic() > deadline:
            assert len(found) == 1, response.json()
            return found[0]
        time.sleep(2)


def describe(run_id: str) -> str:
    """How the drift artifact names a champion reference (tasks.ingest.drift_markdown.describe_reference)."""
    return f"champion {MODEL} run {run_id}"
