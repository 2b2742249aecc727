"""Run folders for serving tests and benchmarks: a finished run around a given (often untrained) model, as
tasks.model.train leaves one, and its serving model loaded back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from tasks.core import runs
from tasks.core.config import TrainSettings


def word_index_files(index: bytes) -> dict[str, bytes]:
    """An IMDB run's own word index and its sha256 line, by file name, as training writes them."""
    return {runs.WORD_INDEX: index,
            runs.WORD_INDEX_SHA256: f"{hashlib.sha256(index).hexdigest()}  {runs.WORD_INDEX}\n".encode()}


def write_run(run_dir: Path, settings: TrainSettings, model, files: Mapping[str, bytes] | None = None) -> Path:
    """A finished run folder around `model`: settings.json, model.keras, training.json (its dataset version the
    folder above) and `files` (file name -> bytes: a word index, normalization.json). No serving/ yet."""
    run_dir.mkdir(parents=True)
    (run_dir / runs.SETTINGS).write_text(json.dumps(settings.as_record()))
    model.save(run_dir / runs.MODEL)
    (run_dir / runs.TRAINING).write_text(json.dumps({"model": settings.model, "data": {"path": str(run_dir.parent)}}))
    for name, data in (files or {}).items():
        (run_dir / name).write_bytes(data)
    return run_dir


def load_serving(run_dir: Path):
    """The run's Keras serving model (serving/model.keras)."""
    import keras

    import tasks.serve.serving_layers  # noqa: F401  (registers ReviewEncoder for Keras)
    from tasks.serve.serving import KERAS_FILE

    return keras.saving.load_model(run_dir / runs.SERVING / KERAS_FILE)
