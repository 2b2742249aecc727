"""Cache keys hash only the code that can change a result: a plot's colour invalidates no model or dataset."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tasks.core import cache
from tasks.core.config import MODELS

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def code_copy(tmp_path, monkeypatch) -> Path:
    """A copy of tasks/ and datasets/ that a test may edit; the cache reads its code and specs from there."""
    shutil.copytree(ROOT / "tasks", tmp_path / "tasks")
    shutil.copytree(ROOT / "datasets", tmp_path / "datasets")
    monkeypatch.setattr(cache, "ROOT", tmp_path)
    cache.code_fingerprint.cache_clear()
    yield tmp_path / "tasks"
    cache.code_fingerprint.cache_clear()


def keys() -> dict[str, str]:
    """The keys of the same inputs: a dataset version, the baseline, and every model's ("train:<model>")."""
    cache.code_fingerprint.cache_clear()
    found = {kind: cache.content_key(kind, "same inputs") for kind in ("jena-version", "bag-of-words")}
    found |= {f"train:{m}": cache.content_key("train", "same inputs", code=cache.train_code(m)) for m in MODELS}
    found["train"] = "".join(found[f"train:{m}"] for m in MODELS)  # changes when any model's key changes
    return found


def models_retrained(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {m for m in MODELS if before[f"train:{m}"] != after[f"train:{m}"]}


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
    assert models_retrained(before, after) == set(MODELS)
    assert after["jena-version"] == before["jena-version"] and after["bag-of-words"] == before["bag-of-words"]


@pytest.mark.parametrize("module, models", [
    ("imdb_dilated", {"imdb_dilated"}), ("jena_tcn", {"jena_tcn"}), ("imdb_conv", {"imdb_conv"}),
    ("jena_conv", {"jena_conv"}), ("jena_conv_gru", {"jena_conv_gru", "jena_conv_gru_fast"})])
def test_a_change_to_one_builder_retrains_only_the_models_it_builds(code_copy, module, models):
    before = keys()
    edit(code_copy / "model" / f"{module}.py")
    after = keys()
    assert models_retrained(before, after) == models
    assert after["jena-version"] == before["jena-version"] and after["bag-of-words"] == before["bag-of-words"]


def test_a_new_module_in_the_training_stage_counts_without_a_list_edit(code_copy):
    before = keys()
    (code_copy / "model" / "augment.py").write_text("def shift(x):\n    return x\n")
    after = keys()
    assert models_retrained(before, after) == set(MODELS)
    assert "model.augment" in cache.train_code("jena_conv")


def test_a_change_to_how_training_is_shown_or_to_the_baseline_model_retrains_nothing(code_copy):
    before = keys()
    edit(code_copy / "model" / "progress.py")
    assert models_retrained(before, keys()) == set()
    edit(code_copy / "model" / "bag_of_words.py")
    after = keys()
    assert models_retrained(before, after) == set() and after["bag-of-words"] != before["bag-of-words"]


def test_every_model_hashes_its_own_builder_and_no_other():
    from tasks.core.architectures import ARCHITECTURES

    builders = {a.builder for a in ARCHITECTURES.values()}
    for model, registration in ARCHITECTURES.items():
        code = set(cache.train_code(model))
        assert code & builders == {registration.builder}, model
        assert {"model.train", "model.dataset", "model.architectures", "core.records.normalization"} <= code


def test_a_change_to_a_dataset_spec_invalidates_its_versions_not_the_other_datasets(code_copy):
    cache.code_fingerprint.cache_clear()
    before = {kind: cache.content_key(kind, "same inputs") for kind in ("jena-version", "imdb-version")}
    edit(code_copy.parent / "datasets" / "jena.toml")
    cache.code_fingerprint.cache_clear()
    after = {kind: cache.content_key(kind, "same inputs") for kind in ("jena-version", "imdb-version")}
    assert after["jena-version"] != before["jena-version"] and after["imdb-version"] == before["imdb-version"]


def test_a_change_to_normalization_invalidates_dataset_versions_only(code_copy):
    before = keys()
    edit(code_copy / "ingest" / "normalize.py")
    after = keys()
    assert after["jena-version"] != before["jena-version"] and models_retrained(before, after) == set()


def test_every_kind_names_modules_that_exist():
    kinds = [*cache.CODE, "normalize", "validate", "imdb-version", "jena-raw", "jena-normalized"]
    for kind in kinds:
        for name in cache.code_for(kind):
            path = cache.code_path(name)
            assert path.is_file(), f"{kind}: {path} does not exist"
    with pytest.raises(KeyError, match="add the modules"):
        cache.content_key("no-such-kind")


def test_file_sha256_matches_hashlib(tmp_path):
    import hashlib

    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * (3 << 20) + b"tail")
    assert cache.file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert cache.files_sha256([path, path]) == hashlib.sha256(path.read_bytes() * 2).hexdigest()
