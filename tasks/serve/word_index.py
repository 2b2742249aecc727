"""The word index a text run was trained with: the run's own copy (word_index.json beside model.keras), checked
against the sha256 recorded at training, never whatever the data folder holds now (a new dataset version may
have another vocabulary). Predicting (tasks.serve.text) and the serving model (tasks.serve.serving) read it here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from tasks.core import atomic, runs
from tasks.core.errors import DataFormatError, SettingsError


@dataclass(frozen=True)
class RunWordIndex:
    """The word index an IMDB run was trained with, and where it was read."""

    words: dict[str, int]  # word -> rank
    path: Path  # the file read
    sha256: str
    own: bool  # the run's own copy (else the dataset version it trained on: a run from before runs kept one)
    note: str  # a sentence saying which index this is, for logs


def word_index_file(model_dir: Path) -> tuple[Path, bool] | None:
    """Where an IMDB run's word index is: (its own copy, True); for a run from before runs kept one, (the file of
    the dataset version it trained on, named by training.json, False); None when neither is there. Never whatever
    data/ holds now, which may be another vocabulary."""
    model_dir = Path(model_dir)
    if (model_dir / runs.WORD_INDEX).is_file():
        return model_dir / runs.WORD_INDEX, True
    training = atomic.read_json(model_dir / runs.TRAINING, "every finished run folder has one")
    version = str((training.get("data") or {}).get("path") or "")
    if version and (Path(version) / runs.WORD_INDEX).is_file():
        return Path(version) / runs.WORD_INDEX, False
    return None


def recorded_sha256(model_dir: Path) -> dict[Path, str]:
    """Every record of the sha256 of a run's own word index: word_index.sha256, written when the run trained, and
    serving/serving.json's, written when its serving model was built from it (file -> sha256)."""
    model_dir = Path(model_dir)
    records = {}
    sidecar = model_dir / runs.WORD_INDEX_SHA256
    if sidecar.is_file():
        records[sidecar] = (sidecar.read_text().split() or [""])[0]
    manifest = model_dir / runs.SERVING / "serving.json"
    if manifest.is_file():
        recorded = (atomic.read_json(manifest, "written last by the serving export").get("word_index") or {})
        if recorded.get("sha256"):
            records[manifest] = str(recorded["sha256"])
    return records


def run_word_index(model_dir: Path) -> RunWordIndex:
    """The word index an IMDB run trained with (word_index_file), its own copy checked against word_index.sha256.

    Raises:
        DataFormatError: if the copy does not match its sha256 or is not a word index (naming the file).
        SettingsError: if the run has no copy and its dataset version's is gone, saying what to do.
    """
    from tasks.ingest import load_word_index

    model_dir = Path(model_dir)
    found = word_index_file(model_dir)
    if found is None:
        raise SettingsError(f"{model_dir} has no {runs.WORD_INDEX} (a run made before runs kept their word index, "
                            "or trained on a dataset without one) and the dataset version it trained on has none "
                            f"either: train the model again, or copy that version's word_index.json into {model_dir} "
                            f"with its sha256 in {runs.WORD_INDEX_SHA256} (`sha256sum word_index.json > "
                            f"{runs.WORD_INDEX_SHA256}`; not another version's: its vocabulary may differ)")
    path, own = found
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    if own:  # a run's own copy is checked against every record of it; deleting one record turns no check off
        records = recorded_sha256(model_dir)
        if model_dir / runs.WORD_INDEX_SHA256 not in records:
            raise DataFormatError(f"{path}: {model_dir / runs.WORD_INDEX_SHA256} is missing, so the run's word index "
                                  "cannot be checked against what it trained with; restore it (it holds the sha256 "
                                  "of the word_index.json the run trained with) or train the model again")
        for record, expected in records.items():
            if expected != sha256:
                raise DataFormatError(f"{path}: sha256 {sha256}, but {record} says {expected}: the run's word "
                                      "index changed since training; restore it or train the model again")
    where = ("the run's own copy" if own else
             f"the dataset version {model_dir} trained on; the run keeps no copy, made before runs did")
    return RunWordIndex(load_word_index(path), path, sha256, own, f"word index: {path} ({where}, sha256 "
                                                                     f"{sha256[:12]})")
