"""Drift (tasks.ingest.drift): profiles, the Great Expectations checks, the reference, and a report that never fails."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasks.ingest import data_profiles, drift, series_drift

from tasks.core import runs
from tasks.core.atomic import point_link
from tasks.core.sources import JENA_FEATURES
from tasks.ingest.imdb_reviews import imdb_table
from tasks.ingest.provenance import write_parquet
from tasks.judge.registry import make_entry, registry_path
from tests.support.fixtures import synthetic_weather

pytestmark = pytest.mark.unit
WINTER_ROWS = 4_000  # 28 days of 10-minute rows from 1 January


def weather(rows: int, skip: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(seconds, features) of synthetic weather from 2024-01-01, leaving out the first `skip` rows: skip 26,000
    (about six months) and the same daily cycle lands in July, with the yearly cycle's summer temperatures."""
    frame = synthetic_weather("2024-01-01 00:10:00", rows + skip, seed=1).iloc[skip:]
    stamps = pd.to_datetime(frame["Date Time"], format="%d.%m.%Y %H:%M:%S").to_numpy().astype("datetime64[s]")
    return stamps.astype(np.int64), frame[list(JENA_FEATURES)].to_numpy(dtype=np.float64)


def jena_frame(seconds: np.ndarray, features: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(features, columns=list(JENA_FEATURES))
    frame["timestamp"] = seconds
    return frame


@pytest.fixture(scope="module")
def winter_profile() -> dict:
    return data_profiles.jena_profile(*weather(WINTER_ROWS), stamped="end")


def test_a_partition_is_one_gx_accepts_and_covers_the_tails(winter_profile):
    from great_expectations.execution_engine.util import is_valid_partition_object

    p = winter_profile["features"]["T (degC)"]["partition"]
    assert is_valid_partition_object(p) and len(p["bins"]) == data_profiles.PROFILE_BINS + 1
    assert min(p["weights"]) > 0 and min(p["tail_weights"]) > 0  # no region with zero expected mass
    assert json.loads(json.dumps(winter_profile)) == winter_profile  # JSON-able as it is


def test_a_shifted_season_is_flagged_and_ranked_first_and_the_wind_is_not(winter_profile):
    seconds, features = weather(WINTER_ROWS, skip=26_000)  # July: the same wind, summer temperatures
    report = drift.drift_report(winter_profile, jena_frame(seconds, features), "jena",
                                reference={"kind": "previous_version"}, new_info={"version": "jena-new"})
    by_name = {f["name"]: f for f in report["features"]}
    assert report["features"][0]["kl"] >= by_name["T (degC)"]["kl"] > series_drift.KL_THRESHOLD  # among the most moved
    assert by_name["T (degC)"]["flagged"] and "T (degC)" in report["flagged"]
    assert report["features"][0]["name"] in {"T (degC)", "Tpot (K)", "Tdew (degC)", "VPmax (mbar)", "VPact (mbar)",
                                              "sh (g/kg)", "H2OC (mmol/mol)", "rho (g/m**3)"}
    assert not by_name["wv (m/s)"]["flagged"] and by_name["wv (m/s)"]["kl"] < series_drift.KL_THRESHOLD
    assert by_name["T (degC)"]["new"]["mean"] > by_name["T (degC)"]["reference"]["mean"] + 10
    kls = [f["kl"] for f in report["features"]]
    assert kls == sorted(kls, reverse=True)
    assert len(by_name["T (degC)"]["new"]["weights"]) == data_profiles.PROFILE_BINS  # the plot needs no data
    assert report["reference"]["months"] == ["2024-01"] and report["new"]["months"] == ["2024-06", "2024-07"]
    assert report["reference"]["rows"] == report["new"]["rows"] == WINTER_ROWS


def test_the_same_season_again_flags_nothing(winter_profile):
    seconds, features = weather(WINTER_ROWS)
    report = drift.drift_report(winter_profile, jena_frame(seconds, features + 0.01), "jena")
    assert report["flagged"] == [] and max(f["kl"] for f in report["features"]) < 0.02


def test_a_profile_counts_its_months_as_the_record_is_stamped():
    seconds = np.array(["2024-01-31T23:50", "2024-02-01T00:00", "2024-05-05T12:00"], dtype="datetime64[s]")
    seconds = seconds.astype(np.int64)
    features = np.ones((3, len(JENA_FEATURES)))
    assert data_profiles.jena_profile(seconds, features, stamped="start")["months"] == ["2024-01", "2024-02", "2024-05"]
    assert data_profiles.jena_profile(seconds, features, stamped="end")["months"] == ["2024-01", "2024-05"]


def publish_reviews(data_dir: Path, reviews: list[list[int]], labels: list[int]) -> Path:
    """A published IMDB version whose train and test splits hold exactly these reviews (raw ranks)."""
    folder = data_dir / "processed" / "imdb"
    folder.mkdir(parents=True, exist_ok=True)
    lengths = np.array([len(r) for r in reviews], dtype=np.int64)
    flat = np.concatenate([np.asarray(r, dtype=np.int64) for r in reviews])
    for split in ("train", "test"):
        write_parquet(imdb_table(flat, lengths, np.asarray(labels, dtype=np.int64), split),
                      folder / f"{split}.parquet", {"sources": [], "rows": len(reviews)})
    return folder


def test_imdb_lengths_labels_and_words_outside_the_vocabulary(tmp_path):
    # Ranks from 9,997 up are outside the 10,000-word vocabulary (id = rank + 3 >= 10,000).
    old = publish_reviews(tmp_path / "old", [[1, 2, 3, 4]] * 30 + [[5, 6, 9996, 9997, 12000, 7, 8, 9]] * 10,
                          [1, 0] * 20)
    profile = drift.profile_version(old, "imdb")
    assert profile["rows"] == 40 and profile["positive_share"] == 0.5
    assert profile["length"]["quantiles"]["50"] == 4 and profile["length"]["quantiles"]["95"] == 8
    assert profile["oov_token_share"] == pytest.approx(20 / (30 * 4 + 10 * 8))
    assert profile["oov_share"] == pytest.approx(10 * (2 / 8) / 40)  # mean over reviews

    new = publish_reviews(tmp_path / "new", [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]] * 30 + [[9999] * 10] * 10,
                          [1] * 30 + [0] * 10)
    report = drift.drift_report(profile, drift.new_frame(new, "imdb"), "imdb")
    by_name = {f["name"]: f for f in report["features"]}
    assert set(report["flagged"]) == {"review length", "positive share", "out-of-vocabulary share"}
    assert by_name["positive share"]["new"]["mean"] == 0.75
    assert by_name["out-of-vocabulary share"]["new"]["mean"] == 0.25
    assert by_name["review length"]["new"]["quantiles"]["50"] == 10

    same = drift.drift_report(profile, drift.new_frame(old, "imdb"), "imdb")
    assert same["flagged"] == [] and all(f["change"] == 0 for f in same["features"])


