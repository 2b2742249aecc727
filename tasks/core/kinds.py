"""The kinds of dataset a model can read, and the training settings each kind adds to every run of it.

Two kinds: text classification (`text`: reviews as word ids) and time series (`series`: windows of a record).
Every run of a kind reads all of its kind's settings (its data pipeline does), whatever the architecture; what an
architecture reads besides is in its registration (tasks.core.architectures). Settings are frozen and typed; every
field says its unit or why; `check` returns the problems of a value (each naming its settings), never raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tasks.core.errors import Problem

SPLITS = ("contiguous", "blocked", "auto")  # SeriesSettings.split (tasks.model.splits: split_ranges, choose_split)


@dataclass(frozen=True)
class TextSettings:
    """What every text-classification run reads: the vocabulary, the review length and the validation split."""

    num_words: int = 10_000  # vocabulary: the most frequent words; rarer ones become the OOV index
    maxlen: int = 500  # words kept per review (the last ones, as pad_sequences truncates "pre")
    validation_split: float = 0.2  # the last 20% of the (seed-113 shuffled) training set, as Keras fit does
    max_train_samples: int = 0  # subsample the training set (0 = all 25,000); for smoke runs
    max_test_samples: int = 0  # subsample the test set (0 = all 25,000); for smoke runs
    bow_epochs: int = 4  # bag-of-words baseline epochs
    labels: int = 2  # the labels of the data a run trains on (recorded, not a knob): set when the data is read
    # (tasks.model.text.settings_for_data); two: a sigmoid output, more: a softmax

    def check(self, s: Any) -> list[Problem]:
        problems = []
        if not 0 < self.validation_split < 1:
            problems.append(Problem(f"validation_split={self.validation_split}: must be between 0 and 1",
                                    ("validation_split",)))
        if self.num_words < 4 or self.maxlen < 1:  # what an architecture's layers need besides is its own check
            problems.append(Problem(f"num_words={self.num_words}, maxlen={self.maxlen}: need num_words >= 4 and "
                                    "maxlen >= 1", ("num_words", "maxlen")))
        if self.max_train_samples < 0 or self.max_test_samples < 0 or self.bow_epochs < 1:
            problems.append(Problem("max_train_samples and max_test_samples must be >= 0 and bow_epochs >= 1",
                                    ("max_train_samples", "max_test_samples", "bow_epochs")))
        return problems


@dataclass(frozen=True)
class SeriesSettings:
    """What every time-series run reads: the windows (rows of the record's grid), the epochs and the split."""

    lookback: int = 1440  # rows of history per window (10 days at 10 minutes a row)
    step: int = 6  # rows between the samples of a window (6 = one per hour)
    delay: int = 144  # rows between the window's end and its target (24 hours)
    steps_per_epoch: int = 500  # training batches per epoch, drawn from the shuffled, repeated windows
    validation_steps: int = 0  # validation batches watched per epoch while training (0 = every window); the
    # final judgement (tasks.judge.evaluate) always uses every validation and test window
    max_gap_minutes: int = 360  # no window spans a hole in the record's grid longer than this
    split: str = "auto"  # one of SPLITS: "contiguous" = the book's train, val, test one after the other;
    # "blocked" = calendar blocks of block_days dealt as block_pattern, so a short record has every season in
    # every split (tasks.model.splits explains both, and the windows the block boundaries cost); "auto" = chosen
    # from the record's timestamps when it is read: blocked when it spans less than two full years (and at least
    # one cycle of blocks), else contiguous (tasks.model.splits.choose_split). A run's settings.json holds
    # the split it used, never "auto"
    split_reason: str = ""  # why the run has its split (recorded, not a knob): set when the data is read, e.g.
    # "auto: the record spans 10.1 months (< 2 years), so blocked"; empty in settings not yet applied to data
    block_days: int = 28  # whole days per block (blocked only); longer than a window's lookback + delay (11 days)
    block_pattern: str = "train,train,val,test"  # splits dealt to consecutive blocks, repeating (blocked only):
    # 50/25/25 of the rows, each split's blocks together, so three split boundaries per 16 weeks, the fewest

    def check(self, s: Any) -> list[Problem]:
        problems = []
        if self.step < 1 or self.lookback < self.step:
            problems.append(Problem(f"lookback={self.lookback}, step={self.step}: lookback must be at least the step "
                                    "(>= 1)", ("lookback", "step")))
        elif self.lookback % self.step:
            problems.append(Problem(f"lookback={self.lookback} must be a multiple of step={self.step}",
                                    ("lookback", "step")))
        elif self.lookback // self.step < 22:  # Conv(5) -> Pool(3) -> Conv(5) -> Pool(2) needs 22 timesteps
            problems.append(Problem(f"lookback/step = {self.lookback // self.step} timesteps: the Jena models need "
                                    "at least 22", ("lookback", "step")))
        if self.delay < 1:
            problems.append(Problem(f"delay={self.delay}: must be at least 1 row", ("delay",)))
        if self.steps_per_epoch < 1 or self.validation_steps < 0:
            problems.append(Problem("steps_per_epoch must be >= 1; validation_steps >= 0 (0 = all)",
                                    ("steps_per_epoch", "validation_steps")))
        interval = s.spec.interval_minutes  # the record's grid
        if self.max_gap_minutes < interval:
            problems.append(Problem(f"max_gap_minutes={self.max_gap_minutes}: must be at least {interval}",
                                    ("max_gap_minutes",)))
        if self.split not in SPLITS:
            problems.append(Problem(f"split={self.split!r}: must be one of {', '.join(SPLITS)}", ("split",)))
        elif self.split != "contiguous":  # blocked, or auto that may resolve to it: the pattern must make sense
            problems += self._block_problems(interval)
        return problems

    def _block_problems(self, interval_minutes: int) -> list[Problem]:
        problems = []
        window_rows = self.lookback + self.delay + 1  # rows r - lookback .. r + delay
        rows_per_day = 24 * 60 // interval_minutes
        if self.split == "blocked" and self.block_days * rows_per_day < window_rows:  # auto: checked if it resolves so
            problems.append(Problem(
                f"block_days={self.block_days}: a block must be longer than a window (lookback + delay = "
                f"{self.lookback + self.delay} rows, {(self.lookback + self.delay) / rows_per_day:.3g} days); "
                f"need block_days >= {-(-window_rows // rows_per_day)}", ("block_days",)))
        names = [n.strip() for n in self.block_pattern.split(",")]
        splits = ("train", "val", "test")
        if any(n not in splits for n in names) or any(n not in names for n in splits):
            problems.append(Problem(f"block_pattern={self.block_pattern!r}: must be comma-separated names from "
                                    f"{', '.join(splits)}, each at least once (e.g. train,train,val,test)",
                                    ("block_pattern",)))
        return problems


KINDS: dict[str, type] = {"text": TextSettings, "series": SeriesSettings}  # kind -> the settings it adds
