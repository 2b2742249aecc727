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

Plain functions first; the thin @task wrappers last.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from prefect import task

from tasks.core import atomic, runs
from tasks.core.config import (
    PROFILE_NAME,
    PROFILES,
    TRAIN_ON,
    family_of,
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


# ---------------------------------------------------------------------------------------------------------------
# The table and the winner
# ---------------------------------------------------------------------------------------------------------------
def trial_row(number: int, overrides: Mapping[str, str], run_dir: Path | str) -> dict:
    """One finished trial from its run folder: the settings it tried (as trained, typed), the validation and test
    figures (Jena: °C beside them), epochs run, best epoch, training seconds."""
    folder = runs.resolve_run_dir(Path(run_dir))  # the earlier run's, where the model was reused
    metrics = runs.read_metrics(folder)
    training = runs.read_json(folder / runs.TRAINING, "written when training finished")
    settings = runs.read_settings(folder)
    spec = family_of(settings.model)
    metric = spec.metric
    val, test = metrics["validation"], metrics.get("test") or {}
    return {
        "trial": number,
        "settings": {key: getattr(settings, key) for key in overrides},
        "val": val[metric],
        # what chooses: °C for Jena, since trials that change the split normalize with other statistics
        "val_compared": val.get(spec.compared, val[metric]),
        "test": test.get(metric),
        "val_celsius": val.get("mae_celsius"),
        "test_celsius": test.get("mae_celsius"),
        "epochs_run": training.get("epochs_run"),
        "best_epoch": training.get("best_epoch"),
        "seconds": training.get("training_seconds"),
        "run_id": training.get("run_id"),
        "run_dir": str(folder),
    }


def choose_winner(rows: Sequence[Mapping], higher_is_better: bool) -> int:
    """Index of the best row on the validation figure alone (`val_compared`: Jena's MAE in °C, where present;
    else `val`); ties: fewer seconds, then the earlier trial. A trial whose figure is missing or NaN (diverged)
    wins only if every trial's is."""
    if not rows:
        raise ValueError("no trials to choose from")

    def rank(i: int) -> tuple:
        val = rows[i].get("val_compared", rows[i].get("val"))
        bad = val is None or not math.isfinite(float(val))
        score = math.inf if bad else (-float(val) if higher_is_better else float(val))
        seconds = rows[i].get("seconds")
        return score, math.inf if seconds is None else float(seconds), i

    return min(range(len(rows)), key=rank)


FIGURES = ("val", "val_compared", "test", "val_celsius", "test_celsius")  # what a trial over seeds averages


def _mean(values: Sequence) -> float | None:
    """The mean, None if any value is missing; NaN (a diverged seed) stays NaN, so that trial cannot win."""
    if any(v is None for v in values):
        return None
    return float(sum(float(v) for v in values) / len(values))


def seeds_row(number: int, overrides: Mapping[str, str], run_dirs: Sequence[Path | str],
              seeds: Sequence[int]) -> dict:
    """One trial run once per seed: the mean of each figure (what chooses), its range (`ranges`: [min, max]),
    epochs and best epochs per seed, the seconds of all seeds together, and every seed's own row (`runs`)."""
    per_seed = [{**trial_row(number, overrides, d), "seed": seed} for d, seed in zip(run_dirs, seeds, strict=True)]
    row = {"trial": number, "settings": per_seed[0]["settings"]}
    row.update({key: _mean([r[key] for r in per_seed]) for key in FIGURES})
    row["ranges"] = {key: [min(float(r[key]) for r in per_seed), max(float(r[key]) for r in per_seed)]
                     for key in FIGURES if row[key] is not None}
    row.update(epochs_run=[r["epochs_run"] for r in per_seed], best_epoch=[r["best_epoch"] for r in per_seed],
               seconds=round(sum(float(r["seconds"] or 0) for r in per_seed), 2), run_id=per_seed[0]["run_id"],
               run_dir=per_seed[0]["run_dir"], runs=per_seed)
    return row


def tune_summary(model: str, base_profile: str, tune_id: str, trials: Sequence[Mapping[str, str]],
                 run_dirs: Sequence[Path | str], flow_run: str | None = None,
                 seeds: Sequence[int] | None = None) -> dict:
    """The content of tune.json: what was searched, one row per trial (with seeds: the mean over them, each
    trial's runs in `seeds` order, trial after trial in `run_dirs`), and the winner (on validation)."""
    spec = family_of(model)
    if seeds:
        if len(run_dirs) != len(trials) * len(seeds):
            raise ValueError(f"{len(run_dirs)} run folders for {len(trials)} trials x {len(seeds)} seeds")
        k = len(seeds)
        rows = [seeds_row(n, t, run_dirs[(n - 1) * k:n * k], seeds) for n, t in enumerate(trials, 1)]
    else:
        rows = [trial_row(n, t, d) for n, (t, d) in enumerate(zip(trials, run_dirs, strict=True), 1)]
    winner = choose_winner(rows, spec.higher_is_better)
    return {
        "tune_id": tune_id,
        "model": model,
        "base_profile": base_profile,
        "metric": spec.metric,
        "metric_label": spec.label,
        "higher_is_better": spec.higher_is_better,
        "judged_on": "validation",  # the test figures are in the table for information only
        "keys": list(dict.fromkeys(k for t in trials for k in t)),
        "seeds": list(seeds) if seeds else None,  # each trial's figures are the mean over these
        "trials": rows,
        "winner": rows[winner]["trial"],
        "flow_run": flow_run,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": runs.git_commit(),
    }


def winner_of(summary: Mapping) -> dict:
    """The winning row of a tune summary."""
    return next(r for r in summary["trials"] if r["trial"] == summary["winner"])


def _figure(value, celsius, ranges: Mapping | None = None, key: str = "val") -> str | None:
    """"2.481 °C (0.2721)" or "0.8844"; over seeds the range follows: "2.588 °C (0.2839) [2.481-2.696 °C]"."""
    if value is None:
        return None
    text = f"{celsius:.3f} °C ({value:.4g})" if celsius is not None else f"{value:.4g}"
    if ranges and f"{key}_celsius" in ranges and celsius is not None:
        low, high = ranges[f"{key}_celsius"]
        return f"{text} [{low:.3f}-{high:.3f} °C]"
    if ranges and key in ranges:
        low, high = ranges[key]
        return f"{text} [{low:.4g}-{high:.4g}]"
    return text


def _cell(value):
    return ", ".join(map(str, value)) if isinstance(value, list) else value


def tune_markdown(summary: Mapping, image: str) -> str:
    """A tune as markdown: the verdict, the table (the winner marked) and the plot.

    Args:
        summary: tune_summary's result.
        image: a markdown line showing the plot (a relative link in tune.md, the PNG embedded in the artifact).
    """
    from tasks.core.tables import markdown_table

    best = winner_of(summary)
    label = summary["metric_label"]
    seeds = summary.get("seeds")
    over = f", the mean over seeds {', '.join(map(str, seeds))} [their range]" if seeds else ""
    lines = [
        f"# Tune {summary['tune_id']}: {summary['model']}",
        "",
        f"{len(summary['trials'])} trials on top of profile `{summary['base_profile']}`, judged on the validation "
        f"split only ({label}{over}, {'higher' if summary['higher_is_better'] else 'lower'} is better; ties: fewer "
        f"seconds, then the earlier trial). The test figures are shown for information; they chose nothing.",
        "",
        f"**Winner: trial {best['trial']}** ({describe(best['settings'])}): {label} "
        f"{_figure(best['val'], best['val_celsius'], best.get('ranges'))}, "
        f"test {_figure(best['test'], best['test_celsius'], best.get('ranges'), 'test')}.",
        "",
    ]
    header = ["trial", *summary["keys"], label, label.replace("val ", "test "), "epochs run", "best epoch",
              "seconds", "run id"]
    rows = [[f"**{r['trial']} (winner)**" if r["trial"] == best["trial"] else r["trial"],
             *(r["settings"].get(k) for k in summary["keys"]),
             _figure(r["val"], r["val_celsius"], r.get("ranges")),
             _figure(r["test"], r["test_celsius"], r.get("ranges"), "test"), _cell(r["epochs_run"]),
             _cell(r["best_epoch"]), r["seconds"], r["run_id"]]
            for r in summary["trials"]]
    lines += markdown_table(header, rows)
    lines += ["", image]
    return "\n".join(lines) + "\n"


def tune_plot_inputs(summary: Mapping) -> dict:
    """What tune.png draws: each trial's validation and test figure in the unit that chose (Jena: °C, since
    trials may normalize differently), and over seeds the ranges."""
    rows = summary["trials"]
    celsius = all(r.get("val_celsius") is not None for r in rows)
    val_key, test_key = ("val_celsius", "test_celsius") if celsius else ("val", "test")
    figure = lambda v: float("nan") if v is None else float(v)  # noqa: E731
    inputs = {"labels": [describe(r["settings"]) for r in rows], "val": [figure(r[val_key]) for r in rows],
              "test": [figure(r[test_key]) for r in rows],
              "metric_label": "MAE (°C)" if celsius else family_of(summary["model"]).curve_label}
    if summary.get("seeds"):
        nan = [math.nan, math.nan]
        inputs["val_range"] = [r.get("ranges", {}).get(val_key, nan) for r in rows]
        inputs["test_range"] = [r.get("ranges", {}).get(test_key, nan) for r in rows]
    return inputs


def winner_profile(summary: Mapping, existing: Mapping | None = None, table: str | None = None) -> dict:
    """The winner as a profile file's content: the tune's base (a built-in) and, for the tuned model, the base
    profile file's values (if the tune started from one) with the winning trial's settings on top. Other models
    of an existing file of the same base are kept."""
    model = summary["model"]
    best = winner_of(summary)
    base, from_base_file = profile_layers(summary["base_profile"], model)
    models = {**((existing or {}).get("models") or {}), model: {**from_base_file, **best["settings"]}}
    created_by = dict((existing or {}).get("created_by") or {})
    created_by[model] = {
        "tune_id": summary["tune_id"],
        "flow_run": summary.get("flow_run"),
        "base_profile": summary["base_profile"],
        "trials": len(summary["trials"]),
        "winner_trial": best["trial"],
        "seeds": summary.get("seeds"),
        "winner_run_dir": best["run_dir"],
        summary["metric_label"]: best["val"],
        "test " + summary["metric"]: best["test"],
        "table": table,
        "git_commit": summary.get("git_commit"),
        "created": summary.get("created"),
    }
    return {
        "base": base,
        "description": "Tuned on the validation split by the tune flow: "
                       + "; ".join(f"{m} (tune {c.get('tune_id')})" for m, c in created_by.items()),
        "models": models,
        "created_by": created_by,
    }


# ---------------------------------------------------------------------------------------------------------------
# Prefect tasks
# ---------------------------------------------------------------------------------------------------------------
@task(task_run_name="summarize tune {tune_id}")
def summarize_tune(model: str, base_profile: str, tune_id: str, trials: list[dict[str, str]],
                   run_dirs: list[str], artifacts_dir: str, seeds: list[int] | None = None) -> str:
    """Read every trial's run folder, choose the winner on validation, and write tune.json, tune.png and tune.md
    in artifacts/tunes/<tune-id>/ and the `tune-<model>` artifact; returns tune.json."""
    from prefect.runtime import flow_run

    from tasks.publish import plot_tune
    from tasks.core.tables import embedded_png
    from tasks.publish import publish_tune

    out = runs.tune_dir(artifacts_dir, tune_id)
    summary = tune_summary(model, base_profile, tune_id, trials, run_dirs, flow_run.get_id(), seeds)
    plot = plot_tune(**tune_plot_inputs(summary), out=out / runs.TUNE_PLOT, winner=summary["winner"] - 1,
                     title=f"{model}: tune {tune_id}")
    atomic.write_text(out / runs.TUNE_REPORT, tune_markdown(summary, f"![trials]({runs.TUNE_PLOT})"))
    publish_tune(model, tune_markdown(summary, embedded_png(plot, "trials")))
    best = winner_of(summary)
    print(f"tune {tune_id}: trial {best['trial']} ({describe(best['settings'])}) wins on {summary['metric_label']} "
          f"{_figure(best['val'], best['val_celsius'], best.get('ranges'))} -> {out}")
    return str(atomic.write_json(out / runs.TUNE, summary))  # last: its presence means the tune finished


@task(task_run_name="write profile {write_profile}")
def write_winner_profile(tune_json: str, write_profile: str) -> str:
    """Write the winner of a tune as a profile file (profiles/<name>.json, or the .json path), atomically."""
    summary = json.loads(Path(tune_json).read_text(encoding="utf-8"))
    path = profile_target(write_profile, summary["base_profile"], summary["model"])
    existing = read_profile_file(path) if path.exists() else None
    atomic.write_json(path, winner_profile(summary, existing, table=str(Path(tune_json).with_name(runs.TUNE_REPORT))))
    read_profile_file(path)  # what was written resolves
    print(f"profile {write_profile} -> {path}")
    return str(path)
