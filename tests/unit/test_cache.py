"""Cache keys hash only the code that can change a result: a plot's colour invalidates no model or dataset."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tasks.core import cache

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def code_copy(tmp_path, monkeypatch) -> Path:
    """A copy of tasks/ that a test may edit; the cache reads its code from there."""
    shutil.copytree(ROOT / "tasks", tmp_path / "tasks")
    monkeypatch.setattr(cache, "ROOT", tmp_path)
    cache.code_fingerprint.cache_clear()
    yield tmp_path / "tasks"
    cache.code_fingerprint.cache_clear()


def keys() -> dict[str, str]:
    cache.code_fingerprint.cache_clear()
    return {kind: cache.content_key(kind, "same inputs") for kind in ("train", "jena-version", "bag-of-words")}


def edit(path: Path) -> None:
    path.write_text(path.read_text() + "\n# an edit\n")


def test_a_change_to_plots_or_reports_invalidates_nothing(code_copy):
    before = keys()
    edit(code_copy / "publish" / "plots.py")
    edit(code_copy / "publish" / "report.py")
    assert keys() == before


def test_a_change_to_training_code_invalidates_models_not_datasets(code_copy):
    before = keys()
    edit(code_copy / "model" / "train.py")
    after = keys()
    assert after["train"] != before["train"]
    assert after["jena-version"] == before["jena-version"] and after["bag-of-words"] == before["bag-of-words"]


@pytest.mark.parametrize("module", ["imdb_dilated", "jena_tcn"])
def test_a_change_to_a_builder_in_a_module_of_its_own_invalidates_models(code_copy, module):
    before = keys()
    edit(code_copy / "model" / f"{module}.py")
    assert keys()["train"] != before["train"]


def test_a_change_to_normalization_invalidates_dataset_versions_only(code_copy):
    before = keys()
    edit(code_copy / "ingest" / "normalize.py")
    after = keys()
    assert after["jena-version"] != before["jena-version"] and after["train"] == before["train"]


def test_every_kind_names_modules_that_exist():
    for kind, modules in cache.CODE.items():
        for name in modules:
            path = ROOT / "tasks" / f"{name.replace('.', '/')}.py"
            assert path.is_file(), f"{kind}: {path} does not exist"
    with pytest.raises(KeyError, match="add the modules"):
        cache.content_key("no-such-kind")


def test_file_sha256_matches_hashlib(tmp_path):
    import hashlib

    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * (3 << 20) + b"tail")
    assert cache.file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert cache.files_sha256([path, path]) == hashlib.sha256(path.read_bytes() * 2).hexdigest()
