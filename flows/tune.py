"""tune: a small search over one model's settings, each trial a training run, judged on validation only.

    python -m flows.tune --model jena_conv_gru --profile quick --grid learning_rate=1e-3,3e-4 --grid batch_size=32,128
        [--trials-file trials.json] [--seeds 1337,7,42] [--write-profile NAME] [--train-on local|gpu-pool] [--force]

Deployed through prefect.yaml as `tune/<model>` (cpu pool, trials on `train-model/gpu`, several workers at once).
Writes artifacts/tunes/<tune-id>/ (tune.json, tune.md, tune.png), the `tune-<model>` artifact, and with
`write_profile` the winner as a profile file that `--profile` accepts. It does not ingest: it trains on the
published data, as flows.train does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flows.cli.command import run_command, start_temporary_server
from flows.cli.options import TUNE


def read_trials_file(path: str) -> list:
    """A --trials-file: a JSON list (each trial an object of settings); errors name the file."""
    import json

    from tasks.core.errors import SettingsError

    try:
        trials = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SettingsError(f"--trials-file {path}: cannot read it as JSON: {error}") from None
    if not isinstance(trials, list):
        raise SettingsError(f"--trials-file {path} holds a {type(trials).__name__}; expected a JSON list of "
                            'trials, e.g. [{"learning_rate": 0.001}, {"learning_rate": 0.0003}]')
    return trials


def run(args: argparse.Namespace) -> int:
    """`seqconv tune`: check the plan, train the trials, print the table and the tune folder."""
    from tasks.core.config import family
    from tasks.model import dataset_path
    from tasks.tune import parse_grid, parse_seeds, plan_tune

    grid = parse_grid(args.grid) if args.grid else None
    trials = read_trials_file(args.trials_file) if args.trials_file else None
    seeds = parse_seeds(args.seeds) if args.seeds is not None else None
    plan_tune(args.model, args.profile, grid, trials, args.train_on, args.write_profile, seeds)  # before Prefect
    if args.train_on == "local":
        dataset_path(Path(args.data_dir), family(args.model))
    start_temporary_server()
    from flows.tune import tune_flow  # this module's flow (not yet defined under -m)
    from tasks.core import runs

    tune_json = tune_flow(model=args.model, base_profile=args.profile, grid=grid, trials=trials,
                          data_dir=args.data_dir, artifacts_dir=args.artifacts_dir, train_on=args.train_on,
                          write_profile=args.write_profile, force=args.force, seeds=seeds)
    report = Path(tune_json).with_name(runs.TUNE_REPORT).read_text(encoding="utf-8")
    print("\n".join(line for line in report.splitlines() if not line.startswith("![")).rstrip())
    print(Path(tune_json).parent)
    return 0


if __name__ == "__main__":  # options parse (and --help answers) before Prefect or TensorFlow load
    sys.exit(run_command(TUNE, run))

from prefect import flow

from flows.dispatch import train_runs
from tasks.core import runs
from tasks.tune import parse_seeds, plan_tune, summarize_tune, trial_jobs, write_winner_profile


@flow(name="tune", log_prints=True)
def tune_flow(
    model: str,
    base_profile: str = "quick",
    grid: dict[str, list] | None = None,
    trials: list[dict] | None = None,
    data_dir: str = "data",
    artifacts_dir: str = "artifacts",
    train_on: str = "local",
    write_profile: str | None = None,
    force: bool = False,
    seeds: list[int] | None = None,
) -> str:
    """Train one run per trial (a grid's combinations, or a list of overrides) on top of `base_profile`, or one
    per trial and seed with `seeds` (judged on the mean), choose the winner on validation, write the table and
    plot, and optionally the winner as a profile; returns tune.json."""
    data_dir, artifacts_dir = str(Path(data_dir).resolve()), str(Path(artifacts_dir).resolve())
    trial_overrides = plan_tune(model, base_profile, grid, trials, train_on, write_profile, seeds)  # before training
    seeds = parse_seeds(seeds) if seeds is not None else None
    tune_id = runs.new_run_id()
    jobs = [(model, run_id, overrides) for run_id, overrides in trial_jobs(tune_id, trial_overrides, seeds)]
    run_dirs = train_runs(jobs, base_profile, data_dir, artifacts_dir, train_on, force, tags=["tune", tune_id])
    tune_json = summarize_tune(model, base_profile, tune_id, trial_overrides, run_dirs, artifacts_dir, seeds)
    if write_profile:
        write_winner_profile(tune_json, write_profile)
    return tune_json
