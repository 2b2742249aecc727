"""The text kind in the model stage: a published dataset of reviews read into padded word ids, and one run's
reviews as `model.fit` arguments (tasks.model.kinds looks this module up for every dataset of kind "text").

The reviews are encoded as keras.datasets.imdb.load_data returns them (tasks.model.encoding), in its order, so
training and evaluation see exactly the book's reviews.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tasks.core import atomic, runs
from tasks.core.config import TrainSettings
from tasks.core.errors import DataFormatError
from tasks.core.vocabulary import read_vocabulary
from tasks.core.log import log
from tasks.ingest import read_imdb_split
from tasks.model.dataset import in_order

VOCABULARY, VOCABULARY_SHA256, TEXTS = runs.VOCABULARY, runs.VOCABULARY_SHA256, runs.TEXTS  # a version's too
KERAS_IMDB_SEED = 113  # keras.datasets.imdb.load_data shuffles train, then test, with RandomState(113)


@dataclass
class TextData:
    x: dict[str, np.ndarray]  # split -> (reviews, maxlen) int32 ids
    y: dict[str, np.ndarray]  # split -> (reviews,) float32 0/1, or int32 label numbers for more than two labels
    offset: dict[str, list[np.ndarray]]  # split -> unpadded ids (for the bag-of-words baseline)


def settings_for_data(path: Path, s: TrainSettings) -> TrainSettings:
    """The settings a run trains with on the texts at `path`: the number of labels is the data's (a user's corpus
    names them in its vocabulary.json; IMDB's are two). A vocabulary smaller than num_words leaves the embedding's
    last rows unused, as Keras' TextVectorization's max_tokens is a ceiling."""
    vocabulary_file = Path(path) / VOCABULARY
    if not vocabulary_file.is_file():
        return s
    return dataclasses.replace(s, labels=len(read_vocabulary(vocabulary_file).labels))


def label_names(path: Path, s: TrainSettings) -> tuple[str, ...]:
    """The labels' names by label number: a user's corpus's, as its data names them (its version's
    vocabulary.json); else the spec's text.labels (IMDB's negative, positive); else the numbers themselves."""
    vocabulary_file = Path(path) / VOCABULARY
    if vocabulary_file.is_file():
        return read_vocabulary(vocabulary_file).labels
    return tuple(s.spec.text.labels if s.spec.text and s.spec.text.labels else map(str, range(max(s.labels, 2))))


def prepare_texts(path: Path, s: TrainSettings) -> TextData:
    """A user's texts (format text_files) as model inputs: the published split, label numbers in the vocabulary's
    order, ids by the version's vocabulary (tasks.core.vocabulary), the first `num_words` of them; each split in a
    seeded shuffled order (as prepare_imdb's), so a smoke run's subset holds every label."""
    import pyarrow.parquet as pq

    vocabulary = read_vocabulary(Path(path) / VOCABULARY)
    table = pq.read_table(Path(path) / TEXTS).to_pandas()
    number = {label: i for i, label in enumerate(vocabulary.labels)}
    rng = np.random.RandomState(KERAS_IMDB_SEED)
    limits = {"train": s.max_train_samples, "val": int(np.ceil(s.max_train_samples * s.validation_split)),
              "test": s.max_test_samples}
    data = TextData({}, {}, {})
    for split in ("train", "val", "test"):
        part = table[table["split"] == split]
        order = rng.permutation(len(part))
        if limits[split]:
            order = order[:limits[split]]
        if not len(order):
            raise DataFormatError(f"{path}: no {split} texts; a text dataset needs train, val and test texts")
        texts = part["text"].to_numpy()[order]
        data.offset[split] = vocabulary.ids(texts, s.num_words)
        data.x[split] = vocabulary.encode(texts, s.maxlen, s.num_words)
        labels = part["label"].map(number).to_numpy()[order]
        data.y[split] = labels.astype(np.float32 if s.labels <= 2 else np.int32)
    return data


def prepare_text(path: Path, s: TrainSettings) -> TextData:
    """The texts of a dataset version as model inputs, by the format of its spec."""
    return PREPARERS[s.spec.format](path, s)


def prepare_imdb(path: Path, s: TrainSettings) -> TextData:
    """Encode the reviews as the book did: Keras' load_data order and offsets, then the published 20% split.

    keras.datasets.imdb.load_data shuffles each split with RandomState(113) (train first, then test, one
    generator); `fit(validation_split=0.2)` then holds out the *last* 20% of that order. Our npz rows come
    sorted by label, so skipping the shuffle would make the validation set all negative.
    """
    from tasks.model.encoding import encode_reviews, offset_reviews

    rng = np.random.RandomState(KERAS_IMDB_SEED)
    reviews, labels = {}, {}
    for split in ("train", "test"):
        r, y = read_imdb_split(path, split)
        order = np.arange(len(r))
        rng.shuffle(order)
        reviews[split], labels[split] = [r[i] for i in order], y[order]
    split_at = int(np.ceil(len(reviews["train"]) * (1 - s.validation_split)))  # as keras' validation_split
    parts = {
        "train": (reviews["train"][:split_at], labels["train"][:split_at]),
        "val": (reviews["train"][split_at:], labels["train"][split_at:]),
        "test": (reviews["test"], labels["test"]),
    }
    limits = {"train": s.max_train_samples, "val": s.max_train_samples, "test": s.max_test_samples}
    data = TextData({}, {}, {})
    for split, (r, y) in parts.items():
        limit = limits[split] if split != "val" else int(np.ceil(limits[split] * s.validation_split))
        if limit:  # a subset for smoke runs: the first rows of an already shuffled order
            r, y = r[:limit], y[:limit]
        if not len(r):
            raise DataFormatError(f"{path}: no {split} reviews with validation_split={s.validation_split}")
        data.offset[split] = offset_reviews(r, s.num_words)
        data.x[split] = encode_reviews(r, s.num_words, s.maxlen)  # (reviews, maxlen)
        data.y[split] = y.astype(np.float32)
    return data


def fit_arguments(s: TrainSettings, path: Path, run_dir: Path) -> tuple[dict, int]:
    """The reviews of one run as `model.fit` arguments, and 0 features per timestep (a review is word ids). Also
    writes data_profile.json: what the training reviews looked like, the reference for drift (tasks.ingest.drift)."""
    from tasks.ingest import imdb_training_profile, texts_training_profile

    data = prepare_text(path, s)
    if s.spec.format == "text_files":
        atomic.write_json(run_dir / runs.DATA_PROFILE, texts_training_profile(
            data.offset["train"], data.y["train"], s.num_words, label_names(path, s), s.spec.name))
        keep_vocabulary(path, run_dir)
    else:
        atomic.write_json(run_dir / runs.DATA_PROFILE, imdb_training_profile(data.offset["train"], data.y["train"],
                                                                             s.num_words))
        keep_word_index(path, run_dir)
    return dict(x=data.x["train"], y=data.y["train"], batch_size=s.batch_size,
                validation_data=in_order(data.x["val"], data.y["val"], s.batch_size)), 0


def keep_word_index(dataset: Path, run_dir: Path) -> None:
    """Copy the word index of the dataset version a run trains on into its folder, with its sha256: raw text is
    then encoded with the vocabulary the model saw, wherever the run is used and whatever version of the dataset
    is published later (tasks.serve). A dataset without one (a test's Parquet-only dataset) leaves the run without
    raw text."""
    source = Path(dataset) / runs.WORD_INDEX  # the published dataset's file has the run copy's name
    if not source.is_file():
        log(f"no {source}: this run keeps no word index, so it cannot predict raw text")
        return
    data = source.read_bytes()
    atomic.write_bytes(run_dir / runs.WORD_INDEX, data)
    atomic.write_text(run_dir / runs.WORD_INDEX_SHA256, f"{hashlib.sha256(data).hexdigest()}  {runs.WORD_INDEX}\n")


def keep_vocabulary(dataset: Path, run_dir: Path) -> None:
    """Copy the vocabulary of the dataset version a run trains on into its folder, with its sha256, as
    keep_word_index does the word index: raw text is encoded as the model saw it wherever the run is used."""
    data = (Path(dataset) / VOCABULARY).read_bytes()
    atomic.write_bytes(run_dir / VOCABULARY, data)
    atomic.write_text(run_dir / VOCABULARY_SHA256, f"{hashlib.sha256(data).hexdigest()}  {VOCABULARY}\n")


PREPARERS = {"keras_imdb": prepare_imdb, "text_files": prepare_texts}  # a text spec's format -> its reader here
