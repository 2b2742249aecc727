"""What each command does once its options parsed, and the table of commands: `seqconv <name>` is COMMANDS[name].

Each `run(args)` checks what it can before Prefect starts (settings, input files, the registry: a mistake answers
in a second, not after a server start or an hour of work), starts the temporary Prefect server, runs its flow and
prints what a person reads. The flow comes through `flow_module` once the checks passed: light to import here, and
under `python -m flows.<module>` the module already running rather than a second copy of it. Heavy imports (Prefect,
pandas, TensorFlow) happen inside the functions, so `--help` answers before any of them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from flows.cli.command import Command, flow_module, start_temporary_server
from flows.cli.options import (doctor_options, evaluate_options, ingest_options, predict_options, prune_options,
                               train_all_options, train_options, tune_options, versions_options)


def ingest(args: argparse.Namespace) -> int:
    """`seqconv ingest`: ingest one dataset and print its rows, dates and repairs."""
    from tasks.core.errors import SettingsError

    from tasks.core.datasets import builtin_names, builtin_spec, dataset_name, dataset_spec

    spec = dataset_spec(args.dataset)  # an unknown dataset or a bad spec fails here, before Prefect starts
    if args.files and spec.sources.station is None:
        takes = [name for name in builtin_names() if builtin_spec(name).sources.station is not None]
        raise SettingsError(f"--files applies to {', '.join(takes)} only")
    start_temporary_server()
    from tasks.publish import ingest_summary

    path = flow_module("flows.ingest").ingest_flow_for(args.dataset, args.mirror, args.data_dir, args.files,
                                                       args.artifacts_dir)
    print(ingest_summary(dataset_name(args.dataset), Path(path)))
    return 0


def train(args: argparse.Namespace) -> int:
    """`seqconv train`: check the settings and data, train one model, print its scores and its run folder."""
    from tasks.core.config import family
    from tasks.core.profiles import parse_overrides, resolve_settings
    from tasks.model import dataset_path

    overrides = parse_overrides(args.overrides)
    resolve_settings(args.model, args.profile, overrides)  # fail fast, before Prefect starts
    dataset_path(Path(args.data_dir), family(args.model))
    start_temporary_server()
    from tasks.core.records.metrics import Metrics
    from tasks.publish import evaluation_summary

    run_dir = flow_module("flows.train").train_model_flow(
        model=args.model, profile=args.profile, data_dir=args.data_dir, artifacts_dir=args.artifacts_dir,
        run_id=args.run_id, overrides=overrides, force=args.force)
    print(evaluation_summary(Metrics.read(run_dir).data))
    print(run_dir)
    return 0


def train_all(args: argparse.Namespace) -> int:
    """`seqconv train-all`: check settings and registry, run train-all, print the datasets and the report."""
    from tasks.core import runs
    from tasks.core.config import DEFAULT_MODELS, family, models_for
    from tasks.core.datasets import dataset_spec
    from tasks.core.profiles import check_run, parse_overrides
    from tasks.judge import check_registry

    overrides = parse_overrides(args.overrides)
    if args.dataset:  # a bad spec fails here, before Prefect starts
        models = models_for(dataset_spec(args.dataset).name, args.models)
    else:
        models = args.models or list(DEFAULT_MODELS)
    check_run(args.profile, models, overrides, args.train_on, args.retrain)  # fail fast, before Prefect starts
    check_registry(runs.registry_dir(args.artifacts_dir), models)
    start_temporary_server()
    from tasks.publish import ingest_summary

    path = flow_module("flows.train_all").train_all_flow(
        profile=args.profile, mirror=args.mirror, data_dir=args.data_dir, artifacts_dir=args.artifacts_dir,
        jena_files=args.jena_files, models=models, force=args.force, train_on=args.train_on, overrides=overrides,
        retrain=args.retrain, dataset=args.dataset)
    for dataset in sorted({family(m) for m in models}):
        print(ingest_summary(dataset, Path(args.data_dir) / "processed" / dataset))
    print(Path(path).read_text())
    return 0


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


def tune(args: argparse.Namespace) -> int:
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
    from tasks.core import runs

    tune_json = flow_module("flows.tune").tune_flow(
        model=args.model, base_profile=args.profile, grid=grid, trials=trials, data_dir=args.data_dir,
        artifacts_dir=args.artifacts_dir, train_on=args.train_on, write_profile=args.write_profile, force=args.force,
        seeds=seeds)
    report = Path(tune_json).with_name(runs.TUNE_REPORT).read_text(encoding="utf-8")
    print("\n".join(line for line in report.splitlines() if not line.startswith("![")).rstrip())
    print(Path(tune_json).parent)
    return 0


def evaluate(args: argparse.Namespace) -> int:
    """`seqconv evaluate`: judge a run folder or a champion, print its scores and the evaluation folder."""
    from tasks.core import runs
    from tasks.judge import champion_model_dir

    model_dir = args.model_dir or champion_model_dir(runs.registry_dir(args.artifacts_dir), args.champion)
    runs.check_model_dir(model_dir)  # fail fast, before Prefect starts
    start_temporary_server()
    from tasks.core.records.metrics import Metrics
    from tasks.publish import evaluation_summary

    out_dir = flow_module("flows.evaluate").evaluate_model_flow(
        model_dir=str(model_dir), data_dir=args.data_dir, artifacts_dir=args.artifacts_dir)
    print(evaluation_summary(Metrics.read(out_dir).data))
    print(out_dir)
    return 0


PREDICT_INPUTS = {  # kind of dataset -> the options `predict` reads its inputs from (option -> its dest)
    "text": {"--text": "text", "--file": "file", "--csv": "csv_file"},  # texts to classify
    "series": {"--files": "files"},  # readings to forecast from
}


def predict(args: argparse.Namespace) -> int:
    """`seqconv predict`: check the inputs and the model, predict, print the predictions and where they went."""
    from tasks.core import runs
    from tasks.core.config import FAMILIES
    from tasks.core.errors import SettingsError
    from tasks.serve import OUTPUT_SUFFIXES, choose_model, gather_reviews

    from tasks.core.datasets import dataset_name

    args.dataset = dataset_name(args.dataset)  # a spec file's path: its name
    kind = FAMILIES[args.dataset].kind
    wrong = [option for k, options in PREDICT_INPUTS.items() if k != kind for option, dest in options.items()
             if getattr(args, dest)]
    if wrong:
        raise SettingsError(f"{', '.join(wrong)}: not for {args.dataset} ({kind}); it reads "
                            f"{' or '.join(PREDICT_INPUTS[kind])}")
    if kind == "text":  # fail fast: an unreadable input or a missing column, before any model is loaded
        gather_reviews(args.text, args.file, args.csv_file, args.column)
    if args.out and Path(args.out).suffix.lower() not in OUTPUT_SUFFIXES:
        raise SettingsError(f"--out {args.out}: expected a file ending in {' or '.join(OUTPUT_SUFFIXES)}")
    choose_model(args.dataset, args.model, args.model_dir, runs.registry_dir(args.artifacts_dir))
    start_temporary_server()
    from tasks.publish import prediction_summary

    out_dir = flow_module("flows.predict").predict_flow(
        dataset=args.dataset, model=args.model, model_dir=args.model_dir, texts=args.text, file=args.file,
        csv_file=args.csv_file, column=args.column, files=args.files, data_dir=args.data_dir,
        artifacts_dir=args.artifacts_dir, out=args.out)
    print(prediction_summary(args.dataset, Path(out_dir)))
    print(out_dir if not args.out else f"{out_dir}\n{args.out}")
    return 0


def _listed_versions(args: argparse.Namespace, removing: bool) -> tuple[list, list]:
    """Every dataset's versions with what needs each, and those nothing needs (removed when `removing`)."""
    from tasks.core.errors import SettingsError
    from tasks.core.retention import datasets_in, prune, retention_from_env

    processed = Path(args.data_dir) / "processed"
    names = [args.dataset] if args.dataset else datasets_in(processed)
    if args.dataset and args.dataset not in datasets_in(processed):
        raise SettingsError(f"--dataset {args.dataset}: not published in {processed} "
                            f"(published: {', '.join(datasets_in(processed)) or 'none'})")
    retention = retention_from_env(args.keep_runs)
    listed, unneeded = [], []
    for name in names:
        versions, removed = prune(processed, name, Path(args.artifacts_dir), retention, dry_run=not removing)
        listed += versions
        unneeded += removed
    return listed, unneeded


