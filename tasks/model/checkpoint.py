"""Crash-safe training state: one snapshot per finished epoch, on disk whole or not at all.

Keras' BackupAndRestore and ModelCheckpoint write their `.h5` files in place, so a kill during the write leaves a
file h5py cannot open, and the rerun that should resume dies on it ("bad object header version number", seen in
CI). Here each epoch's state is written into a hidden folder that is renamed into place once complete: a reader
finds the previous snapshot or the new one, never a torn one. A snapshot also keeps what those callbacks forget
on resume, the best epoch and its value, so the best checkpoint and early stopping go on where they were.

    backup/epoch-0003/state.weights.h5   model and optimizer after epoch 3
                      best.weights.h5    the best epoch's weights (a hard link when the best is this epoch)
                      snapshot.json      {"epochs_done": 3, "best_epoch": 2, "best_value": 0.41}

With weight averaging on (AveragedWeights), both weight files hold the averaged weights, as validation saw them.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import keras

from tasks.core import atomic

SNAPSHOT_NAME = re.compile(r"^epoch-(\d+)$")  # finished snapshots; unfinished ones start with "."


@dataclass(frozen=True)
class Snapshot:
    path: Path
    epochs_done: int
    best_epoch: int | None  # 1-based; None while no epoch had a finite monitored value
    best_value: float | None

    @property
    def state_weights(self) -> Path:
        return self.path / "state.weights.h5"

    @property
    def best_weights(self) -> Path:
        return self.path / "best.weights.h5"

    def stopped_early(self, patience: int) -> bool:
        """Whether early stopping with this patience ended training at this snapshot."""
        return bool(patience) and self.best_epoch is not None and self.epochs_done - self.best_epoch >= patience


def latest_snapshot(backup_dir: Path) -> Snapshot | None:
    """The newest finished snapshot in `backup_dir`, or None; unfinished (hidden) folders are ignored."""
    backup_dir = Path(backup_dir)
    if not backup_dir.is_dir():
        return None
    finished = sorted((int(m.group(1)), p) for p in backup_dir.iterdir() if (m := SNAPSHOT_NAME.match(p.name)))
    if not finished:
        return None
    path = finished[-1][1]
    meta = json.loads((path / "snapshot.json").read_text())
    return Snapshot(path, meta["epochs_done"], meta["best_epoch"], meta["best_value"])


def write_snapshot(backup_dir: Path, model: keras.Model, epochs_done: int, best_epoch: int | None,
                   best_value: float | None, previous: Snapshot | None) -> Snapshot:
    """Save the model's state after `epochs_done` epochs as a new snapshot, then drop the older ones.

    The best weights are this state when `best_epoch == epochs_done`, else the previous snapshot's best.
    """
    backup_dir = Path(backup_dir)
    backup_dir.mkdir(parents=True, exist_ok=True)
    for stale in backup_dir.glob(".epoch-*"):  # left by a run killed while writing
        shutil.rmtree(stale, ignore_errors=True)
    final = backup_dir / f"epoch-{epochs_done:04d}"
    tmp = backup_dir / f".epoch-{epochs_done:04d}.{os.getpid()}"
    tmp.mkdir()
    try:
        model.save_weights(tmp / "state.weights.h5")
        if best_epoch == epochs_done:
            _link_or_copy(tmp / "state.weights.h5", tmp / "best.weights.h5")
        elif previous is not None and previous.best_weights.is_file():
            _link_or_copy(previous.best_weights, tmp / "best.weights.h5")
        meta = {"epochs_done": epochs_done, "best_epoch": best_epoch, "best_value": best_value}
        atomic.write_json(tmp / "snapshot.json", meta)
        shutil.rmtree(final, ignore_errors=True)  # the same epoch run again after a resume
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for path in backup_dir.iterdir():
        if SNAPSHOT_NAME.match(path.name) and path != final:
            shutil.rmtree(path, ignore_errors=True)
    return Snapshot(final, **meta)


def restore(model: keras.Model, snapshot: Snapshot) -> None:
    """Load a snapshot's model and optimizer state into a freshly built, compiled model."""
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)  # so its slots exist to be loaded into
    model.load_weights(snapshot.state_weights)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # file systems without hard links
        shutil.copy2(src, dst)


class Checkpoints(keras.callbacks.Callback):
    """After every epoch: a snapshot (state + best weights), and early stopping counted across resumes.

    The best epoch is the one with the strictly best `monitor` (NaN never counts), as in Keras' ModelCheckpoint;
    early stopping ends training once `patience` epochs have passed without a new best, as Keras' EarlyStopping
    does, but its count survives a resume because it is read from the snapshot.
    """

    def __init__(self, backup_dir: Path, monitor: str, mode: str, patience: int = 0,
                 restored: Snapshot | None = None):
        super().__init__()
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', not {mode!r}")
        self.backup_dir, self.monitor, self.mode, self.patience = Path(backup_dir), monitor, mode, patience
        self.snapshot = restored
        self.best_epoch = restored.best_epoch if restored else None
        self.best_value = restored.best_value if restored else None

    def _improves(self, value: float | None) -> bool:
        if value is None or math.isnan(value):
            return False
        if self.best_value is None:
            return True
        return value > self.best_value if self.mode == "max" else value < self.best_value

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        value = None if value is None else float(value)
        if self._improves(value):
            self.best_epoch, self.best_value = epoch + 1, value
        self.snapshot = write_snapshot(self.backup_dir, self.model, epoch + 1, self.best_epoch, self.best_value,
                                       self.snapshot)
        if self.snapshot.stopped_early(self.patience):
            self.model.stop_training = True


class AveragedWeights(keras.callbacks.SwapEMAWeights):
    """Judge and keep the averaged weights (TrainSettings.weight_averaging): Keras' SwapEMAWeights, swapping at
    every epoch's end, so validation and the snapshot written after it (Checkpoints, later in the callback list)
    see the average, and the raw weights come back at the next epoch's start.

    A snapshot is therefore always written swapped (the model holds the average, the optimizer the raw weights);
    `resumed=True` says so for a run restored from one, so its first epoch swaps back before training.
    """

    def __init__(self, resumed: bool = False):
        super().__init__(swap_on_epoch=True)
        self._ema_weights_in_model = resumed
