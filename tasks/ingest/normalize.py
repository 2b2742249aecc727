"""Raw files in, a new dataset version out: the Prefect tasks that write the published Parquet, the word index and
the raw validation results into a content-addressed version folder (not yet published).

IMDB: `train.parquet` / `test.parquet` (tasks.ingest.imdb_reviews). Jena: `jena.parquet` (tasks.ingest.jena_weather).
Each Parquet file records its sources' sha256, row counts, repairs and grid gaps (tasks.ingest.provenance).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from prefect import task

from tasks.core import atomic
from tasks.core.atomic import VERSIONS, published_link
from tasks.core.cache import content_key, short_key
from tasks.core.sources import IMDB_SPLITS
from tasks.ingest.imdb_reviews import flatten_reviews, imdb_table, load_imdb_npz
from tasks.ingest.jena_weather import canonical_sources, jena_arrow, normalize_jena, read_jena_csv
from tasks.ingest.provenance import write_parquet


def version_key(dataset: str, digests: list[str]) -> str:
    """The version of a dataset built from sources with these sha256 (in any order) by this code."""
    return short_key(f"{dataset}-version", sorted(digests))


def version_dir(processed_dir: Path, dataset: str, digests: list[str]) -> Path:
    """Where that version lives: content-addressed, so the same sources always map to the same folder."""
    return Path(processed_dir) / VERSIONS / f"{dataset}-{version_key(dataset, digests)}"


def _version_cache_key(dataset: str):
    def key_fn(context, parameters: dict) -> str:
        digests = [s.sha256 if hasattr(s, "sha256") else s["sha256"] for s in parameters["sources"]]
        return content_key("normalize", str(version_dir(parameters["processed_dir"], dataset, digests).resolve()))

    return key_fn


@task(task_run_name="normalize imdb", cache_key_fn=_version_cache_key("imdb"), persist_result=True)
def normalize_imdb(sources: list, raw_report: Path, processed_dir: Path) -> Path:
    """Write the IMDB splits as Parquet, the word index and the raw validation into a new dataset version."""
    npz, words = sources  # FetchedFile of imdb.npz and imdb_word_index.json
    arrays = load_imdb_npz(npz.path, npz.sha256)
    provenance_sources = [{"name": f.name, "sha256": f.sha256} for f in sources]
    with atomic.staging_dir(published_link(processed_dir, "imdb")) as staging:
        for split in IMDB_SPLITS:
            source = f"{npz.name} x_{split}"
            flat, lengths = flatten_reviews(arrays[f"x_{split}"], source)
            table = imdb_table(flat, lengths, arrays[f"y_{split}"], source)
            provenance = {"dataset": "imdb", "split": split, "rows": table.num_rows, "sources": provenance_sources,
                          "repairs": {}}
            write_parquet(table, staging / f"{split}.parquet", provenance)
        shutil.copyfile(words.path, staging / "word_index.json")
        shutil.copyfile(raw_report, staging / "validation.raw.json")
        key = version_key("imdb", [f.sha256 for f in sources])
        return atomic.finalize_version(staging, published_link(processed_dir, "imdb"), key)


@task(task_run_name="normalize jena", cache_key_fn=_version_cache_key("jena"), persist_result=True)
def normalize_jena_files(sources: list[dict], raw_report: Path, processed_dir: Path) -> Path:
    """Combine the raw Jena files into `jena.parquet` in a new dataset version, recording every repair."""
    sources = canonical_sources(sources)  # the provenance, and so the Parquet bytes, in one order
    frames = [(s["name"], read_jena_csv(Path(s["csv"]))) for s in sources]
    table, report = normalize_jena(frames)
    provenance = {
        "dataset": "jena",
        "sources": [{"name": s["name"], "sha256": s["sha256"], "rows": len(f)} for s, (_, f) in zip(sources, frames)],
        **report,
    }
    with atomic.staging_dir(published_link(processed_dir, "jena")) as staging:
        write_parquet(jena_arrow(table), staging / "jena.parquet", provenance)
        shutil.copyfile(raw_report, staging / "validation.raw.json")
        key = version_key("jena", [s["sha256"] for s in sources])
        return atomic.finalize_version(staging, published_link(processed_dir, "jena"), key)
