"""Each command's options: what `seqconv <command>` and `python -m flows.<module>` take, and their help.

Light (tasks.core.config and tasks.core.sources only), so that options parse and `--help` answers before Prefect or
TensorFlow are imported. What each command then runs, and the table of commands, is flows.cli.commands.
"""

from __future__ import annotations

import argparse

from tasks.core.config import DEFAULT_MODELS, MODELS, PROFILES, RETRAIN, TRAIN_ON
from tasks.core.datasets import builtin_names
from tasks.core.sources import JENA_FILES_ENV


DATASET_HELP = (f"a built-in dataset ({', '.join(builtin_names())}), a spec'd dataset already ingested (by its name), "
                "or a spec file's path (.toml)")


def ingest_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", help=DATASET_HELP)
    parser.add_argument("--mirror", default=None,
                        help="local folder or base URL holding the source files (default: $SEQCONV_MIRROR, "
                             "else the canonical sites)")
    parser.add_argument("--data-dir", default="data", help="where raw/, processed/ and validation/ live")
    parser.add_argument("--artifacts-dir", default="artifacts",
                        help="holds registry/: the drift report compares new data with the champion's")
    parser.add_argument("--files", nargs="+", default=None, metavar="NAME",
                        help="jena only: station half-year files (mpi_roof_YYYYa.csv, ...) instead of the classic zip")


def train_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help=f"one of {', '.join(MODELS)}, or <architecture>@<dataset>")
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


def train_all_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="quick", help=f"one of {', '.join(PROFILES)} (default quick)")
    parser.add_argument("--mirror", default=None, help="local folder or base URL of the sources "
                                                       "(default: $SEQCONV_MIRROR, else the canonical sites)")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--artifacts-dir", default="artifacts")
    parser.add_argument("--jena-files", nargs="+", default=None, metavar="NAME",
                        help=f"station files instead of the classic zip (default: ${JENA_FILES_ENV})")
    parser.add_argument("--dataset", default=None, metavar="NAME|SPEC.toml",
                        help="train on this one dataset (a spec file's path, or a name): every default "
                             "architecture of its kind, or those --models names, as <architecture>@<dataset>")
    parser.add_argument("--models", nargs="+", default=None,
                        help=f"any of {', '.join(MODELS)}, or <architecture>@<dataset> (default: "
                             f"{' '.join(DEFAULT_MODELS)})")
    parser.add_argument("--train-on", default="local", choices=list(TRAIN_ON),
                        help="local (default): here, one model after another; gpu-pool: all at once on "
                             "train-model/gpu (process workers); docker-pool: on train-model/docker-gpu (containers)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--force", action="store_true", help="train again even for unchanged data and code")
    parser.add_argument("--retrain", default="on_change", choices=list(RETRAIN),
                        help="on_change (default): train when data, code or settings changed; always: train "
                             "again (as --force); on_drift: only models whose data's drift report flags a feature "
                             "(data/validation/<dataset>.drift.json), or that have no champion yet; on_decay: only "
                             "models whose champion no longer beats its strongest baseline on the rows of the newest "
                             "version it never saw (its registry entry's new_data), or that have no champion yet")


def tune_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help=f"one of {', '.join(MODELS)}, or <architecture>@<dataset>")
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
                        help="local: the trials one after another here; gpu-pool: all at once on train-model/gpu; "
                             "docker-pool: all at once in containers, on train-model/docker-gpu")
    parser.add_argument("--data-dir", default="data", help="holds processed/ from the ingest flows")
    parser.add_argument("--artifacts-dir", default="artifacts",
                        help="trials go to <this>/runs/<tune-id>-tNN/, the table to <this>/tunes/<tune-id>/")
    parser.add_argument("--force", action="store_true",
                        help="train every trial even if the same data, code and settings were trained before")


def evaluate_options(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--model-dir", help="a finished run folder, artifacts/runs/<run-id>/<model>")
    which.add_argument("--champion", metavar="MODEL",
                       help=f"the champion of one of {', '.join(MODELS)}, or of <architecture>@<dataset>")
    parser.add_argument("--data-dir", default="data", help="holds processed/<dataset>: the version to judge on")
    parser.add_argument("--artifacts-dir", default="artifacts",
                        help="results go to <this>/evaluations/<eval-id>/<model>/; champions in <this>/registry/")


def predict_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", help=DATASET_HELP)
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


def versions_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default=None, help="one dataset (default: every published one)")
    parser.add_argument("--data-dir", default="data", help="holds processed/ and its .versions/")
    parser.add_argument("--artifacts-dir", default="artifacts",
                        help="holds registry/ and runs/: what needs a version (its champions and runs)")
    parser.add_argument("--keep-runs", type=int, default=None, metavar="N",
                        help="keep the versions the newest N finished runs of each dataset trained on "
                             "(default: $SEQCONV_KEEP_RUNS, else 3)")


def prune_options(parser: argparse.ArgumentParser) -> None:
    versions_options(parser)
    parser.add_argument("--yes", action="store_true",
                        help="remove the versions nothing needs (without it: only list what would be removed)")


def doctor_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--require-gpu", action="store_true",
                        help="fail (exit 1, one error: line with the fix) unless TensorFlow sees a GPU, as a GPU "
                             "pool's training run does")
