"""Tuning: a small search over settings, each trial a training run of its own, judged on validation only.

A tune takes a model, a base profile and either a grid (`{"learning_rate": [1e-3, 3e-4], "dropout": [0, 0.5]}`:
every combination) or an explicit list of trials (`[{"learning_rate": 1e-3}, {"batch_size": 32}]`). Each trial is
the base profile plus its overrides, checked whole before anything trains. Once the trials have run, their run
folders (metrics.json, training.json, settings.json) make the table: trial, the settings tried, validation and
test figures, epochs, seconds. The winner is the best validation figure (FAMILIES' direction: accuracy up, MAE
down); ties go to fewer seconds, then the earlier trial. The test figures are shown, never used to choose.

With `seeds` every trial runs once per seed and is judged on the mean over them; the table gives the mean and the
range. Seeds move a model's figures as much as most settings do (RESULTS.md), so a search on one seed mostly
picks the luckiest initialization: a gain is only worth claiming where it is larger than the spread.

    artifacts/tunes/<tune-id>/tune.json   the table and the winner (tasks.core.runs.TUNE), tune.md, tune.png
    profiles/<name>.json                  the winner as a profile file (--write-profile), if asked for

This module plans a tune: the trials (a grid's combinations or a list), the seeds, the run id of every training
run, and every check that can come before any training. The table, the winner and the profile file, once the
trials have run: tasks.tune.summary.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tasks.core import runs
from tasks.core.config import (
    PROFILE_NAME,
    PROFILES,
    TRAIN_ON,
)
from tasks.core.profiles import (
    profile_layers,
    read_profile_file,
    resolve_settings,
    setting_text,
)
from tasks.core.errors import SettingsError

MAX_TRIALS = 64  # a "small" search: more is a mistake in a grid (a typo'd list), not a plan


# ---------------------------------------------------------------------------------------------------------------
# The trials
# ---------------------------------------------------------------------------------------------------------------
def parse_grid(pairs: Sequence[str]) -> dict[str, list[str]]:
    """`--grid key=v1,v2` pairs as {key: [values]}: `["learning_rate=1e-3,3e-4", "dropout=0,0.5"]`."""
    grid: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, values = pair.partition("=")
        key = key.strip()
        items = [v.strip() for v in values.split(",")]
        if not sep or not key or not all(items):
            raise SettingsError(f"--grid {pair!r}: expected key=value1,value2,..., e.g. --grid learning_rate=1e-3,3e-4")
        if key in grid:
            raise SettingsError(f"--grid {key} given twice; give all its values in one --grid {key}=v1,v2")
        grid[key] = items
    return grid


def expand_grid(grid: Mapping[str, Any]) -> list[dict[str, str]]:
    """Every combination of a grid's values, as `--set`-style overrides (strings), in the grid's key order with
    the last key changing fastest: {"a": [1, 2], "b": [0, 5]} -> a=1 b=0, a=1 b=5, a=2 b=0, a=2 b=5.

    A value that is not a list is one value; a list must hold at least one value, each a string, number or
    boolean.
    """
    if not isinstance(grid, Mapping) or not grid:
        raise SettingsError(f"grid {grid!r}: expected an object of setting -> [values], at least one setting")
    columns = []
    for key, values in grid.items():
        values = list(values) if isinstance(values, (list, tuple)) else [values]
        if not values:
            raise SettingsError(f"grid {key}: no values; expected at least one")
        texts = [setting_text(key, v) for v in values]
        repeated = sorted({t for t in texts if texts.count(t) > 1})
        if repeated:
            raise SettingsError(f"grid {key}: value(s) {', '.join(repeated)} given more than once")
        columns.append([(key, t) for t in texts])
    return [dict(combination) for combination in itertools.product(*columns)]


def trial_overrides(grid: Mapping[str, Any] | None, trials: Sequence[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    """The trials of a tune: the grid's combinations, or the explicit list (one object of overrides a trial)."""
    if (grid is None) == (trials is None):
        raise SettingsError("give either a grid (--grid key=v1,v2) or a list of trials (--trials-file), not "
                            f"{'both' if grid is not None else 'neither'}")
    if grid is not None:
        out = expand_grid(grid)
    else:
        if not isinstance(trials, (list, tuple)) or not trials:
            raise SettingsError(f"trials {trials!r}: expected a list of objects of setting -> value, at least one")
        out = []
        for number, trial in enumerate(trials, 1):
            if not isinstance(trial, Mapping):
                raise SettingsError(f"trial {number}: {trial!r} is a {type(trial).__name__}; expected an object "
                                    "of setting -> value")
            out.append({key: setting_text(key, value) for key, value in trial.items()})
    if len(out) > MAX_TRIALS:
        raise SettingsError(f"{len(out)} trials; a tune runs at most {MAX_TRIALS} (a smaller grid, or a list)")
    return out


