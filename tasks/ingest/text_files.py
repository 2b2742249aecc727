"""The reader of a user's labelled texts (format `text_files`): their files read as the spec's [text.files] says
(tasks.ingest.text_sources), the labels as the data names them, the split from the data or a seeded stratified
one, the vocabulary built from the training split (tasks.core.vocabulary), published as `texts.parquet` (text,
label, split) and `vocabulary.json` in a new dataset version, validated raw and again normalized.
"""

from __future__ import annotations

import codecs
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from prefect import task

from tasks.core import atomic, runs
from tasks.core.atomic import published_link
from tasks.core.datasets import DatasetSpec, SpecError
from tasks.core.text_spec import TextFiles, TextVocabulary
from tasks.core.errors import DataFormatError
from tasks.core.vocabulary import RECIPES, Vocabulary, build_vocabulary
from tasks.ingest.normalize import version_cache_key, version_key
from tasks.ingest.provenance import write_parquet
from tasks.ingest.suite_runner import SuiteResult, expect, run_suite
from tasks.ingest.text_sources import LAYOUTS, SPLITS, Texts, read_sources
from tasks.ingest.unpack import archive_kind, archive_stem, extract_archive
from tasks.ingest.validate import normalized_cache_key, raw_cache_key, raw_key, report, report_normalized

UNPACKS = False  # archives are extracted here: one of texts holds many files, not the one CSV tasks.ingest.unpack finds
TEXTS = runs.TEXTS  # a version's texts: text, label, split
VOCABULARY = runs.VOCABULARY  # a version's vocabulary, built from its train split


# ---------------------------------------------------------------------------------------------------------------
# The spec's keys
# ---------------------------------------------------------------------------------------------------------------
def text_keys(spec: DatasetSpec) -> tuple[TextFiles, TextVocabulary]:
    """The spec's [text.files] and [text.vocabulary], checked; a bad value is a SpecError naming the key."""
    files, vocabulary = spec.text.files, spec.text.vocabulary or TextVocabulary()
    if files is None:
        raise SpecError(f"{spec.path}: format \"text_files\" needs a [text.files] section (its layout key at least)")
    for key, default in (("splits", ("train", "test")), ("balance_tolerance", 1.0)):  # the keras_imdb reader's
        if getattr(spec.text, key) != default:
            raise SpecError(f"{spec.path}: text.{key} is not read by format \"text_files\" (the splits are the "
                            "data's or text.files.fractions; labels need not balance); leave it out")
    if files.layout not in LAYOUTS:
        raise SpecError(f"{spec.path}: text.files.layout={files.layout!r}; allowed: {', '.join(LAYOUTS)}")
    if files.columns:
        if files.layout != "table":
            raise SpecError(f"{spec.path}: text.files.columns is read by layout \"table\" only, not "
                            f"{files.layout!r}; leave it out")
        named = {"text_column": files.text_column, "label_column": files.label_column,
                 "split_column": files.split_column}
        absent = [key for key, column in named.items() if column and column not in files.columns]
        if absent or len(set(files.columns)) != len(files.columns):
            raise SpecError(f"{spec.path}: text.files.columns={list(files.columns)!r}: "
                            + (f"has no {named[absent[0]]!r} (text.files.{absent[0]})" if absent
                               else "a name given twice"))
    if files.split_folders:
        if files.layout == "table":
            raise SpecError(f"{spec.path}: text.files.split_folders is read by layouts \"folders\" and \"lines\", "
                            "not \"table\" (a table's split is text.files.split_column); leave it out")
        unknown = sorted(set(files.split_folders) - set(SPLITS))
        names = list(files.split_folders.values())
        if unknown or not all(isinstance(n, str) and n and "/" not in n for n in names) or len(set(names)) < len(names):
            raise SpecError(f"{spec.path}: text.files.split_folders={files.split_folders!r}: expected splits from "
                            f"{', '.join(SPLITS)}, each to its own folder name")
    if files.undecodable not in ("error", "replace"):
        raise SpecError(f"{spec.path}: text.files.undecodable={files.undecodable!r}; allowed: error, replace")
    try:
        codecs.lookup(files.encoding)
    except LookupError:
        raise SpecError(f"{spec.path}: text.files.encoding={files.encoding!r} is not an encoding Python knows "
                        "(e.g. utf-8, latin-1, cp1252)") from None
    fractions = fraction_table(files)
    if not all(0 <= v < 1 for v in fractions.values()) or not math.isclose(sum(fractions.values()), 1.0, abs_tol=1e-9):
        raise SpecError(f"{spec.path}: text.files.fractions={fractions!r}; expected train, val and test each in "
                        "[0, 1), summing to 1")
    if vocabulary.standardize not in RECIPES:
        raise SpecError(f"{spec.path}: text.vocabulary.standardize={vocabulary.standardize!r}; allowed: "
                        f"{', '.join(RECIPES)}")
    if vocabulary.max_tokens < 4:
        raise SpecError(f"{spec.path}: text.vocabulary.max_tokens={vocabulary.max_tokens}; need at least 4")
    return files, vocabulary


