"""Crash-safe snapshots: what a kill leaves behind never stops a resume, and the best epoch and early stopping
carry over a resume exactly."""

from __future__ import annotations

import json
import shutil

import keras
import numpy as np
import pytest

from tasks.model.checkpoint import AveragedWeights, Checkpoints, latest_snapshot, restore, write_snapshot
from tasks.model.train import keep_history

pytestmark = pytest.mark.unit


def _model(seed: int = 0, averaging: float = 0.0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(1)])
    ema = dict(use_ema=True, ema_momentum=averaging) if averaging else {}
    model.compile(optimizer=keras.optimizers.RMSprop(1e-2, **ema), loss="mse")
    model.optimizer.build(model.trainable_variables)  # as after a first training step
    return model


X = np.arange(48, dtype="float32").reshape(16, 3) / 48


def _fit(model: keras.Model, epochs: int, callbacks=(), initial_epoch: int = 0, validate: bool = False):
    return model.fit(X, X.sum(axis=1), batch_size=4, epochs=epochs, initial_epoch=initial_epoch, shuffle=False,
                     callbacks=list(callbacks), verbose=0, validation_data=(X, X.sum(axis=1)) if validate else None)


def _mark(model: keras.Model, value: float) -> None:
    """Weights that say which epoch they are from."""
    model.set_weights([np.full(w.shape, value, w.dtype) for w in model.get_weights()])


def _drive(callback: Checkpoints, model: keras.Model, values: list[float], first_epoch: int = 0) -> int:
    """Epochs `first_epoch`.. with these monitored values, until the callback stops training; returns epochs done."""
    callback.set_model(model)
    model.stop_training = False
    for epoch in range(first_epoch, len(values)):
        _mark(model, epoch + 1)
        callback.on_epoch_end(epoch, {"val_loss": values[epoch]})
        if model.stop_training:
            return epoch + 1
    return len(values)


