"""A published dataset read into arrays for a model: the IMDB encoding and the Jena splits, normalization and
windows. Training and evaluation read their data through here, so both see exactly the same reviews and windows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tasks.core.atomic import published_link, published_version
from tasks.core.cache import files_sha256
from tasks.core.config import FAMILIES, TrainSettings, check_settings
from tasks.core.errors import DataFormatError, SettingsError
from tasks.core.records.normalization import NormalizationRecord
from tasks.ingest import read_imdb_split, read_jena, read_jena_seconds, read_provenance

KERAS_IMDB_SEED = 113  # keras.datasets.imdb.load_data shuffles train, then test, with RandomState(113)
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


def data_fingerprint(path: Path, family: str) -> dict[str, Any]:
    """The sha256 of a published dataset's Parquet files, and of the sources behind them (from its metadata)."""
    files = [Path(path) / name for name in FAMILIES[family].files]
    provenance = read_provenance(files[0])
    return {"path": str(Path(path).resolve()), "sha256": files_sha256(files), "sources": provenance["sources"]}


# ---------------------------------------------------------------------------------------------------------------
# IMDB
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class ImdbData:
    x: dict[str, np.ndarray]  # split -> (reviews, maxlen) int32 ids
    y: dict[str, np.ndarray]  # split -> (reviews,) float32 0/1
    offset: dict[str, list[np.ndarray]]  # split -> unpadded ids (for the bag-of-words baseline)


def prepare_imdb(path: Path, s: TrainSettings) -> ImdbData:
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
    data = ImdbData({}, {}, {})
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


def in_order(x: np.ndarray, y: np.ndarray | None = None, batch_size: int = 512):
    """Arrays as a tf.data dataset of consecutive batches, in order (validation, evaluation, prediction).

    The same batches Keras makes of numpy arrays, so the same figures; built here because Keras' own adapter maps
    its unshuffled arrays through a tf.data op that makes TensorFlow 2.21 log a C++ error line ("NodeDef mentions
    attribute use_unbounded_threadpool") on every call.
    """
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices(x if y is None else (x, y)).batch(batch_size)


# ---------------------------------------------------------------------------------------------------------------
# Jena
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class JenaData:
    series: np.ndarray  # (rows, features) float32, normalized with the training rows' statistics
    seconds: np.ndarray  # (rows,) int64 timestamps
    normalizer: Any  # tasks.model.normalizer.Normalizer
    splits: dict[str, list[tuple[int, int]]]  # split -> its inclusive row ranges (one each when contiguous)
    rows: dict[str, np.ndarray]  # split -> anchor rows of every valid window, in time order
    target_col: int
    split: str = "contiguous"  # how the rows were cut (an "auto" split resolved: resolve_split)
    split_reason: str = ""  # why (TrainSettings.split_reason)

    @property
    def target_std(self) -> float:
        return float(self.normalizer.std[self.target_col])

    @property
    def target_mean(self) -> float:
        return float(self.normalizer.mean[self.target_col])

    def celsius(self, normalized: np.ndarray) -> np.ndarray:
        """Normalized temperatures back to °C."""
        return np.asarray(normalized, dtype=np.float64) * self.target_std + self.target_mean


def resolve_split(s: TrainSettings, seconds: np.ndarray) -> TrainSettings:
    """The settings with the split a Jena record is cut by, and why (split_reason): `auto` resolved from the
    record's timestamps alone (tasks.model.splits.choose_split); a named split kept, and a run's settings.json,
    which names the split it used and why, as it is. IMDB settings are returned unchanged.

    Raises:
        SettingsError: if `auto` resolves to a blocked split whose blocks are shorter than a window.
    """
    from tasks.model.splits import choose_split

    if s.family != "jena" or (s.split != "auto" and s.split_reason):
        return s
    split, reason = choose_split(s.split, seconds, block_days=s.block_days, pattern=s.block_pattern)
    resolved = dataclasses.replace(s, split=split, split_reason=reason)
    try:
        check_settings(resolved)  # a blocked split's blocks must hold a window
    except SettingsError as error:
        raise SettingsError(f"{error} (split auto chose blocked: {reason}; set split=contiguous, or longer "
                            "block_days)") from None
    return resolved


