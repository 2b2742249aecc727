"""The command line: `seqconv <command>` and each `python -m flows.<name>`, with one way to fail.

Every command parses its options here, before Prefect or TensorFlow are imported (each costs seconds), so `--help`
and a bad option answer at once; the flows are imported only to run. A user sees one `error: ...` line and an exit
code, never a traceback unless they ask for one with `--debug`: 2 for a bad option or setting (the code argparse
uses), 1 for anything else (bad data, a failed download, a failed validation), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from tasks.core.config import MODELS, PROFILES, RETRAIN, TRAIN_ON, family
from tasks.core.sources import JENA_FILES_ENV

DEBUG = False  # --debug: tracebacks on the terminal, from Prefect's log lines and from the error itself


# ---------------------------------------------------------------------------------------------------------------
# Prefect's temporary server, tied to this process
# ---------------------------------------------------------------------------------------------------------------
def start_temporary_server() -> None:
    """Start Prefect's temporary API server (ephemeral mode) now, so that it dies with this process.

    Without a configured server Prefect starts one in a child process on first use and stops it at exit; a
    process killed with SIGKILL never reaches its exit handlers, and the server lived on, one orphan per killed
    command. Started here instead, the same server (Prefect reuses its one instance) is forked with the kernel's
    parent-death signal set (Linux prctl PR_SET_PDEATHSIG): when this process dies, however it dies, the server is
    sent SIGTERM. Nothing changes where PREFECT_API_URL names a real server, or off Linux.
    """
    from prefect.settings import PREFECT_API_URL

    if not DEBUG:
        console_without_tracebacks()
    if PREFECT_API_URL.value() or not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal
    import subprocess
    import types

    import prefect.server.api.server as server_module

    server = server_module.SubprocessASGIServer()
    if server.running:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1

    def die_with_parent() -> None:  # in the child, between fork and exec
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    class TiedPopen(subprocess.Popen):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("preexec_fn", die_with_parent)
            super().__init__(*args, **kwargs)

    # Only the server module sees the tied Popen, and only while it starts its process.
    tied = types.SimpleNamespace(**{name: getattr(subprocess, name) for name in dir(subprocess)
                                    if not name.startswith("__")})
    tied.Popen = TiedPopen
    server_module.subprocess = tied
    try:
        server.start()
    finally:
        server_module.subprocess = subprocess


class _WithoutTraceback(logging.Formatter):
    """A console formatter that leaves out tracebacks: the line says what failed; the run's log in the Prefect
    API (the same record, through another handler) keeps the traceback, and --debug prints it here too."""

    def __init__(self, inner: logging.Formatter | None):
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info = record.exc_text = record.stack_info = None
        try:
            return self.inner.format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def console_without_tracebacks() -> None:
    """Prefect's console handlers print each failed task's and flow's traceback (hundreds of lines for one
    failed download); on the command line a failure is one `error:` line, so they print the log line alone."""
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger(), *(logger for logger in logging.Logger.manager.loggerDict.values()
                                      if isinstance(logger, logging.Logger))]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler) and not isinstance(handler.formatter, _WithoutTraceback):
                handler.setFormatter(_WithoutTraceback(handler.formatter))


# ---------------------------------------------------------------------------------------------------------------
# Commands: options, then what runs
# ---------------------------------------------------------------------------------------------------------------
def ingest_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", choices=["imdb", "jena"])
    parser.add_argument("--mirror", default=None,
                        help="local folder or base URL holding the source files (default: $SEQCONV_MIRROR, "
                             "else the canonical sites)")
    parser.add_argument("--data-dir", default="data", help="where raw/, processed/ and validation/ live")
    parser.add_argument("--artifacts-dir", default="artifacts",
                        help="holds registry/: the drift report compares new data with the champion's")
    parser.add_argument("--files", nargs="+", default=None, metavar="NAME",
                        help="jena only: station half-year files (mpi_roof_YYYYa.csv, ...) instead of the classic zip")


def ingest(args: argparse.Namespace) -> int:
    from tasks.core.errors import SettingsError

    if args.files and args.dataset != "jena":
        raise SettingsError("--files applies to jena only")
    start_temporary_server()
    from flows.ingest import ingest_imdb_flow, ingest_jena_flow
    from tasks.publish import ingest_summary

    if args.dataset == "imdb":
        path = ingest_imdb_flow(mirror=args.mirror, data_dir=args.data_dir, artifacts_dir=args.artifacts_dir)
    else:
        path = ingest_jena_flow(mirror=args.mirror, data_dir=args.data_dir, files=args.files,
                                artifacts_dir=args.artifacts_dir)
    print(ingest_summary(args.dataset, Path(path)))
    return 0


def train_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help=f"one of {', '.join(MODELS)}")
    parser.add_argument("--profile", default="quick",
                        help=f"one of {', '.join(PROFILES)}, a profile file's name (profiles/NAME.json) or a "
                             ".json path (default quick)")
    parser.add_argument("--data-dir", default="data", help="holds processed/ from the ingest flows")
    parser.add_argument("--artifacts-dir", default="artifacts", help="run folders go to <this>/runs/<run-id>/")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override one setting of the profile (repeatable), e.g. --set epochs=3")
    parser.add_argument("--run-id", default=None, help="reuse an interrupted run's id to resume it")
    parser.add_argument("--force", action="store_true",
                        help="train even if the same data, code and settings were trained before")


def train(args: argparse.Namespace) -> int:
    from tasks.core.profiles import parse_overrides, resolve_settings
    from tasks.model import dataset_path

    overrides = parse_overrides(args.overrides)
    resolve_settings(args.model, args.profile, overrides)  # fail fast, before Prefect starts
    dataset_path(Path(args.data_dir), family(args.model))
    start_temporary_server()
    from flows.train import train_model_flow
    from tasks.core import runs
    from tasks.publish import evaluation_summary

    run_dir = train_model_flow(model=args.model, profile=args.profile, data_dir=args.data_dir,
                               artifacts_dir=args.artifacts_dir, run_id=args.run_id, overrides=overrides,
                               force=args.force)
    print(evaluation_summary(runs.read_metrics(run_dir)))
    print(run_dir)
    return 0


def train_all_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="quick", help=f"one of {', '.join(PROFILES)} (default quick)")
    parser.add_argument("--mirror", default=None, help="local folder or base URL of the sources "
                                                       "(default: $SEQCONV_MIRROR, else the canonical sites)")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--artifacts-dir", default="artifacts")
    parser.add_argument("--jena-files", nargs="+", default=None, metavar="NAME",
                        help=f"station files instead of the classic zip (default: ${JENA_FILES_ENV})")
    parser.add_argument("--models", nargs="+", default=None, help=f"any of {', '.join(MODELS)}")
    parser.add_argument("--train-on", default="local", choices=list(TRAIN_ON))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--force", action="store_true", help="train again even for unchanged data and code")
    parser.add_argument("--retrain", default="on_change", choices=list(RETRAIN),
                        help="on_change (default): train when data, code or settings changed; always: train "
                             "again (as --force); on_drift: only models whose data's drift report flags a feature "
                             "(data/validation/<dataset>.drift.json), or that have no champion yet")


def train_all(args: argparse.Namespace) -> int:
    from tasks.core import runs
    from tasks.core.profiles import check_run, parse_overrides
    from tasks.judge import check_registry

    overrides = parse_overrides(args.overrides)
    models = args.models or ["imdb_conv", "jena_conv", "jena_conv_gru"]
    check_run(args.profile, models, overrides, args.train_on, args.retrain)  # fail fast, before Prefect starts
    check_registry(runs.registry_dir(args.artifacts_dir), models)
    start_temporary_server()
    from flows.train_all import train_all_flow
    from tasks.publish import ingest_summary

    path = train_all_flow(profile=args.profile, mirror=args.mirror, data_dir=args.data_dir,
                          artifacts_dir=args.artifacts_dir, jena_files=args.jena_files, models=models,
                          force=args.force, train_on=args.train_on, overrides=overrides, retrain=args.retrain)
    for dataset in sorted({family(m) for m in models}):
        print(ingest_summary(dataset, Path(args.data_dir) / "processed" / dataset))
    print(Path(path).read_text())
    return 0


def tune_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help=f"one of {', '.join(MODELS)}")
    parser.add_argument("--profile", default="quick",
                        help=f"the base every trial starts from: one of {', '.join(PROFILES)} or a profile file "
                             "(default quick)")
    trials = parser.add_mutually_exclusive_group(required=True)
    trials.add_argument("--grid", action="append", default=None, metavar="KEY=V1,V2",
                        help="values of one setting to try (repeatable); every combination is a trial, e.g. "
                             "--grid learning_rate=1e-3,3e-4 --grid dropout=0,0.5")
    trials.add_argument("--trials-file", default=None, metavar="FILE.json",
                        help='a JSON list of trials, each an object of settings, e.g. [{"learning_rate": 3e-4}]')
    parser.add_argument("--seeds", default=None, metavar="S1,S2,...",
                        help="run every trial once per seed and judge it on the mean (the table shows the range), "
                             "e.g. --seeds 1337,7,42")
    parser.add_argument("--write-profile", default=None, metavar="NAME",
                        help="write the winner as profiles/NAME.json (or this .json path), for --profile NAME")
    parser.add_argument("--train-on", default="local", choices=list(TRAIN_ON),
                        help="local: the trials one after another here; gpu-pool: all at once on train-model/gpu")
    parser.add_argument("--data-dir", default="data", help="holds processed/ from the ingest flows")
    parser.add_argument("--artifacts-dir", default="artifacts",
                        help="trials go to <this>/runs/<tune-id>-tNN/, the table to <this>/tunes/<tune-id>/")
    parser.add_argument("--force", action="store_true",
                        help="train every trial even if the same data, code and settings were trained before")


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
    from tasks.model import dataset_path
    from tasks.tune import parse_grid, parse_seeds, plan_tune

    grid = parse_grid(args.grid) if args.grid else None
    trials = read_trials_file(args.trials_file) if args.trials_file else None
    seeds = parse_seeds(args.seeds) if args.seeds is not None else None
    plan_tune(args.model, args.profile, grid, trials, args.train_on, args.write_profile, seeds)  # before Prefect
    if args.train_on == "local":
        dataset_path(Path(args.data_dir), family(args.model))
    start_temporary_server()
    from flows.tune import tune_flow
    from tasks.core import runs

    tune_json = tune_flow(model=args.model, base_profile=args.profile, grid=grid, trials=trials,
                          data_dir=args.data_dir, artifacts_dir=args.artifacts_dir, train_on=args.train_on,
                          write_profile=args.write_profile, force=args.force, seeds=seeds)
    report = Path(tune_json).with_name(runs.TUNE_REPORT).read_text(encoding="utf-8")
    print("\n".join(line for line in report.splitlines() if not line.startswith("![")).rstrip())
    print(Path(tune_json).parent)
    return 0


def evaluate_parser(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--model-dir", help="a finished run folder, artifacts/runs/<run-id>/<model>")
    which.add_argument("--champion", metavar="MODEL", help=f"the champion of one of {', '.join(MODELS)}")
    parser.add_argument("--data-dir", default="data", help="holds processed/<dataset>: the version to judge on")
    parser.add_argument("--artifacts-dir", default="artifacts",
                        help="results go to <this>/evaluations/<eval-id>/<model>/; champions in <this>/registry/")


def evaluate(args: argparse.Namespace) -> int:
    from tasks.core import runs
    from tasks.judge import champion_model_dir

    model_dir = args.model_dir or champion_model_dir(runs.registry_dir(args.artifacts_dir), args.champion)
    runs.check_model_dir(model_dir)  # fail fast, before Prefect starts
    start_temporary_server()
    from flows.evaluate import evaluate_model_flow
    from tasks.publish import evaluation_summary

    out_dir = evaluate_model_flow(model_dir=str(model_dir), data_dir=args.data_dir, artifacts_dir=args.artifacts_dir)
    print(evaluation_summary(runs.read_metrics(out_dir)))
    print(out_dir)
    return 0


def predict_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", choices=["imdb", "jena"])
    parser.add_argument("--text", action="append", default=None, metavar="REVIEW",
                        help="imdb: a review to judge (repeatable)")
    parser.add_argument("--file", default=None, help="imdb: a UTF-8 text file, one review a line")
    parser.add_argument("--csv", dest="csv_file", default=None, help="imdb: a CSV file with a header row")
    parser.add_argument("--column", default="text", help="imdb: the CSV column holding the reviews (default text)")
    parser.add_argument("--files", nargs="+", default=None, metavar="FILE",
                        help="jena: station files (.csv, .zip) to forecast from (default: the published data)")
    parser.add_argument("--model", default=None,
                        help="whose champion predicts (default imdb_conv for imdb, jena_conv_gru for jena)")
    parser.add_argument("--model-dir", default=None, help="a run folder to predict with instead of a champion")
    parser.add_argument("--data-dir", default="data", help="holds processed/ (word index, published weather)")
    parser.add_argument("--artifacts-dir", default="artifacts", help="holds registry/; results go to predictions/")
    parser.add_argument("--out", default=None, help="also write the predictions to this .csv or .jsonl file")


def predict(args: argparse.Namespace) -> int:
    from tasks.core import runs
    from tasks.core.errors import SettingsError
    from tasks.serve import OUTPUT_SUFFIXES, choose_model, gather_reviews

    if args.dataset == "imdb":
        gather_reviews(args.text, args.file, args.csv_file, args.column)  # fail fast: unreadable input, no column
    elif args.text or args.file or args.csv_file:
        raise SettingsError("--text, --file and --csv are for imdb; jena forecasts from --files (station files)")
    if args.files and args.dataset != "jena":
        raise SettingsError("--files is for jena (station files); imdb reads --text, --file or --csv")
    if args.out and Path(args.out).suffix.lower() not in OUTPUT_SUFFIXES:
        raise SettingsError(f"--out {args.out}: expected a file ending in {' or '.join(OUTPUT_SUFFIXES)}")
    choose_model(args.dataset, args.model, args.model_dir, runs.registry_dir(args.artifacts_dir))
    start_temporary_server()
    from flows.predict import predict_flow
    from tasks.publish import prediction_summary

    out_dir = predict_flow(dataset=args.dataset, model=args.model, model_dir=args.model_dir, texts=args.text,
                           file=args.file, csv_file=args.csv_file, column=args.column, files=args.files,
                           data_dir=args.data_dir, artifacts_dir=args.artifacts_dir, out=args.out)
    print(prediction_summary(args.dataset, Path(out_dir)))
    print(out_dir if not args.out else f"{out_dir}\n{args.out}")
    return 0


COMMANDS: dict[str, tuple[str, Callable, Callable]] = {  # name -> (one line of help, options, what runs)
    "ingest": ("download, validate and publish a dataset", ingest_parser, ingest),
    "train": ("train one model, judge it and plot it", train_parser, train),
    "train-all": ("ingest, train every model, promote champions, report", train_all_parser, train_all),
    "tune": ("try a grid or list of settings for one model, choose on validation, write a profile", tune_parser,
             tune),
    "evaluate": ("judge a saved model on the published data", evaluate_parser, evaluate),
    "predict": ("predict with a champion: raw review text, or the next 24 h of weather", predict_parser, predict),
}
MODULES = {"ingest": "flows.ingest", "train": "flows.train", "train-all": "flows.train_all", "tune": "flows.tune",
           "evaluate": "flows.evaluate", "predict": "flows.predict"}


# ---------------------------------------------------------------------------------------------------------------
# Running one
# ---------------------------------------------------------------------------------------------------------------
def run(parser: argparse.ArgumentParser, command: Callable[[argparse.Namespace], int | None],
        argv: list[str] | None = None) -> int:
    """Parse `argv` and run `command(args)`; errors become one `error:` line and an exit code."""
    from tasks.core.errors import SeqconvError, SettingsError

    global DEBUG
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    args = parser.parse_args(argv)
    DEBUG = args.debug
    try:
        return command(args) or 0
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except SeqconvError as error:
        if args.debug:
            traceback.print_exc()
        print(f"error: {error}", file=sys.stderr)
        return 2 if isinstance(error, SettingsError) else 1
    except Exception as error:  # noqa: BLE001 - a bug or an environment problem: still one line, unless --debug
        if args.debug:
            traceback.print_exc()
        print(f"error: unexpected {type(error).__name__}: {error} (rerun with --debug for the traceback)",
              file=sys.stderr)
        return 1


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {help_}" for name, (help_, _, _) in COMMANDS.items()]
    return ("usage: seqconv <command> [options]   (seqconv <command> --help for its options)\n\ncommands:\n"
            + "\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    """`seqconv <command> [options]`, the same as `python -m flows.<command> [options]`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(usage(), file=sys.stderr)
        print(f"error: unknown command {name!r}; allowed: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    help_, options, command = COMMANDS[name]
    prog = f"python -m {MODULES[name]}" if sys.argv and sys.argv[0].endswith(".py") else f"seqconv {name}"
    parser = argparse.ArgumentParser(prog=prog, description=help_)
    options(parser)
    return run(parser, command, rest)


if __name__ == "__main__":
    sys.exit(main())
