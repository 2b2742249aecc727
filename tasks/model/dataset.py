"""A published dataset found and fingerprinted, and arrays batched in order: what reading any kind of dataset shares.

How each kind is read into arrays is in its own module (tasks.model.text: reviews; tasks.model.series: windows),
looked up by kind in tasks.model.kinds. Training and evaluation read their data through those, so both see exactly
the same reviews and windows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tasks.core import atomic, runs
from tasks.core.atomic import published_link, published_version
from tasks.core.cache import files_sha256
from tasks.core.config import FAMILIES
from tasks.core.errors import SettingsError
from tasks.ingest import read_provenance

EVAL_SPLITS = ("val", "test")  # the splits a model is judged on; training rows are not a fair test


def dataset_path(data_dir: Path, family: str) -> Path:
    """The published dataset a model family trains on: the version folder its link points at now
    (tasks.core.atomic.published_version), so one run reads one version even if another is published meanwhile; a
    folder that is not a published link as it is. A clear error if it has not been ingested."""
    processed = Path(data_dir) / "processed"
    path = published_version(processed, family) or published_link(processed, family)
    missing = [name for name in FAMILIES[family].files if not (path / name).is_file()]
    if missing:
        raise SettingsError(
            f"no {family} dataset at {path} (missing {', '.join(missing)}): "
            f"run `python -m flows.ingest {family} --data-dir {data_dir}` first"
        )
    return path


def run_dataset_path(data_dir: Path, family: str, run_dir: Path) -> Path:
    """The version a run trains on: the one it started on (its data_version.json) when it is resumed, so a version
    published meanwhile never mixes into its epochs (tasks.core.retention keeps that version while the run is
    unfinished); else the one published now (dataset_path)."""
    record = Path(run_dir) / runs.DATA_VERSION
    if not record.is_file() or (Path(run_dir) / runs.TRAINING).is_file():  # not started, or nothing left to train
        return dataset_path(data_dir, family)
    started = atomic.read_json(record, "written when the run started training")
    version = Path(data_dir) / "processed" / atomic.VERSIONS / Path(str(started.get("path", ""))).name
    if started.get("dataset") != family or not version.is_dir():
        raise SettingsError(f"{run_dir} started training on {started.get('path')}, which is gone from {data_dir}: "
                            "it cannot be resumed on the same data; train with a new run id")
    return version.resolve()


def record_run_dataset(run_dir: Path, family: str, path: Path) -> None:
    """Note in a run folder, before its first epoch, which dataset version it trains on (run_dataset_path)."""
    if not (Path(run_dir) / runs.DATA_VERSION).is_file():
        atomic.write_json(Path(run_dir) / runs.DATA_VERSION, {"dataset": family, "path": str(Path(path).resolve())})


def data_fingerprint(path: Path, family: str) -> dict[str, Any]:
    """The sha256 of a published dataset's Parquet files, and of the sources behind them (from its metadata)."""
    files = [Path(path) / name for name in FAMILIES[family].files]
    provenance = read_provenance(files[0])
    return {"path": str(Path(path).resolve()), "sha256": files_sha256(files), "sources": provenance["sources"]}


def in_order(x: np.ndarray, y: np.ndarray | None = None, batch_size: int = 512):
    """Arrays as a tf.data dataset of consecutive batches, in order (validation, evaluation, prediction).

    The same batches Keras makes of numpy arrays, so the same figures; built here because Keras' own adapter maps
    its unshuffled arrays through a tf.data op that makes TensorFlow 2.21 log a C++ error line ("NodeDef mentions
    attribute use_unbounded_threadpool") on every call.
    """
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices(x if y is None else (x, y)).batch(batch_size)
