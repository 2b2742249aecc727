"""A tune's result, once its trials have run: the table (one row per trial, read from its run folder), the winner
on validation alone, tune.json, tune.md, tune.png and the `tune-<model>` artifact, and the winner as a profile file.

The winner is the best validation figure (FAMILIES' direction: accuracy up, MAE down; Jena in °C, since trials
that change the split normalize with other statistics); ties go to fewer seconds, then the earlier trial. The test
figures are shown, never used to choose. Over seeds, each trial's figures are the mean, with their range.

Plain functions first; the thin @task wrappers last.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from prefect import task

from tasks.core import atomic, runs
from tasks.core.config import family_of
from tasks.core.profiles import profile_layers, read_profile_file
from tasks.core.records.metrics import Metrics
from tasks.tune.trials import describe, profile_target


# ---------------------------------------------------------------------------------------------------------------
# The table and the winner
# ---------------------------------------------------------------------------------------------------------------
def trial_row(number: int, overrides: Mapping[str, str], run_dir: Path | str) -> dict:
    """One finished trial from its run folder: the settings it tried (as trained, typed), the validation and test
    figures (Jena: °C beside them), epochs run, best epoch, training seconds."""
    folder = runs.resolve_run_dir(Path(run_dir))  # the earlier run's, where the model was reused
    metrics = Metrics.read(folder)
    training = atomic.read_json(folder / runs.TRAINING, "written when training finished")
    settings = runs.read_settings(folder)
    spec = family_of(settings.model)
    metric = spec.metric
    val, test = metrics.validation, metrics.test
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

    from tasks.core.tables import embedded_png
    from tasks.publish import plot_tune, publish_tune

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
