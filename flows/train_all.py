"""train-all: ingest both datasets, train the models, judge them against their baselines, promote, report.

    python -m flows.train_all --profile quick [--mirror DIR] [--jena-files mpi_roof_2024a.csv ...]
        [--models imdb_conv jena_conv jena_conv_gru] [--train-on local|gpu-pool] [--force]
        [--retrain on_change|always|on_drift|on_decay]

Deployed through prefect.yaml as `train-all/train-all` (weekly, `quick`) and `train-all/seed` (the published
settings). With `train_on="gpu-pool"` every model is trained by the `train-model/gpu` deployment, so GPU workers
do the training and this flow's CPU worker the rest.
"""

from __future__ import annotations

import sys
from pathlib import Path

from prefect import flow, task

from flows.dispatch import train_runs
from flows.ingest import ingest_flow_for
from tasks.core import runs
from tasks.core.config import DEFAULT_MODELS, family, models_for
from tasks.core.datasets import dataset_spec, is_spec_path, use_data_dir
from tasks.core.profiles import check_run, overrides_for
from tasks.core.sources import default_jena_files
from tasks.ingest import plan_retraining
from tasks.judge import champion_model_dir, check_registry, judge_champion, promote_model
from tasks.publish import write_run_report


@task(task_run_name="ingest {dataset}")
def ingest(dataset: str, mirror: str | None, data_dir: str, jena_files: list[str] | None,
           artifacts_dir: str = "artifacts") -> str:
    """Run one dataset's ingest flow (a subflow) and return the published dataset's folder."""
    return str(ingest_flow_for(dataset, mirror, data_dir, jena_files, artifacts_dir))


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
    retrain: str = "on_change",
    dataset: str | None = None,
) -> str:
    """Ingest, train every model, evaluate against baselines, promote champions and report; returns report.md.

    `retrain`: "on_change" trains a model when its data, code or settings changed; "always" trains every model
    again (as `force`); "on_drift" only a model whose dataset's drift report flags a feature, or without a champion;
    "on_decay" only a model whose champion no longer beats its strongest baseline on the rows of the newest version
    it never saw (judged during ingestion), or without a champion.

    `dataset`: one dataset to train on (a spec file's path, or a name): the default architectures of its kind, or
    those `models` names, each as <architecture>@<dataset> (tasks.core.config.models_for).
    """
    data_dir, artifacts_dir = str(Path(data_dir).resolve()), str(Path(artifacts_dir).resolve())
    use_data_dir(data_dir)
    sources = {}  # dataset name -> how ingest is given it: a spec's path where one was named
    if dataset:
        spec = dataset_spec(dataset)
        sources[spec.name] = dataset if is_spec_path(dataset) else spec.name
        models = models_for(spec.name, models)
    models = models or list(DEFAULT_MODELS)
    check_run(profile, models, overrides, train_on, retrain)  # every check that can come before an hour of work
    check_registry(runs.registry_dir(artifacts_dir), models)
    jena_files = jena_files or default_jena_files()
    run_id = runs.new_run_id()
    force = force or retrain == "always"

    ingested = [ingest.submit(sources.get(d, d), mirror, data_dir, jena_files, artifacts_dir)
                for d in sorted({family(m) for m in models})]
    for future in ingested:  # both datasets concurrently
        future.result()
    plan = plan_retraining(retrain, models, data_dir, artifacts_dir)  # model -> {"train", "reason"}
    to_train = [m for m in models if plan[m]["train"]]

    jobs = [(m, run_id, overrides_for(m, overrides)) for m in to_train]  # each model the values it reads
    run_dirs = train_runs(jobs, profile, data_dir, artifacts_dir, train_on, force)  # on the gpu pool all at once,
    # else here one after another

    registry = runs.registry_dir(artifacts_dir)
    results = []
    for model, run_dir in zip(to_train, run_dirs):  # champion and challenger compared on the same data
        champion_now = judge_champion(registry, model, run_dir, data_dir,
                                      runs.champion_evaluation_dir(artifacts_dir, run_id, model))
        results.append({"run_dir": run_dir, "promotion": promote_model(registry, model, run_dir, champion_now),
                        "reused": Path(run_dir).resolve() != runs.run_dir(artifacts_dir, run_id, model).resolve(),
                        "retrained_because": plan[model]["reason"]})
    results += [{"run_dir": str(champion_model_dir(registry, m)), "promotion": None, "reused": True,
                 "not_retrained": plan[m]["reason"]} for m in models if not plan[m]["train"]]  # the champion stays
    return write_run_report(results, run_id, profile, artifacts_dir, data_dir, retrain)


if __name__ == "__main__":  # python -m flows.train_all is `seqconv train-all`
    from flows.cli import main
    sys.exit(main(["train-all", *sys.argv[1:]]))
