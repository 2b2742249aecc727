"""train-all: ingest both datasets, train the models, judge them against their baselines, promote, report.

    python -m flows.train_all --profile quick [--mirror DIR] [--jena-files mpi_roof_2024a.csv ...]
        [--models imdb_conv jena_conv jena_conv_gru] [--train-on local|gpu-pool] [--force]

Deployed through prefect.yaml as `train-all/train-all` (weekly, `quick`) and `train-all/seed` (the published
settings). With `train_on="gpu-pool"` every model is trained by the `train-model/gpu` deployment, so GPU workers
do the training and this flow's CPU worker the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from prefect import flow, task
from prefect.deployments import run_deployment

from flows.ingest import ingest_imdb_flow, ingest_jena_flow
from flows.train import parse_overrides, train_model_flow
from tasks.config import MODELS, PROFILES, family, resolve_settings
from tasks.errors import SeqconvError, SettingsError
from tasks.registry import promote_model
from tasks.report import metrics_table_rows, plots_markdown, publish_metrics_table, publish_plots, publish_report
from tasks.report import report_markdown
from tasks.train import new_run_id, resolve_run_dir

DEFAULT_MODELS = ["imdb_conv", "jena_conv", "jena_conv_gru"]  # the book's three; jena_conv_gru_fast on request
GPU_DEPLOYMENT = "train-model/gpu"
JENA_FILES_ENV = "SEQCONV_JENA_FILES"  # default for `jena_files`: space-separated station file names


@task(task_run_name="ingest {dataset}")
def ingest(dataset: str, mirror: str | None, data_dir: str, jena_files: list[str] | None) -> str:
    """Run one dataset's ingest flow (a subflow) and return the published dataset's folder."""
    if dataset == "imdb":
        return str(ingest_imdb_flow(mirror=mirror, data_dir=data_dir))
    return str(ingest_jena_flow(mirror=mirror, data_dir=data_dir, files=jena_files))


@task(task_run_name="train {model} on the gpu pool", retries=2, retry_delay_seconds=10)
def train_on_gpu_pool(model: str, profile: str, data_dir: str, artifacts_dir: str, run_id: str,
                      overrides: dict[str, str], force: bool) -> str:
    """Run `train-model/gpu` for one model and wait for it. A run that crashed with its worker is retried with
    the same run id, so it resumes from its last finished epoch (tasks.checkpoint)."""
    flow_run = run_deployment(
        GPU_DEPLOYMENT,
        parameters=dict(model=model, profile=profile, data_dir=data_dir, artifacts_dir=artifacts_dir,
                        run_id=run_id, overrides=overrides, force=force),
        flow_run_name=f"{model}-{run_id}",
        timeout=None,  # training takes as long as it takes; the GPU pool's own concurrency decides when it starts
    )
    if not flow_run.state or not flow_run.state.is_completed():
        raise SeqconvError(f"{GPU_DEPLOYMENT} run {flow_run.name} for {model} ended {flow_run.state}")
    # The worker's return value stays on its host; the shared artifacts folder says where the run landed.
    return str(resolve_run_dir(Path(artifacts_dir) / "runs" / run_id / model))


@task(task_run_name="report {run_id}")
def report(results: list[dict], run_id: str, profile: str) -> str:
    """Publish the run's Prefect artifacts (metrics table, verdicts, plots); the ingest flows publish validation."""
    for r in results:
        publish_plots(r["metrics"]["model"], plots_markdown(Path(r["run_dir"]), r["metrics"]["model"]))
    publish_metrics_table(metrics_table_rows(results))
    markdown = report_markdown(results, run_id, profile)
    publish_report(markdown)
    return markdown


@flow(name="train-all", log_prints=True)
def train_all_flow(
    profile: str = "quick",
    mirror: str | None = None,
    data_dir: str = "data",
    artifacts_dir: str = "artifacts",
    jena_files: list[str] | None = None,
    models: list[str] | None = None,
    force: bool = False,
    train_on: str = "local",
    overrides: dict[str, str] | None = None,
) -> str:
    """Ingest, train every model, evaluate against baselines, promote champions and report; returns report.md."""
    models = models or DEFAULT_MODELS
    if train_on not in ("local", "gpu-pool"):
        raise SettingsError(f"train_on={train_on!r}; allowed: local, gpu-pool")
    for model in models:  # every setting checked before anything is downloaded
        resolve_settings(model, profile, overrides)
    jena_files = jena_files or os.environ.get(JENA_FILES_ENV, "").split() or None
    data_dir, artifacts_dir = str(Path(data_dir).resolve()), str(Path(artifacts_dir).resolve())
    run_id = new_run_id()

    datasets = sorted({family(m) for m in models})
    ingested = {d: ingest.submit(d, mirror, data_dir, jena_files) for d in datasets}  # concurrently
    for future in ingested.values():
        future.result()

    if train_on == "gpu-pool":
        futures = [train_on_gpu_pool.submit(m, profile, data_dir, artifacts_dir, run_id, overrides or {}, force)
                   for m in models]
        run_dirs = [f.result() for f in futures]
    else:
        run_dirs = [train_model_flow(m, profile, data_dir, artifacts_dir, run_id, overrides, force) for m in models]

    results = []
    for model, run_dir in zip(models, run_dirs):
        metrics_path = Path(run_dir) / "metrics.json"
        promotion = promote_model(Path(artifacts_dir) / "registry", model, metrics_path)
        results.append({"metrics": json.loads(metrics_path.read_text()), "promotion": promotion,
                        "run_dir": run_dir})
    markdown = report(results, run_id, profile)
    out = Path(artifacts_dir) / "runs" / run_id / "report.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown)
    return str(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.train_all", description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="quick", help=f"one of {', '.join(PROFILES)} (default quick)")
    parser.add_argument("--mirror", default=None, help="local folder or base URL of the sources "
                                                       "(default: $SEQCONV_MIRROR, else the canonical sites)")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--artifacts-dir", default="artifacts")
    parser.add_argument("--jena-files", nargs="+", default=None, metavar="NAME",
                        help=f"station files instead of the classic zip (default: ${JENA_FILES_ENV})")
    parser.add_argument("--models", nargs="+", default=None, help=f"any of {', '.join(MODELS)}")
    parser.add_argument("--train-on", default="local", choices=["local", "gpu-pool"])
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--force", action="store_true", help="train again even for unchanged data and code")
    args = parser.parse_args(argv)
    try:
        overrides = parse_overrides(args.overrides)
        for model in args.models or DEFAULT_MODELS:
            resolve_settings(model, args.profile, overrides)  # fail fast, before Prefect starts
        path = train_all_flow(profile=args.profile, mirror=args.mirror, data_dir=args.data_dir,
                              artifacts_dir=args.artifacts_dir, jena_files=args.jena_files, models=args.models,
                              force=args.force, train_on=args.train_on, overrides=overrides)
    except SeqconvError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2 if isinstance(e, SettingsError) else 1
    print(Path(path).read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
