"""Training end to end on fixture data: every model's outputs, resume after a kill, bad settings, determinism."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tasks.judge import evaluate
from tasks.model.checkpoint import latest_snapshot
from tasks.core.profiles import resolve_settings
from tasks.judge.evaluate import evaluate_model
from tasks.publish.figures import plot_evaluation
from tasks.model.train import train_model

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
COMMON_OUTPUTS = ["model.keras", "history.csv", "training.json", "metrics.json", "evaluation.npz", "settings.json",
                  "curves.png"]
OUTPUTS = {
    "imdb_conv": COMMON_OUTPUTS + ["roc.png", "confusion.png"],
    "jena_conv": COMMON_OUTPUTS + ["normalization.json", "predictions.png"],
    "jena_conv_gru": COMMON_OUTPUTS + ["normalization.json", "predictions.png"],
    "jena_conv_gru_fast": COMMON_OUTPUTS + ["normalization.json", "predictions.png"],
}


def train_and_judge(settings, data_dir: Path, run_dir: Path, run_id: str) -> dict:
    """The three stages of flows.train in order, without Prefect: train, evaluate, plot."""
    train_model(settings, data_dir, run_dir, run_id)
    metrics = evaluate_model(run_dir, data_dir, run_dir)
    plot_evaluation(run_dir)
    return metrics


def _cli_module(module: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600, **kwargs)


def _cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return _cli_module("flows.train", *args, **kwargs)


@pytest.mark.parametrize("model", ["imdb_conv", "jena_conv", "jena_conv_gru", "jena_conv_gru_fast"])
def test_smoke_training_writes_every_output(model, ingested_data, tmp_path):
    settings = resolve_settings(model, "smoke", {"tensorboard": "true"})
    run_dir = tmp_path / "runs" / "r1" / model
    metrics = train_and_judge(settings, ingested_data, run_dir, "r1")

    for name in OUTPUTS[model]:
        assert (run_dir / name).is_file(), f"{name} missing from {run_dir}"
    assert not (run_dir / "backup").exists(), "the resume snapshot must go once the run is complete"
    assert list((run_dir / "tensorboard").rglob("events.out.tfevents.*")), "no TensorBoard logs"
    on_disk = json.loads((run_dir / "metrics.json").read_text())
    assert on_disk == json.loads(json.dumps(metrics, default=str))
    assert on_disk["model"] == model and on_disk["profile"] == "smoke" and on_disk["settings"]["profile"] == "smoke"
    training = json.loads((run_dir / "training.json").read_text())
    assert {k: on_disk[k] for k in training if k != "data"} == {k: v for k, v in training.items() if k != "data"}
    assert on_disk["epochs_run"] == settings.epochs and 1 <= on_disk["best_epoch"] <= settings.epochs
    assert on_disk["device"].startswith("CPU")
    assert on_disk["data"]["sources"] and all(len(s["sha256"]) == 64 for s in on_disk["data"]["sources"])
    assert on_disk["versions"]["tensorflow"].startswith("2.21")
    assert isinstance(on_disk["blessed"], bool) and on_disk["blessing"]["reason"]
    assert on_disk["training_seconds"] > 0 and on_disk["seconds_per_epoch"] > 0
    if model == "imdb_conv":
        assert set(on_disk["baselines"]) == {"majority", "bag_of_words"}
        assert 0 <= on_disk["test"]["accuracy"] <= 1 and 0 <= on_disk["test"]["roc_auc"] <= 1
    else:
        assert set(on_disk["baselines"]) == {"persistence", "mean"}
        for split in ("val", "test"):
            assert on_disk["baselines"]["persistence"][split]["windows"] == on_disk[
                "validation" if split == "val" else "test"]["windows"]
        normalization = json.loads((run_dir / "normalization.json").read_text())
        assert normalization["target"] == "T (degC)" and len(normalization["mean"]) == 14
        std_t = normalization["std"][normalization["target_col"]]
        assert on_disk["test"]["mae_celsius"] == pytest.approx(on_disk["test"]["mae"] * std_t, rel=1e-6)
    with open(run_dir / "history.csv") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == list(range(settings.epochs))


def test_same_settings_same_machine_same_metrics(ingested_data, tmp_path):
    settings = resolve_settings("jena_conv", "smoke")
    first = train_and_judge(settings, ingested_data, tmp_path / "a", "a")
    second = train_and_judge(settings, ingested_data, tmp_path / "b", "b")
    assert first["validation"] == second["validation"] and first["test"] == second["test"]


def test_killed_run_resumes_from_its_last_epoch(ingested_data, tmp_path):
    args = ["--model", "jena_conv", "--profile", "smoke", "--data-dir", str(ingested_data),
            "--artifacts-dir", str(tmp_path), "--run-id", "killed",
            "--set", "epochs=8", "--set", "steps_per_epoch=40"]
    history = tmp_path / "runs" / "killed" / "jena_conv" / "history.csv"
    proc = subprocess.Popen([sys.executable, "-m", "flows.train", *args], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            if history.is_file() and len(history.read_text().splitlines()) >= 3:  # header + 2 epochs
                break
            time.sleep(0.2)
        assert proc.poll() is None, "training ended before it could be interrupted"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole group: the CLI and its temporary Prefect server
        proc.wait()
    assert not (history.parent / "metrics.json").exists()
    snapshot = latest_snapshot(history.parent / "backup")
    assert snapshot is not None and snapshot.epochs_done >= 1
    # Make sure the rerun meets the worst a kill can leave: a snapshot torn mid-write, a history row cut short.
    torn = history.parent / "backup" / f".epoch-{snapshot.epochs_done + 1:04d}.99999"
    torn.mkdir()
    (torn / "state.weights.h5").write_bytes(snapshot.state_weights.read_bytes()[:1000])
    with open(history, "a") as f:
        f.write(f"{snapshot.epochs_done},0.41")

    result = _cli(*args)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((history.parent / "metrics.json").read_text())
    assert metrics["resumed_from_epoch"] == snapshot.epochs_done
    assert metrics["epochs_run"] == 8
    assert not (history.parent / "backup").exists()
    with open(history) as f:
        epochs = sorted({int(r["epoch"]) for r in csv.DictReader(f)})
    assert epochs == list(range(8))
    assert "epoch 1/8" not in result.stdout + result.stderr, "the resumed run must not start over at epoch 1"


def test_a_run_killed_while_evaluating_resumes_without_training_again(ingested_data, tmp_path, monkeypatch):
    settings = resolve_settings("jena_conv", "smoke")
    straight = train_and_judge(settings, ingested_data, tmp_path / "straight", "s")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed while evaluating")

    resumed_dir = tmp_path / "resumed"
    with monkeypatch.context() as m:
        m.setitem(evaluate.EVALUATORS, "series", killed)
        with pytest.raises(KeyboardInterrupt):
            train_and_judge(settings, ingested_data, resumed_dir, "r")
    trained = (resumed_dir / "training.json").read_text()
    assert not (resumed_dir / "metrics.json").exists() and not (resumed_dir / "backup").exists()

    resumed = train_and_judge(settings, ingested_data, resumed_dir, "r")
    assert (resumed_dir / "training.json").read_text() == trained, "a finished training must not run again"
    assert resumed["best_epoch"] == straight["best_epoch"]
    assert resumed["validation"] == straight["validation"] and resumed["test"] == straight["test"]


def test_a_saved_model_judged_again_reproduces_its_run_and_leaves_it_untouched(ingested_data, tmp_path):
    """flows.evaluate on a finished run: the same data gives the training run's metrics exactly, into a new folder."""
    for model in ("imdb_conv", "jena_conv_gru"):
        run_dir = tmp_path / "runs" / "r1" / model
        original = train_and_judge(resolve_settings(model, "smoke"), ingested_data, run_dir, "r1")
        before = (run_dir / "metrics.json").read_bytes()
        result = _cli_module("flows.evaluate", "--model-dir", str(run_dir), "--data-dir", str(ingested_data),
                             "--artifacts-dir", str(tmp_path))
        assert result.returncode == 0, result.stderr
        out_dir = Path(result.stdout.strip().splitlines()[-1])
        assert out_dir.parent.parent == tmp_path / "evaluations" and out_dir.name == model
        again = json.loads((out_dir / "metrics.json").read_text())
        assert again["validation"] == original["validation"] and again["test"] == original["test"]
        assert again["baselines"] == original["baselines"] and again["blessing"] == original["blessing"]
        assert again["data"]["sha256"] == original["data"]["sha256"]
        assert (run_dir / "metrics.json").read_bytes() == before, "the run's own metrics must not be rewritten"
        assert {p.name for p in out_dir.glob("*.png")} >= ({"roc.png", "confusion.png", "curves.png"}
                                                           if model == "imdb_conv" else {"predictions.png",
                                                                                          "curves.png"})