def fraction_table(files: TextFiles) -> dict[str, float]:
    return {split: getattr(files.fractions, split) for split in SPLITS}


# ---------------------------------------------------------------------------------------------------------------
# Labels and splits
# ---------------------------------------------------------------------------------------------------------------
def label_names(texts: Texts, spec: DatasetSpec) -> tuple[str, ...]:
    """The labels, by label number: the spec's text.labels (which must be those of the data), else the data's,
    sorted. Fewer than two is an error: there is nothing to classify."""
    found = sorted(set(texts.label))
    sources = ", ".join(sorted({w.rsplit(":", 1)[0] for w in texts.where[:1000]})[:3])
    if len(found) < 2:
        raise DataFormatError(f"{sources or spec.path}: {'one label only' if found else 'no texts'}"
                              f"{f' ({found[0]!r})' if found else ''}; a text dataset needs two or more labels")
    if spec.text.labels:
        extra, missing = sorted(set(found) - set(spec.text.labels)), sorted(set(spec.text.labels) - set(found))
        if extra or missing:
            where = texts.where[texts.label.index(extra[0])] if extra else sources
            raise DataFormatError(
                f"{where}: the data's labels are not the spec's text.labels ({spec.path}): "
                + (f"label {extra[0]!r} is not among {list(spec.text.labels)}" if extra
                   else f"no text has label {missing[0]!r}"))
        return tuple(spec.text.labels)
    return tuple(found)


def assign_splits(texts: Texts, files: TextFiles) -> np.ndarray:
    """Each text's split: the data's (train and test needed; a missing val is fractions.val of train, stratified),
    or, where the data names none, a stratified split with the spec's fractions and seed."""
    given = np.array([s or "" for s in texts.split], dtype=object)
    labels = np.array(texts.label, dtype=object)
    rng = np.random.default_rng(files.seed)
    if not given.any():
        return _stratified(labels, np.arange(len(labels)), fraction_table(files), rng,
                           np.full(len(labels), "", object))
    if not given.all():
        row = int(np.flatnonzero(given == "")[0])
        raise DataFormatError(f"{texts.where[row]}: no split, while other texts have one; name the split of every "
                              "text, or of none")
    for split in ("train", "test"):
        if split not in set(given):
            raise DataFormatError(f"{texts.where[0]}: the data names splits {sorted(set(given))} but no {split!r}")
    if "val" not in set(given) and files.fractions.val > 0:
        train = np.flatnonzero(given == "train")
        share = files.fractions.val
        given = _stratified(labels, train, {"train": 1 - share, "val": share}, rng, given)
    return given