def test_restore_gives_back_weights_and_optimizer_state(tmp_path):
    model = _model()
    _fit(model, 3, [Checkpoints(tmp_path, "loss", "min")])

    snapshot = latest_snapshot(tmp_path)
    assert snapshot.epochs_done == 3 and 1 <= snapshot.best_epoch <= 3
    assert [p.name for p in tmp_path.iterdir()] == ["epoch-0003"], "older snapshots are dropped"
    fresh = _model(seed=1)
    restore(fresh, snapshot)
    for a, b in zip(model.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(fresh.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy()) == 12
    for a, b in zip(model.optimizer.variables, fresh.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_resumed_training_matches_uninterrupted_training(tmp_path):
    straight = _model()
    _fit(straight, 4)

    resumed = _model()
    _fit(resumed, 2, [Checkpoints(tmp_path, "loss", "min")])
    again = _model(seed=7)
    snapshot = latest_snapshot(tmp_path)
    restore(again, snapshot)
    _fit(again, 4, [Checkpoints(tmp_path, "loss", "min", restored=snapshot)], initial_epoch=snapshot.epochs_done)
    for a, b in zip(straight.get_weights(), again.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert latest_snapshot(tmp_path).epochs_done == 4


def test_weight_averaging_is_what_validation_judges_and_the_snapshot_keeps(tmp_path):
    averaged = _model(averaging=0.5)
    history = _fit(averaged, 1, [AveragedWeights(), Checkpoints(tmp_path, "val_loss", "min")], validate=True)
    raw = _model()  # the same steps without averaging: the raw weights (the average never feeds back)
    _fit(raw, 1)
    kept = _model(seed=3, averaging=0.5)
    kept.load_weights(latest_snapshot(tmp_path).best_weights)
    judged = history.history["val_loss"][0]
    assert kept.evaluate(X, X.sum(axis=1), verbose=0) == pytest.approx(judged, rel=1e-5)
    assert raw.evaluate(X, X.sum(axis=1), verbose=0) != pytest.approx(judged, rel=1e-3), "averaging is off"


def test_resumed_training_with_weight_averaging_matches_uninterrupted_training(tmp_path):
    straight = _model(averaging=0.5)
    _fit(straight, 4, [AveragedWeights(), Checkpoints(tmp_path / "straight", "loss", "min")])

    class Killed(keras.callbacks.Callback):  # the process dies after its second epoch's snapshot
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = epoch == 1

    first = _model(averaging=0.5)
    _fit(first, 4, [AveragedWeights(), Checkpoints(tmp_path / "resumed", "loss", "min"), Killed()])
    shutil.copytree(tmp_path / "resumed", tmp_path / "copy")
    snapshot = latest_snapshot(tmp_path / "resumed")
    again = _model(seed=7, averaging=0.5)
    restore(again, snapshot)
    _fit(again, 4, [AveragedWeights(resumed=True), Checkpoints(tmp_path / "resumed", "loss", "min",
                                                               restored=snapshot)], initial_epoch=2)
    for a, b in zip(straight.get_weights(), again.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    for a, b in zip(straight.optimizer.variables, again.optimizer.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    # without `resumed=True` the restored run would train on from the average: the check above would fail
    wrong = _model(seed=7, averaging=0.5)
    restore(wrong, latest_snapshot(tmp_path / "copy"))
    _fit(wrong, 4, [AveragedWeights()], initial_epoch=2)
    assert not all(np.allclose(a, b, rtol=1e-6) for a, b in zip(straight.get_weights(), wrong.get_weights()))


def test_a_snapshot_torn_by_a_kill_is_ignored_and_cleared(tmp_path):
    model = _model()
    callback = Checkpoints(tmp_path, "val_loss", "min")
    _drive(callback, model, [0.5, 0.4])
    good = latest_snapshot(tmp_path)
    # What SIGKILL in the middle of writing epoch 3 leaves: a hidden folder with a truncated HDF5 file.
    torn = tmp_path / ".epoch-0003.4242"
    torn.mkdir()
    (torn / "state.weights.h5").write_bytes(good.state_weights.read_bytes()[:600])

    assert latest_snapshot(tmp_path) == good
    fresh = _model(seed=3)
    restore(fresh, good)
    assert all(np.all(w == 2.0) for w in fresh.get_weights())
    write_snapshot(tmp_path, fresh, 3, 2, 0.4, good)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-0003"]


def test_a_failed_write_keeps_the_previous_snapshot(tmp_path, monkeypatch):
    model = _model()
    callback = Checkpoints(tmp_path, "val_loss", "min")
    _drive(callback, model, [0.5])
    good = latest_snapshot(tmp_path)

    def disk_full(path, *args, **kwargs):
        open(path, "wb").write(b"\x89HDF\r\n")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model, "save_weights", disk_full)
    with pytest.raises(OSError, match="No space left"):
        callback.on_epoch_end(1, {"val_loss": 0.1})
    assert latest_snapshot(tmp_path) == good
    assert [p.name for p in tmp_path.iterdir()] == ["epoch-0001"], "the unfinished folder must be removed"
    restore(_model(seed=3), good)


def test_best_epoch_and_early_stopping_carry_over_a_resume(tmp_path):
    values = [0.5, 0.4, 0.45, 0.46, 0.3, 0.2]  # best at epoch 2; patience 2 stops after epoch 4
    straight = tmp_path / "straight"
    assert _drive(Checkpoints(straight, "val_loss", "min", patience=2), _model(), values) == 4

    resumed = tmp_path / "resumed"
    first = Checkpoints(resumed, "val_loss", "min", patience=2)
    _drive(first, _model(), values[:3])  # killed after epoch 3
    snapshot = latest_snapshot(resumed)
    assert (snapshot.epochs_done, snapshot.best_epoch, snapshot.best_value) == (3, 2, 0.4)
    assert not snapshot.stopped_early(2)
    model = _model(seed=5)
    restore(model, snapshot)
    assert _drive(Checkpoints(resumed, "val_loss", "min", patience=2, restored=snapshot), model, values,
                  first_epoch=3) == 4, "patience must count the epochs before the kill"
    final = latest_snapshot(resumed)
    assert final.stopped_early(2) and final.best_epoch == 2
    model.load_weights(final.best_weights)
    assert all(np.all(w == 2.0) for w in model.get_weights()), "the best weights are epoch 2's"


@pytest.mark.parametrize("mode, values, best", [
    ("min", [float("nan"), 0.7, 0.7, 0.6], (4, 0.6)),  # NaN never counts; a tie is not an improvement
    ("max", [0.6, 0.8, float("nan"), 0.79], (2, 0.8)),
])
def test_best_epoch_is_the_strictly_best_finite_value(tmp_path, mode, values, best):
    _drive(Checkpoints(tmp_path, "val_loss", mode), _model(), values)
    snapshot = latest_snapshot(tmp_path)
    assert (snapshot.best_epoch, snapshot.best_value) == best
    assert json.loads((snapshot.path / "snapshot.json").read_text())["best_epoch"] == best[0]


def test_no_finite_value_means_no_best_weights(tmp_path):
    _drive(Checkpoints(tmp_path, "val_loss", "min", patience=1), _model(), [float("nan")] * 3)
    snapshot = latest_snapshot(tmp_path)
    assert snapshot.best_epoch is None and not snapshot.best_weights.exists()
    assert snapshot.epochs_done == 3, "early stopping needs a best epoch to count from"


def test_history_is_cut_back_to_the_snapshot(tmp_path):
    history = tmp_path / "history.csv"
    history.write_text("epoch,loss,val_loss\n0,0.9,0.8\n1,0.7,0.6\n2,0.5,0.4\n3,0.4")  # epoch 3 torn by a kill
    keep_history(history, 2)
    assert history.read_text() == "epoch,loss,val_loss\n0,0.9,0.8\n1,0.7,0.6\n"
    keep_history(history, 0)
    assert not history.exists(), "nothing to resume from: the history starts again with its header"
    keep_history(history, 3)  # no history at all is fine
    assert not history.exists()


def test_no_backup_folder_means_no_snapshot(tmp_path):
    assert latest_snapshot(tmp_path / "missing") is None
    (tmp_path / "backup").mkdir()
    assert latest_snapshot(tmp_path / "backup") is None
    shutil.rmtree(tmp_path / "backup")
