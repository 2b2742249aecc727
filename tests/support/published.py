"""Published datasets written straight to Parquet, as the ingest flows leave them, for tests of the later stages
(train, evaluate, predict) that need real files but not a whole ingestion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tasks.core.sources import JENA_FEATURES
from tasks.ingest.imdb_reviews import imdb_table
from tasks.ingest.jena_weather import jena_arrow
from tasks.ingest.provenance import write_parquet
from tests.support.fixtures import synthetic_weather


def publish_jena(data_dir: Path, rows: int = 1500, *, seed: int = 0, shift_t: float = 0.0) -> Path:
    """data_dir/processed/jena/jena.parquet from `rows` of synthetic 10-minute weather; `shift_t` °C added to the
    temperature (a warmer year, to judge a model on data unlike its training data)."""
    frame = synthetic_weather("2024-01-01 00:10:00", rows, seed=seed)
    table = pd.DataFrame({"timestamp": pd.to_datetime(frame["Date Time"], format="%d.%m.%Y %H:%M:%S")})
    for name in JENA_FEATURES:
        table[name] = frame[name].astype(np.float32)
    table["T (degC)"] += np.float32(shift_t)
    folder = Path(data_dir) / "processed" / "jena"
    folder.mkdir(parents=True, exist_ok=True)
    write_parquet(jena_arrow(table), folder / "jena.parquet",
                  {"sources": [{"name": f"synthetic-{seed}-{shift_t}", "sha256": "0" * 64}], "rows": rows})
    return folder


def publish_imdb(data_dir: Path, n_per_split: int = 600, *, seed: int = 0) -> Path:
    """data_dir/processed/imdb/{train,test}.parquet: reviews whose sentiment is in word order ("not bad" vs
    "bad not", ranks 11 and 12), as tests/support/fixtures.write_imdb."""
    rng = np.random.default_rng(seed)
    folder = Path(data_dir) / "processed" / "imdb"
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        labels = np.array([1, 0] * (n_per_split // 2), dtype=np.int64)
        reviews = []
        for label in labels:
            words = [int(w) for w in rng.integers(13, 3000, size=int(rng.integers(20, 41)))]
            at = int(rng.integers(0, len(words) - 1))
            words[at: at + 2] = [11, 12] if label else [12, 11]
            reviews.append(words)
        lengths = np.array([len(r) for r in reviews], dtype=np.int64)
        flat = np.concatenate([np.asarray(r, dtype=np.int64) for r in reviews])
        write_parquet(imdb_table(flat, lengths, labels, f"{split}"), folder / f"{split}.parquet",
                      {"sources": [{"name": f"synthetic-{seed}", "sha256": "1" * 64}], "rows": len(labels)})
    return folder


def publish_texts(folder: Path, dataset: str, rows: list[tuple[str, str]], *, seed: int = 1) -> Path:
    """folder/{texts.parquet, vocabulary.json} as the text_files reader publishes a user's texts: (text, label) rows
    in a seeded stratified split (70/10/20), labels as the data names them (sorted), the training texts'
    vocabulary."""
    from tasks.core.text_spec import TextFiles
    from tasks.core.vocabulary import build_vocabulary
    from tasks.ingest.text_files import TEXTS, VOCABULARY, assign_splits, texts_table
    from tasks.ingest.text_sources import Texts

    texts = Texts()
    for i, (text, label) in enumerate(rows):
        texts.add(text, label, None, f"{dataset}.csv:{i + 2}")
    splits = assign_splits(texts, TextFiles(layout="table", seed=seed))
    vocabulary = build_vocabulary([t for t, s in zip(texts.text, splits) if s == "train"],
                                  "lower_and_strip_punctuation", 20_000, sorted(set(texts.label)))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_parquet(texts_table(texts, splits), folder / TEXTS,
                  {"dataset": dataset, "rows": len(rows), "sources": [{"name": f"{dataset}.csv", "sha256": "2" * 64}]})
    (folder / VOCABULARY).write_text(vocabulary.to_json(), encoding="utf-8")
    return folder