def test_evaluate_refuses_what_is_not_a_finished_model_folder(ingested_data, tmp_path):
    empty = tmp_path / "runs" / "x" / "jena_conv"
    empty.mkdir(parents=True)
    result = _cli_module("flows.evaluate", "--model-dir", str(empty), "--data-dir", str(ingested_data))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and "model.keras, settings.json missing" in result.stderr
    result = _cli_module("flows.evaluate", "--champion", "jena_conv", "--artifacts-dir", str(tmp_path))
    assert result.returncode == 2 and "no champion for jena_conv" in result.stderr and "train-all" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "jena_lstm", "--profile", "smoke"], "unknown model 'jena_lstm'; allowed: imdb_conv"),
        (["--model", "jena_conv", "--profile", "huge"], "unknown profile 'huge'; allowed: seed, quick, tuned, smoke"),
        (["--model", "imdb_conv", "--profile", "smoke", "--set", "epochs=0"], "epochs=0: must be at least 1"),
        (["--model", "jena_conv", "--profile", "smoke", "--set", "lookback=3"], "lookback must be at least the step"),
        (["--model", "jena_conv", "--profile", "smoke", "--set", "colour=blue"], "unknown setting 'colour'"),
        # a setting of another architecture would change nothing and be recorded as used: refused
        (["--model", "jena_conv", "--profile", "smoke", "--set", "kernel_size=5", "--set", "filters=3"],
         "setting 'kernel_size' is not read by jena_conv; it reads: epochs"),
    ],
)
def test_bad_settings_fail_before_training(args, message, ingested_data, tmp_path):
    result = _cli(*args, "--data-dir", str(ingested_data), "--artifacts-dir", str(tmp_path))
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "runs").exists(), "nothing may be trained or written for bad settings"


def test_missing_data_fails_before_training(tmp_path):
    result = _cli("--model", "imdb_conv", "--profile", "smoke", "--data-dir", str(tmp_path / "empty"))
    assert result.returncode == 2
    assert "no imdb dataset at" in result.stderr and "python -m flows.ingest imdb" in result.stderr