def _stratified(labels: np.ndarray, rows: np.ndarray, fractions: dict, rng, out: np.ndarray) -> np.ndarray:
    """`rows` dealt to the splits of `fractions` label by label (each label's share the same in every split), in a
    seeded order."""
    out = out.copy()
    for label in sorted(set(labels[rows])):
        mine = rows[labels[rows] == label]
        mine = mine[rng.permutation(len(mine))]
        start = 0
        for split in [s for s in ("test", "val") if fractions.get(s, 0) > 0]:
            count = int(round(len(mine) * fractions[split]))
            out[mine[start:start + count]] = split
            start += count
        out[mine[start:]] = "train"
    return out


# ---------------------------------------------------------------------------------------------------------------
# Reading sources, the suite
# ---------------------------------------------------------------------------------------------------------------
def source_paths(sources: list) -> tuple[list[Path], list[str]]:
    """The fetched files as paths to read: a zip or tar archive extracted safely beside it (raw/extracted/<name>/)."""
    paths, names = [], []
    for source in sources:
        path = Path(source.path)
        if archive_kind(path):
            extract_archive(path, path.parent / "extracted" / archive_stem(path))
            path = path.parent / "extracted" / archive_stem(path)
        paths.append(path)
        names.append(source.name)
    return paths, names


def text_frame(texts: Texts, splits: np.ndarray | None = None) -> pd.DataFrame:
    """One row per text: its label, characters, words (split on whitespace) and split, and where an empty text is
    (file:line, else None): what the suites check, their examples naming the rows."""
    n_words = np.fromiter((len(t.split()) for t in texts.text), dtype=np.int64, count=len(texts.text))
    where = texts.where or [f"row {i + 1}" for i in range(len(texts.text))]
    return pd.DataFrame({
        "label": pd.Series(texts.label, dtype=object),
        "n_chars": np.fromiter(map(len, texts.text), dtype=np.int64, count=len(texts.text)),
        "n_words": n_words,
        "empty_text": pd.Series([w if n == 0 else None for w, n in zip(where, n_words)], dtype=object),
        "split": pd.Series(list(splits) if splits is not None else [s or "" for s in texts.split], dtype=object),
    })


def text_suite(stage: str, spec: DatasetSpec, labels: tuple[str, ...], splits: tuple[str, ...]):
    """The expectations of a spec'd text dataset: its label set, its splits, row counts, no empty text."""
    import great_expectations as gx

    expectations = [
        expect("ExpectColumnValuesToBeInSet", True, "labels are the dataset's", column="label",
               value_set=list(labels)),
        expect("ExpectColumnValuesToBeNull", True, "no empty text (examples: where)", column="empty_text"),
    ]
    if spec.text.rows_per_split and stage == "normalized":
        expectations.append(expect("ExpectTableRowCountToEqual", True, "the spec's rows_per_split",
                                   value=spec.text.rows_per_split))
    else:
        expectations.append(expect("ExpectTableRowCountToBeBetween", True, "at least one text", min_value=1))
    if stage == "normalized":
        expectations.append(expect("ExpectColumnDistinctValuesToContainSet", True, "every label in the split",
                                   column="label", value_set=list(labels)))
    return gx.ExpectationSuite(name=f"{spec.name}.{stage}", expectations=expectations)


def replaced_finding(texts: Texts) -> list[dict]:
    """Undecodable bytes replaced (undecodable = "replace"), as a soft finding of the raw report."""
    if not texts.replaced:
        return []
    total = sum(texts.replaced.values())
    return [{"expectation": "undecodable bytes replaced", "why": "text.files.undecodable = \"replace\"",
             "column": None, "arguments": {}, "unexpected_count": total, "unexpected_percent": None,
             "examples": [f"{name}: {n}" for name, n in sorted(texts.replaced.items())[:5]],
             "observed": dict(sorted(texts.replaced.items()))}]


def read_texts(spec: DatasetSpec, sources: list) -> Texts:
    files, _ = text_keys(spec)
    paths, names = source_paths(sources)
    return read_sources(paths, files, names)


def texts_table(texts: Texts, splits: np.ndarray) -> pa.Table:
    return pa.table({"text": pa.array(texts.text, pa.string()), "label": pa.array(texts.label, pa.string()),
                     "split": pa.array(list(splits), pa.string())})