def versions(args: argparse.Namespace) -> int:
    """`seqconv versions`: each dataset version, its size, when it was published and what needs it."""
    from tasks.core.retention import versions_table

    listed, _ = _listed_versions(args, removing=False)
    print(versions_table(listed) if listed else f"no dataset versions in {Path(args.data_dir) / 'processed'}")
    return 0


def prune(args: argparse.Namespace) -> int:
    """`seqconv prune`: list what nothing needs; remove it with --yes."""
    from tasks.core.retention import human_size, versions_table

    listed, unneeded = _listed_versions(args, removing=args.yes)
    print(versions_table(listed, unneeded, dry_run=not args.yes) if listed else "no dataset versions")
    freed = human_size(sum(v.size for v in unneeded))
    if not unneeded:
        print("nothing to remove: every version is needed")
    elif args.yes:
        print(f"removed {len(unneeded)} version(s), {freed}")
    else:
        print(f"would remove {len(unneeded)} version(s), {freed}: rerun with --yes to remove them")
    return 0


def doctor(args: argparse.Namespace) -> int:
    """`seqconv doctor`: this host's TensorFlow (version, CUDA build, the GPUs it sees), without Prefect; with
    --require-gpu, the refusal a GPU pool's training run would give here."""
    from tasks.model import NoGpuError, build_lines, refusal, tensorflow_build

    build = tensorflow_build()
    print("\n".join(build_lines(build)))
    if args.require_gpu and not build["gpus"]:
        raise NoGpuError(refusal(build))
    return 0


COMMANDS: dict[str, Command] = {c.name: c for c in (  # in the order `seqconv --help` lists them
    Command("ingest", "flows.ingest", "download, validate and publish a dataset", ingest_options, ingest),
    Command("train", "flows.train", "train one model, judge it and plot it", train_options, train),
    Command("train-all", "flows.train_all", "ingest, train every model, promote champions, report",
            train_all_options, train_all),
    Command("tune", "flows.tune", "try a grid or list of settings for one model, choose on validation, write a profile",
            tune_options, tune),
    Command("evaluate", "flows.evaluate", "judge a saved model on the published data", evaluate_options, evaluate),
    Command("predict", "flows.predict", "predict with a champion: raw review text, or the next 24 h of weather",
            predict_options, predict),
    Command("versions", "flows.versions", "list each dataset version, its size and what needs it",
            versions_options, versions),
    Command("prune", "flows.versions", "remove the dataset versions nothing needs (only lists them without --yes)",
            prune_options, prune),
    Command("doctor", "flows.cli", "this host's TensorFlow: its version, whether built with CUDA, the GPUs it sees",
            doctor_options, doctor),
)}