def test_a_run_folders_imdb_profile_matches_the_raw_reviews():
    from tasks.model.encoding import offset_reviews

    reviews = [np.array([1, 2, 9997, 40]), np.array([5, 12000])]
    encoded = offset_reviews(reviews, 10_000)
    from_ids = data_profiles.imdb_training_profile(encoded, np.array([1.0, 0.0]), 10_000)
    lengths = np.array([4, 2])
    from_ranks = data_profiles.imdb_profile(np.concatenate(reviews), lengths, np.array([1, 0]), 10_000)
    assert from_ids == from_ranks and from_ids["oov_token_share"] == pytest.approx(2 / 6)


def publish_version(data_dir: Path, name: str, seconds: np.ndarray, features: np.ndarray) -> Path:
    """A Jena version under processed/.versions, not yet published (as normalize leaves it)."""
    from tasks.ingest.jena_weather import jena_arrow

    table = pd.DataFrame({"timestamp": seconds.astype("datetime64[s]")})
    for i, column in enumerate(JENA_FEATURES):
        table[column] = features[:, i].astype(np.float32)
    version = data_dir / "processed" / ".versions" / name
    version.mkdir(parents=True)
    write_parquet(jena_arrow(table), version / "jena.parquet", {"sources": [], "rows": len(table)})
    return version