def parse_seeds(text: str | Sequence) -> list[int]:
    """`--seeds 1337,7,42` (or a list) as distinct ints, in the order given."""
    items = [v.strip() for v in text.split(",")] if isinstance(text, str) else list(text)
    seeds = []
    for item in items:
        whole = isinstance(item, int) and not isinstance(item, bool) and item >= 0
        if not (whole or (isinstance(item, str) and item.isdigit())):
            raise SettingsError(f"seeds {text!r}: {item!r} is not a whole number >= 0; expected e.g. 1337,7,42")
        seeds.append(int(item))
    if not seeds:
        raise SettingsError(f"seeds {text!r}: expected at least one seed, e.g. 1337,7,42")
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise SettingsError(f"seeds {text!r}: {', '.join(map(str, repeated))} given more than once")
    return seeds


def trial_jobs(tune_id: str, trials: Sequence[Mapping[str, str]], seeds: Sequence[int] | None = None
               ) -> list[tuple[str, dict[str, str]]]:
    """(run id, overrides) of every training run of a tune, trial by trial, each trial once per seed."""
    if not seeds:
        return [(runs.trial_run_id(tune_id, n), dict(t)) for n, t in enumerate(trials, 1)]
    return [(runs.trial_run_id(tune_id, n, seed), {**t, "seed": str(seed)})
            for n, t in enumerate(trials, 1) for seed in seeds]


def describe(overrides: Mapping[str, Any]) -> str:
    """"learning_rate=0.001 dropout=0.5", or "(base)" for a trial that changes nothing."""
    return " ".join(f"{k}={v}" for k, v in overrides.items()) or "(base)"


def check_trials(model: str, base_profile: str, trials: Sequence[Mapping[str, str]]) -> list:
    """Every trial's resolved TrainSettings, so a bad value fails before any training; two trials that come to
    the same settings are an error too (the second would only reuse the first)."""
    resolved = []
    for number, overrides in enumerate(trials, 1):
        try:
            resolved.append(resolve_settings(model, base_profile, dict(overrides)))
        except SettingsError as error:
            raise SettingsError(f"trial {number} ({describe(overrides)}): {error}") from None
    for (i, a), (j, b) in itertools.combinations(enumerate(resolved, 1), 2):
        if a == b:
            raise SettingsError(f"trials {i} and {j} resolve to the same settings ({describe(trials[i - 1])}; "
                                f"{describe(trials[j - 1])}): drop one")
    return resolved


def profile_target(write_profile: str | None, base_profile: str, model: str) -> Path | None:
    """Where the winner is written: `profiles/<name>.json` of the checkout for a name, else the .json path given.
    A built-in profile's name, or a file of another base, is refused before anything trains."""
    from tasks.core import config

    if not write_profile:
        return None
    if write_profile in PROFILES:
        raise SettingsError(f"--write-profile {write_profile!r} is a built-in profile; choose another name")
    if write_profile.endswith(".json"):
        path = Path(write_profile)
    elif PROFILE_NAME.match(write_profile):
        path = config.PROFILES_DIR / f"{write_profile}.json"
    else:
        raise SettingsError(f"--write-profile {write_profile!r}: expected a name of letters, digits, '_', '-' and "
                            "'.', or a path ending in .json")
    base, _ = profile_layers(base_profile, model)
    if path.exists():
        existing = read_profile_file(path)
        if existing["base"] != base:
            raise SettingsError(f"--write-profile {path}: the file's base is {existing['base']!r}, this tune's "
                                f"{base!r}; a profile file has one base: write to another name")
    return path


def plan_tune(model: str, base_profile: str, grid: Mapping[str, Any] | None,
              trials: Sequence[Mapping[str, Any]] | None, train_on: str = "local",
              write_profile: str | None = None, seeds: Sequence[int] | None = None) -> list[dict[str, str]]:
    """Every check that can come before any training: the trials (each resolved), the seeds, where they run, and
    where the winner would be written. Returns the trials' overrides."""
    if train_on not in TRAIN_ON:
        raise SettingsError(f"train_on={train_on!r}; allowed: {', '.join(TRAIN_ON)}")
    overrides = trial_overrides(grid, trials)
    if seeds is not None:
        seeds = parse_seeds(seeds)
        if any("seed" in t for t in overrides):
            raise SettingsError("the trials set `seed` and seeds are given too: give the seeds once, as seeds")
        if len(overrides) * len(seeds) > MAX_TRIALS:
            raise SettingsError(f"{len(overrides)} trials x {len(seeds)} seeds = {len(overrides) * len(seeds)} runs; "
                                f"a tune runs at most {MAX_TRIALS}")
    check_trials(model, base_profile, overrides)
    profile_target(write_profile, base_profile, model)
    return overrides