def read_published_texts(version: Path) -> pd.DataFrame:
    """A published version's texts: text, label, split."""
    return pq.read_table(Path(version) / TEXTS).to_pandas()


# ---------------------------------------------------------------------------------------------------------------
# Prefect tasks
# ---------------------------------------------------------------------------------------------------------------
def _spec(dataset: str) -> DatasetSpec:
    from tasks.core import datasets

    return getattr(datasets, "dataset_spec", datasets.builtin_spec)(dataset)


@task(task_run_name="validate raw {dataset}", cache_key_fn=raw_cache_key, persist_result=True)
def validate_raw_texts(dataset: str, sources: list, validation_dir: Path) -> Path:
    """The suite on the texts as read: label set, at least one text, none empty; replaced bytes counted."""
    spec = _spec(dataset)
    texts = read_texts(spec, sources)
    labels = label_names(texts, spec)
    result = run_suite(text_frame(texts), text_suite("raw", spec, labels, SPLITS), "texts")
    result = SuiteResult(result.suite, result.batch, result.rows, result.failed_hard,
                         result.failed_soft + replaced_finding(texts), result.evaluated)
    return report(dataset, "raw", raw_key(dataset, [s.sha256 for s in sources]), [result], validation_dir)


@task(task_run_name="normalize {dataset}", cache_key_fn=version_cache_key, persist_result=True)
def normalize_texts(dataset: str, sources: list, raw_report: Path, processed_dir: Path) -> Path:
    """The texts with their split as `texts.parquet` and the training split's vocabulary in a new version."""
    spec = _spec(dataset)
    files, vocabulary_keys = text_keys(spec)
    texts = read_texts(spec, sources)
    labels = label_names(texts, spec)
    splits = assign_splits(texts, files)
    train = [t for t, s in zip(texts.text, splits) if s == "train"]
    vocabulary = build_vocabulary(train, vocabulary_keys.standardize, vocabulary_keys.max_tokens, labels)
    provenance = {"dataset": dataset, "rows": len(texts.text),
                  "splits": {s: int((splits == s).sum()) for s in SPLITS},
                  "sources": [{"name": f.name, "sha256": f.sha256} for f in sources],
                  "repairs": {"undecodable_bytes_replaced": texts.replaced, "blank_lines": texts.blank_lines},
                  "ignored": texts.ignored}
    with atomic.staging_dir(published_link(processed_dir, dataset)) as staging:
        write_parquet(texts_table(texts, splits), staging / TEXTS, provenance)
        (staging / VOCABULARY).write_text(vocabulary.to_json(), encoding="utf-8")
        shutil.copyfile(raw_report, staging / "validation.raw.json")
        key = version_key(dataset, [f.sha256 for f in sources])
        return atomic.finalize_version(staging, published_link(processed_dir, dataset), key)


@task(task_run_name="validate normalized {dataset}", cache_key_fn=normalized_cache_key, persist_result=True)
def validate_normalized_texts(dataset: str, version: Path, validation_dir: Path) -> Path:
    """The suite again on each published split: every label in it, none empty."""
    spec = _spec(dataset)
    frame = read_published_texts(version)
    labels = tuple(json.loads((Path(version) / VOCABULARY).read_text(encoding="utf-8"))["labels"])
    results = []
    for split in SPLITS:
        part = frame[frame["split"] == split]
        if len(part):
            texts = Texts(text=list(part["text"]), label=list(part["label"]),
                          where=[f"{TEXTS} row {i + 1}" for i in part.index])
            results.append(run_suite(text_frame(texts, part["split"].to_numpy()),
                                     text_suite("normalized", spec, labels, SPLITS), split))
    return report_normalized(dataset, version, results, validation_dir)


def version_vocabulary(version: Path) -> Vocabulary:
    from tasks.core.vocabulary import read_vocabulary

    return read_vocabulary(Path(version) / VOCABULARY)