def test_the_report_against_the_previous_version_then_the_champion(tmp_path):
    data, artifacts = tmp_path / "data", tmp_path / "artifacts"
    winter = publish_version(data, "jena-winter", *weather(WINTER_ROWS))
    summer = publish_version(data, "jena-summer", *weather(WINTER_ROWS, skip=26_000))
    validation = data / "validation"

    assert drift.report_drift.fn(winter, data / "processed", "jena", artifacts, validation)  # first: nothing
    first = json.loads((validation / "jena.drift.json").read_text())
    assert first["reference"] == {"kind": "none"} and first["flagged"] == [] and first["new"]["rows"] == WINTER_ROWS
    point_link(winter, data / "processed" / "jena")
    assert drift.report_drift.fn(winter, data / "processed", "jena", artifacts, validation) is None  # unchanged

    path = Path(drift.report_drift.fn(summer, data / "processed", "jena", artifacts, validation))
    report = json.loads(path.read_text())
    assert report["reference"]["kind"] == "previous_version" and report["reference"]["version"] == "jena-winter"
    assert "T (degC)" in report["flagged"] and report["new"]["version"] == "jena-summer"
    assert not [p for p in os.listdir(validation) if p.endswith(".tmp")]  # written whole, by rename

    # A champion whose run folder holds the profile of its (summer) training rows: the reference from now on.
    run_dir = artifacts / "runs" / "r1" / "jena_conv"
    run_dir.mkdir(parents=True)
    (run_dir / runs.MODEL).write_bytes(b"")
    (run_dir / runs.DATA_PROFILE).write_text(json.dumps(drift.profile_version(summer, "jena")))
    entry = make_entry("jena_conv", {"model": "jena_conv", "run_id": "r1", "validation": {"mae": 0.3}}, run_dir, None)
    registry_path(artifacts / "registry", "jena_conv").parent.mkdir(parents=True)
    registry_path(artifacts / "registry", "jena_conv").write_text(json.dumps(entry))
    report = json.loads(Path(drift.report_drift.fn(summer, data / "processed", "jena", artifacts,
                                                   validation)).read_text())
    assert report["reference"]["kind"] == "champion" and report["reference"]["run"] == "r1"
    assert report["flagged"] == []  # the champion trained on this very data


def test_a_broken_reference_gives_a_report_that_says_why(tmp_path):
    data = tmp_path / "data"
    broken = publish_version(data, "jena-old", *weather(WINTER_ROWS))
    (broken / "jena.parquet").write_bytes(b"not parquet")
    point_link(broken, data / "processed" / "jena")
    new = publish_version(data, "jena-new", *weather(WINTER_ROWS, skip=26_000))
    path = drift.report_drift.fn(new, data / "processed", "jena", tmp_path / "artifacts", data / "validation")
    report = json.loads(Path(path).read_text())
    assert report["error"] and "parquet" in report["error"].lower()
    assert report["flagged"] == [] and report["new"]["version"] == "jena-new"
    assert "Not computed" in drift.drift_markdown(report)


@pytest.fixture
def tickets_reference(tmp_path):
    """The profile of a three-label version (a third each): drift's reference of a user's texts."""
    from tasks.core.datasets import user_spec
    from tests.support.published import publish_texts
    from tests.support.text_corpus import corpus, write_spec

    user_spec(write_spec(tmp_path, "tickets_drift", "tickets.csv"))
    old = publish_texts(tmp_path / "old", "tickets_drift", corpus(300, labels=3))
    return drift.profile_version(old, "tickets_drift")