def settings_for_data(path: Path, s: TrainSettings) -> TrainSettings:
    """The settings a run trains with on the published dataset at `path`: resolve_split on its timestamps (Jena;
    IMDB settings as they are). The result is what the run's settings.json records."""
    if s.family != "jena" or (s.split != "auto" and s.split_reason):
        return s
    return resolve_split(s, read_jena_seconds(Path(path) / "jena.parquet"))  # the timestamps alone decide


def prepare_jena(path: Path, s: TrainSettings, normalizer=None) -> JenaData:
    """Split by time (contiguous or blocked; `auto` resolved from this record, resolve_split), normalize, and
    find every window that crosses no split boundary and no gap.

    Args:
        path: the published Jena dataset folder.
        s: the run's settings (split, block_days, block_pattern, lookback, delay, max_gap_minutes); a trained
            run's (its settings.json) name the split it was trained on, which is never chosen again.
        normalizer: a trained model's statistics (its normalization.json) to judge it on other data with; None
            fits them on this data's training rows, as training does.
    """
    from tasks.model.normalizer import fit_normalizer, normalize
    from tasks.model.splits import split_ranges
    from tasks.model.windows import JENA_TARGET_COL, window_rows

    seconds, features = read_jena(path / "jena.parquet")  # (rows,), (rows, features)
    s = resolve_split(s, seconds)
    splits = split_ranges(seconds, s.split, block_days=s.block_days, pattern=s.block_pattern)
    normalizer = normalizer or fit_normalizer(features, splits["train"])  # training rows only
    rows = {
        split: window_rows(seconds, ranges, s.lookback, s.delay, s.max_gap_minutes) for split, ranges in splits.items()
    }
    empty = [split for split, r in rows.items() if not len(r)]
    if empty:
        held = ", ".join(f"{split} {sum(b - a + 1 for a, b in ranges):,} rows in {len(ranges)} range(s), "
                         f"the longest {max(b - a + 1 for a, b in ranges):,}" for split, ranges in splits.items())
        raise DataFormatError(
            f"no {'/'.join(empty)} windows in {path} with split={s.split}: a window needs more than lookback + delay "
            f"= {s.lookback + s.delay} consecutive rows of one split without a gap over {s.max_gap_minutes} min; "
            f"{held}"
        )
    return JenaData(normalize(features, normalizer), seconds, normalizer, splits, rows, JENA_TARGET_COL, s.split,
                    s.split_reason)


def jena_split_facts(data: JenaData, s: TrainSettings) -> dict[str, dict]:
    """Per split: rows, windows, windows the split boundaries cost, first and last time, months, windows per
    season (tasks.model.splits.split_facts)."""
    from tasks.model.splits import split_facts

    return split_facts(data.seconds, data.splits, data.rows, lookback=s.lookback, delay=s.delay,
                       max_gap_minutes=s.max_gap_minutes)


def split_settings(s: TrainSettings) -> dict:
    """The settings that decide which rows are in which split: a model is judged again only with the same ones."""
    return {"split": s.split, "block_days": s.block_days, "block_pattern": s.block_pattern}


def jena_dataset(data: JenaData, split: str, s: TrainSettings, *, shuffle: bool, limit_batches: int = 0):
    """The tf.data windows of one split; `limit_batches` > 0 keeps only the first batches (in time order)."""
    from tasks.model.windows import make_window_dataset

    rows = data.rows[split]
    if limit_batches:
        rows = rows[: limit_batches * s.batch_size]
    return rows, make_window_dataset(
        data.series, rows, lookback=s.lookback, step=s.step, delay=s.delay, target_col=data.target_col,
        batch_size=s.batch_size, shuffle=shuffle, seed=s.seed,
    )


def normalization_record(data: JenaData, s: TrainSettings) -> NormalizationRecord:
    """What a Jena model needs besides its weights to be used on new data (its normalization.json): the training
    statistics, the window shape and the split they were fitted on, and why (tasks.serve and tasks.judge.evaluate read it
    back with NormalizationRecord.read; tasks.judge.evaluate refuses to judge the model on another split)."""
    from tasks.core.sources import JENA_TARGET

    n = data.normalizer
    return NormalizationRecord(features=n.features, mean=n.mean, std=n.std, target=JENA_TARGET,
                               target_col=data.target_col, lookback=s.lookback, step=s.step, delay=s.delay,
                               split_settings={**split_settings(s), "split": data.split,
                                               "split_reason": data.split_reason})
