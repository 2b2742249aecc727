"""The IMDB dataset's reader (format `keras_imdb`): Keras' imdb.npz of word ranks and its word index, validated raw,
normalized into `train.parquet` / `test.parquet` with the word index in a new dataset version, and validated again.

Reading the npz without unpickling code: tasks.ingest.imdb_reviews; its expectations: tasks.ingest.imdb_suite.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from prefect import task

from tasks.core import atomic
from tasks.core.atomic import published_link
from tasks.core.sources import IMDB_SPLITS
from tasks.ingest.imdb_reviews import flatten_reviews, imdb_table, load_imdb_npz, load_word_index, read_imdb_flat
from tasks.ingest.imdb_suite import imdb_review_table, imdb_suite
from tasks.ingest.normalize import version_cache_key, version_key
from tasks.ingest.provenance import write_parquet
from tasks.ingest.suite_runner import run_suite
from tasks.ingest.validate import normalized_cache_key, raw_cache_key, raw_key, report, report_normalized

UNPACKS = False  # the npz and the word index are read as they are


@task(task_run_name="validate raw {dataset}", cache_key_fn=raw_cache_key, persist_result=True)
def validate_raw_imdb(dataset: str, sources: list, validation_dir: Path) -> Path:
    """Run the IMDB suite on the downloaded npz and word index, per split; fail on any hard expectation."""
    npz, words = sources  # FetchedFile of imdb.npz and imdb_word_index.json
    arrays = load_imdb_npz(npz.path, npz.sha256)
    max_rank = max(load_word_index(words.path).values())
    results = []
    for split in ("train", "test"):
        flat, lengths = flatten_reviews(arrays[f"x_{split}"], f"{npz.path.name} x_{split}")
        table = imdb_review_table(flat, lengths, arrays[f"y_{split}"])
        results.append(run_suite(table, imdb_suite("raw", max_rank), split))
    return report(dataset, "raw", raw_key(dataset, [npz.sha256, words.sha256]), results, validation_dir)


@task(task_run_name="validate normalized {dataset}", cache_key_fn=normalized_cache_key, persist_result=True)
def validate_normalized_imdb(dataset: str, version: Path, validation_dir: Path) -> Path:
    """Run the IMDB suite again on the Parquet about to be published."""
    max_rank = max(load_word_index(Path(version) / "word_index.json").values())
    results = []
    for split in ("train", "test"):
        table = imdb_review_table(*read_imdb_flat(version, split))
        results.append(run_suite(table, imdb_suite("normalized", max_rank), split))
    return report_normalized(dataset, version, results, validation_dir)


@task(task_run_name="normalize {dataset}", cache_key_fn=version_cache_key, persist_result=True)
def normalize_imdb(dataset: str, sources: list, raw_report: Path, processed_dir: Path) -> Path:
    """Write the IMDB splits as Parquet, the word index and the raw validation into a new dataset version."""
    npz, words = sources  # FetchedFile of imdb.npz and imdb_word_index.json
    arrays = load_imdb_npz(npz.path, npz.sha256)
    provenance_sources = [{"name": f.name, "sha256": f.sha256} for f in sources]
    with atomic.staging_dir(published_link(processed_dir, dataset)) as staging:
        for split in IMDB_SPLITS:
            source = f"{npz.name} x_{split}"
            flat, lengths = flatten_reviews(arrays[f"x_{split}"], source)
            table = imdb_table(flat, lengths, arrays[f"y_{split}"], source)
            provenance = {"dataset": dataset, "split": split, "rows": table.num_rows, "sources": provenance_sources,
                          "repairs": {}}
            write_parquet(table, staging / f"{split}.parquet", provenance)
        shutil.copyfile(words.path, staging / "word_index.json")
        shutil.copyfile(raw_report, staging / "validation.raw.json")
        key = version_key(dataset, [f.sha256 for f in sources])
        return atomic.finalize_version(staging, published_link(processed_dir, dataset), key)