def test_a_user_texts_label_distribution_is_compared_by_name_not_by_mean_label_number(tmp_path, tickets_reference):
    from tasks.ingest.drift_markdown import drift_markdown
    from tests.support.published import publish_texts
    from tests.support.text_corpus import corpus

    assert tickets_reference["dataset"] == "tickets_drift"
    assert tickets_reference["label_shares"] == pytest.approx({"billing": 1 / 3, "bug": 1 / 3, "praise": 1 / 3})
    # bug falls from a third to a tenth, billing and praise share the rest: the mean label number (billing 0, bug
    # 1, praise 2) stays 1, what the old check compared; the distribution moved by a quarter of the texts
    rows = corpus(900, labels=3)
    shifted = [r for r in rows if r[1] == "billing"][:135] + [r for r in rows if r[1] == "bug"][:30] + \
        [r for r in rows if r[1] == "praise"][:135]
    new = drift.new_frame(publish_texts(tmp_path / "shifted", "tickets_drift", shifted), "tickets_drift")
    assert new["label"].mean() == pytest.approx(1.0)
    report = drift.drift_report(tickets_reference, new, "tickets_drift")
    shares = {f["name"]: f for f in report["features"]}["label shares"]
    assert "label shares" in report["flagged"] and "positive share" not in {f["name"] for f in report["features"]}
    assert shares["change"] == pytest.approx(1 / 3 - 21 / 209)  # total variation: bug's loss, the others' gain
    assert [m["label"] for m in shares["moved"]][0] == "bug" and len(shares["moved"]) == 3
    assert shares["moved"][0]["change"] == pytest.approx(21 / 209 - 1 / 3)
    assert "Labels that moved: bug 33.3% -> 10.0%; " in drift_markdown(report)

    unchanged = publish_texts(tmp_path / "again", "tickets_drift", corpus(300, labels=3, seed=7))
    same = drift.drift_report(tickets_reference, drift.new_frame(unchanged, "tickets_drift"), "tickets_drift")
    label = {f["name"]: f for f in same["features"]}["label shares"]
    assert not label["flagged"] and label["change"] == pytest.approx(0) and label["moved"] == []
    assert "label shares" not in same["flagged"]


def test_a_label_new_to_the_data_is_compared_by_name(tmp_path, tickets_reference):
    from tests.support.published import publish_texts
    from tests.support.text_corpus import corpus

    four = publish_texts(tmp_path / "four", "tickets_drift", corpus(400, labels=4))  # shipping is label 3
    report = drift.drift_report(tickets_reference, drift.new_frame(four, "tickets_drift"), "tickets_drift")
    shares = {f["name"]: f for f in report["features"]}["label shares"]
    assert shares["flagged"] and shares["change"] == pytest.approx(0.25)
    assert shares["moved"][0] == {"label": "shipping", "reference": 0.0, "new": pytest.approx(0.25),
                                  "change": pytest.approx(0.25)}
    assert list(shares["new"]["shares"]) == ["billing", "bug", "praise", "shipping"]


def test_a_shift_spread_thin_over_many_labels_names_its_largest_gain_and_loss():
    reference = {f"l{i}": 0.1 for i in range(10)}
    changes = [0.006, 0.005, 0.005, 0.004, 0.004, -0.006, -0.005, -0.005, -0.004, -0.004]  # none >= 0.01
    feature = drift.text_drift.label_drift(reference, {f"l{i}": 0.1 + c for i, c in enumerate(changes)})
    assert feature["flagged"] and feature["change"] == pytest.approx(0.024)
    assert {m["label"] for m in feature["moved"]} == {"l0", "l5"}
    calm = drift.text_drift.label_drift(reference, {f"l{i}": 0.1 + c / 2 for i, c in enumerate(changes)})
    assert not calm["flagged"] and calm["moved"] == []
