"""The train stage on its own: what a run folder holds after training, resuming a finished run, the statistics."""

from __future__ import annotations

import json
import os
import socket

import numpy as np
import pytest

from tasks.core import runs
from tasks.core.errors import SettingsError
from tasks.core.profiles import resolve_settings
from tasks.ingest import read_jena
from tasks.model.kinds import settings_for_data
from tasks.model.train import keep_history, time_left, train_model
from tasks.model.splits import split_rows
from tests.support.published import publish_jena

pytestmark = pytest.mark.unit
TINY = {"lookback": "132", "step": "6", "delay": "12", "epochs": "2", "steps_per_epoch": "2", "batch_size": "16",
        "validation_steps": "1"}  # 22 timesteps: the least the Jena convnets take


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("train")
    publish_jena(base / "data")
    settings = resolve_settings("jena_conv", "smoke", TINY)
    run_dir = base / "runs" / "r1" / "jena_conv"
    training = train_model(settings, base / "data", run_dir, "r1")
    return settings, base, run_dir, training


def test_training_writes_only_what_it_measured(trained):
    settings, base, run_dir, training = trained
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "data_profile.json", "data_version.json", "history.csv", "model.keras", "normalization.json", "settings.json",
        "training.json"]
    assert json.loads((run_dir / "training.json").read_text()) == training
    assert training["epochs_run"] == 2 and training["run_id"] == "r1" and training["profile"] == "smoke"
    assert 1 <= training["best_epoch"] <= 2 and training["monitor"] == "val_loss"
    # the settings as applied to the data: the split "auto" resolved (tests/unit/test_split.py)
    assert runs.read_settings(run_dir) == settings_for_data(base / "data" / "processed" / "jena", settings)
    assert training["ran_on"]["pid"] == os.getpid() and training["ran_on"]["host"] == socket.gethostname()
    assert training["ran_on"]["cuda_visible_devices"] == os.environ.get("CUDA_VISIBLE_DEVICES")


def test_normalization_comes_from_the_training_rows_only(trained):
    _, base, run_dir, _ = trained
    seconds, features = read_jena(base / "data" / "processed" / "jena" / "jena.parquet")
    first, last = split_rows(len(seconds))["train"]
    stats = json.loads((run_dir / "normalization.json").read_text())
    train = features[first: last + 1].astype(np.float64)
    np.testing.assert_allclose(stats["mean"], train.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats["std"], train.std(axis=0), rtol=1e-12)
    assert not np.allclose(stats["mean"], features.astype(np.float64).mean(axis=0), rtol=1e-6)
    assert (stats["lookback"], stats["step"], stats["delay"], stats["target"]) == (132, 6, 12, "T (degC)")
    assert (stats["split"], stats["block_days"], stats["block_pattern"]) == ("contiguous", 28, "train,train,val,test")


def test_the_data_profile_describes_the_raw_training_rows(trained):
    _, base, run_dir, _ = trained
    seconds, features = read_jena(base / "data" / "processed" / "jena" / "jena.parquet")
    first, last = split_rows(len(seconds))["train"]
    profile = json.loads((run_dir / runs.DATA_PROFILE).read_text())
    assert profile["dataset"] == "jena" and profile["rows"] == last - first + 1
    assert profile["months"] == ["2024-01"]
    temperature = profile["features"]["T (degC)"]
    train_t = features[first: last + 1, 1].astype(np.float64)  # raw °C, not the normalized series
    assert temperature["mean"] == pytest.approx(train_t.mean(), rel=1e-9)
    assert temperature["partition"]["bins"][0] == pytest.approx(train_t.min())
    assert temperature["partition"]["bins"][-1] == pytest.approx(train_t.max())


def test_a_finished_run_is_returned_as_it_is_not_trained_again(trained):
    settings, base, run_dir, training = trained
    before = (run_dir / "model.keras").stat().st_mtime_ns
    assert train_model(settings, base / "data", run_dir, "r1") == training
    assert (run_dir / "model.keras").stat().st_mtime_ns == before


def test_missing_data_fails_before_anything_is_written(tmp_path):
    from tasks.core.errors import SettingsError

    with pytest.raises(SettingsError, match="no jena dataset"):
        train_model(resolve_settings("jena_conv", "smoke", TINY), tmp_path / "nothing", tmp_path / "run", "x")
    assert not (tmp_path / "run").exists()


def test_time_left_and_history_cut(tmp_path):
    assert time_left([2.0, 4.0], 2, 10) == pytest.approx(24.0) and time_left([], 0, 3) == 0.0
    history = tmp_path / "history.csv"
    history.write_text("epoch,loss\n0,0.5\n1,0.4\n2,0.3\n3,0.2")  # the last row torn by a kill
    keep_history(history, 2)
    assert history.read_text() == "epoch,loss\n0,0.5\n1,0.4\n"


def test_the_kept_model_is_the_one_validation_judged_best_with_or_without_weight_averaging(tmp_path):
    """With weight averaging on, validation judges the averaged weights and the run keeps them (not the raw
    weights of the same epoch); without it, the raw weights of the best epoch. Training itself is the same."""
    import csv

    import keras

    from tasks.model.dataset import dataset_path
    from tasks.model.series import jena_dataset, prepare_jena

    publish_jena(tmp_path / "data")
    history = {}
    for averaging in ("0", "0.9"):
        settings = resolve_settings("jena_conv", "smoke", {**TINY, "epochs": "3", "weight_averaging": averaging})
        run_dir = tmp_path / averaging / "jena_conv"
        training = train_model(settings, tmp_path / "data", run_dir, "r1")
        with open(run_dir / "history.csv") as f:
            history[averaging] = list(csv.DictReader(f))
        model = keras.models.load_model(run_dir / "model.keras")
        assert bool(model.optimizer.use_ema) == (averaging != "0")
        _, val = jena_dataset(prepare_jena(dataset_path(tmp_path / "data", "jena"), settings), "val", settings,
                              shuffle=False, limit_batches=settings.validation_steps)
        judged = float(history[averaging][training["best_epoch"] - 1]["val_loss"])
        assert model.evaluate(val, verbose=0) == pytest.approx(judged, rel=1e-5)
    plain, averaged = history["0"], history["0.9"]
    loss = {k: [float(r["loss"]) for r in rows] for k, rows in history.items()}
    assert loss["0"] == pytest.approx(loss["0.9"], rel=1e-5), "the average never feeds back into training"
    val = {k: [float(r["val_loss"]) for r in rows] for k, rows in history.items()}
    assert val["0"] != pytest.approx(val["0.9"], rel=1e-3), "validation saw the average"


def test_a_run_reads_the_version_published_when_it_started(tmp_path):
    from tasks.core.atomic import point_link
    from tasks.model.dataset import dataset_path

    processed = tmp_path / "data" / "processed"
    first, second = processed / ".versions" / "jena-1", processed / ".versions" / "jena-2"
    for version in (first, second):
        version.mkdir(parents=True)
        (version / "jena.parquet").write_bytes(b"")
    point_link(first, processed / "jena")
    path = dataset_path(tmp_path / "data", "jena")
    assert path == first.resolve()
    point_link(second, processed / "jena")  # published while the run reads `path`: it stays on its version
    assert path == first.resolve() and dataset_path(tmp_path / "data", "jena") == second.resolve()
    with pytest.raises(SettingsError, match="no imdb dataset at"):
        dataset_path(tmp_path / "data", "imdb")
