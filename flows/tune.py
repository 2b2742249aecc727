"""tune: a small search over one model's settings, each trial a training run, judged on validation only.

    python -m flows.tune --model jena_conv_gru --profile quick --grid learning_rate=1e-3,3e-4 --grid batch_size=32,128
        [--trials-file trials.json] [--seeds 1337,7,42] [--write-profile NAME] [--train-on local|gpu-pool] [--force]

Deployed through prefect.yaml as `tune/<model>` (cpu pool, trials on `train-model/gpu`, several workers at once).
Writes artifacts/tunes/<tune-id>/ (tune.json, tune.md, tune.png), the `tune-<model>` artifact, and with
`write_profile` the winner as a profile file that `--profile` accepts. It does not ingest: it trains on the
published data, as flows.train does.
"""

from __future__ import annotations

import sys
from pathlib import Path

from prefect import flow

from flows.dispatch import train_runs
from tasks.core import runs
from tasks.core.datasets import use_data_dir
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
    use_data_dir(data_dir)  # a spec'd dataset's spec is stored there
    trial_overrides = plan_tune(model, base_profile, grid, trials, train_on, write_profile, seeds)  # before training
    seeds = parse_seeds(seeds) if seeds is not None else None
    tune_id = runs.new_run_id()
    jobs = [(model, run_id, overrides) for run_id, overrides in trial_jobs(tune_id, trial_overrides, seeds)]
    run_dirs = train_runs(jobs, base_profile, data_dir, artifacts_dir, train_on, force, tags=["tune", tune_id])
    tune_json = summarize_tune(model, base_profile, tune_id, trial_overrides, run_dirs, artifacts_dir, seeds)
    if write_profile:
        write_winner_profile(tune_json, write_profile)
    return tune_json


if __name__ == "__main__":  # python -m flows.tune is `seqconv tune`
    from flows.cli import main
    sys.exit(main(["tune", *sys.argv[1:]]))
