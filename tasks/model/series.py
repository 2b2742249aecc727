"""The series kind in the model stage: a published record split by time, normalized with its training rows and
cut into windows, and one run's windows as `model.fit` arguments (tasks.model.kinds looks this module up for every
dataset of kind "series").

Which rows belong to which split: tasks.model.splits; the statistics: tasks.model.normalizer; which rows form a
window, and the tf.data pipeline that gathers them: tasks.model.windows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tasks.core import atomic, runs
from tasks.core.config import TrainSettings, check_settings
from tasks.core.errors import DataFormatError, SettingsError
from tasks.core.log import log
from tasks.core.records.normalization import NormalizationRecord
from tasks.ingest import feature_columns, read_jena, read_jena_seconds


@dataclass
class SeriesData:
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


def record_file(path: Path, s: TrainSettings) -> Path:
    """The one Parquet file of the published record at `path` (its family's files, tasks.core.config.FAMILIES)."""
    (name,) = s.spec.files
    return Path(path) / name


def resolve_split(s: TrainSettings, seconds: np.ndarray) -> TrainSettings:
    """The settings with the split a record is cut by, and why (split_reason): `auto` resolved from the
    record's timestamps alone (tasks.model.splits.choose_split); a named split kept, and a run's settings.json,
    which names the split it used and why, as it is.

    Raises:
        SettingsError: if `auto` resolves to a blocked split whose blocks are shorter than a window.
    """
    from tasks.model.splits import choose_split

    if s.split != "auto" and s.split_reason:
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
    """The settings a run trains with on the published record at `path`: resolve_split on its timestamps. The
    result is what the run's settings.json records."""
    if s.split != "auto" and s.split_reason:
        return s
    return resolve_split(s, read_jena_seconds(record_file(path, s)))  # the timestamps alone decide


def prepare_jena(path: Path, s: TrainSettings, normalizer=None) -> SeriesData:
    """Split by time (contiguous or blocked; `auto` resolved from this record, resolve_split), normalize, and
    find every window that crosses no split boundary and no gap.

    Args:
        path: the published dataset folder.
        s: the run's settings (split, block_days, block_pattern, lookback, delay, max_gap_minutes); a trained
            run's (its settings.json) name the split it was trained on, which is never chosen again.
        normalizer: a trained model's statistics (its normalization.json) to judge it on other data with; None
            fits them on this data's training rows, as training does.
    """
    from tasks.model.normalizer import fit_normalizer, normalize
    from tasks.model.splits import split_ranges
    from tasks.model.windows import window_rows

    names = feature_columns(record_file(path, s))  # as the dataset's reader wrote them, the target among them
    seconds, features = read_jena(record_file(path, s), names)  # (rows,), (rows, features)
    s = resolve_split(s, seconds)
    splits = split_ranges(seconds, s.split, block_days=s.block_days, pattern=s.block_pattern,
                          stamped=s.spec.record.stamped)
    normalizer = normalizer or fit_normalizer(features, splits["train"], names)  # training rows only
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
    return SeriesData(normalize(features, normalizer), seconds, normalizer, splits, rows,
                      names.index(s.spec.record.target), s.split,
                      s.split_reason)


def jena_split_facts(data: SeriesData, s: TrainSettings) -> dict[str, dict]:
    """Per split: rows, windows, windows the split boundaries cost, first and last time, months, windows per
    season (tasks.model.splits.split_facts)."""
    from tasks.model.splits import split_facts

    return split_facts(data.seconds, data.splits, data.rows, lookback=s.lookback, delay=s.delay,
                       max_gap_minutes=s.max_gap_minutes, stamped=s.spec.record.stamped)


def split_settings(s: TrainSettings) -> dict:
    """The settings that decide which rows are in which split: a model is judged again only with the same ones
    (the spec's record.stamped too: it moves a midnight reading into another day, so maybe another block)."""
    return {"split": s.split, "block_days": s.block_days, "block_pattern": s.block_pattern,
            "stamped": s.spec.record.stamped}


def jena_dataset(data: SeriesData, split: str, s: TrainSettings, *, shuffle: bool, limit_batches: int = 0):
    """The tf.data windows of one split; `limit_batches` > 0 keeps only the first batches (in time order)."""
    from tasks.model.windows import make_window_dataset

    rows = data.rows[split]
    if limit_batches:
        rows = rows[: limit_batches * s.batch_size]
    return rows, make_window_dataset(
        data.series, rows, lookback=s.lookback, step=s.step, delay=s.delay, target_col=data.target_col,
        batch_size=s.batch_size, shuffle=shuffle, seed=s.seed,
    )


def normalization_record(data: SeriesData, s: TrainSettings) -> NormalizationRecord:
    """What a series model needs besides its weights to be used on new data (its normalization.json): the training
    statistics, the window shape and the split they were fitted on, and why (tasks.serve and tasks.judge read it
    back with NormalizationRecord.read; tasks.judge refuses to judge the model on another split)."""
    n = data.normalizer
    return NormalizationRecord(features=n.features, mean=n.mean, std=n.std, target=s.spec.record.target,
                               target_col=data.target_col, lookback=s.lookback, step=s.step, delay=s.delay,
                               split_settings={**split_settings(s), "split": data.split,
                                               "split_reason": data.split_reason})


def fit_arguments(s: TrainSettings, path: Path, run_dir: Path) -> tuple[dict, int]:
    """The windows of one run as `model.fit` arguments, and the features per timestep. Also writes
    normalization.json: the training statistics a later evaluation or forecast must reuse, and data_profile.json."""
    from tasks.ingest import jena_training_profile

    data = prepare_jena(path, s)
    log(f"{s.split} split ({s.split_reason}): "
        + ", ".join(f"{split} {len(rows):,} windows in {len(data.splits[split])} range(s)"
                    for split, rows in data.rows.items()))
    normalization_record(data, s).write(run_dir / runs.NORMALIZATION)
    # The raw training rows (data.series is normalized), kept so drift has a reference after the version is pruned
    atomic.write_json(run_dir / runs.DATA_PROFILE, jena_training_profile(
        path, data.splits["train"], record_file(path, s).name, data.normalizer.features, s.spec.name,
        stamped=s.spec.record.stamped))
    _, train_ds = jena_dataset(data, "train", s, shuffle=True)
    _, val_ds = jena_dataset(data, "val", s, shuffle=False, limit_batches=s.validation_steps)
    return dict(x=train_ds.repeat(), validation_data=val_ds, steps_per_epoch=s.steps_per_epoch,
                shuffle=False), data.series.shape[1]  # the dataset shuffles itself
