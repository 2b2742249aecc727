"""Train one model on already-ingested data, judge it against its baselines, and plot it.

    python -m flows.train --model imdb_conv|jena_conv|jena_conv_gru|jena_conv_gru_fast|imdb_dilated|jena_tcn \
        --profile smoke|quick|seed|tuned [--data-dir D] [--artifacts-dir A] [--set key=value ...] [--run-id ID]

Runs locally without a Prefect server (ephemeral mode) and prints the run folder. Settings and data are checked
before any training starts. Rerunning an interrupted run's id resumes it from its last finished epoch.
"""

from __future__ import annotations

import sys
from pathlib import Path

from prefect import flow

from tasks.core import runs
from tasks.core.cache import cached_path
from tasks.core.config import family
from tasks.core.log import log
from tasks.core.profiles import resolve_settings
from tasks.judge import evaluate_model_task
from tasks.model import fingerprint_data, train_model_task
from tasks.publish import plot_and_publish
from tasks.serve import export_serving_task
from tasks.core.datasets import use_data_dir


@flow(name="train-model", log_prints=True)
def train_model_flow(
    model: str,
    profile: str = "quick",
    data_dir: str = "data",
    artifacts_dir: str = "artifacts",
    run_id: str | None = None,
    overrides: dict[str, str] | None = None,
    force: bool = False,
) -> str:
    """Train one model (any of tasks.core.config.MODELS) on ingested data, export its
    serving model, judge it and plot it; returns its run folder. The same data, code and settings reuse the
    earlier run unless `force`."""
    use_data_dir(data_dir)  # a spec'd dataset's spec is stored there
    settings = resolve_settings(model, profile, overrides)
    run_id = run_id or runs.new_run_id()
    run_dir = runs.run_dir(artifacts_dir, run_id, model)
    data_sha256 = fingerprint_data(data_dir, family(model), run_dir)  # a resumed run's: the version it started on
    trained = Path(cached_path(train_model_task, settings, data_dir, run_dir, run_id, data_sha256, force=force))
    export_serving_task(trained)  # the model with its preprocessing inside: serving/ (kept if already made)
    evaluate_model_task(trained, data_dir, trained, artifacts_dir)
    plot_and_publish(trained, model)
    if trained.resolve() != run_dir.resolve():
        log(f"reusing {trained}: same data, code and settings (--force, or force=true, trains again)")
        runs.record_reuse(run_dir, trained)
    return str(trained)


if __name__ == "__main__":  # python -m flows.train is `seqconv train`
    from flows.cli import main
    sys.exit(main(["train", *sys.argv[1:]]))
