"""Predict with a champion (or any saved run): raw review text to sentiment, the latest weather to a forecast.

    python -m flows.predict imdb --text "..." | --file reviews.txt | --csv reviews.csv --column text [--out F.csv]
    python -m flows.predict jena [--files station.csv ...] [--model jena_conv_gru] [--out F.jsonl]

The model is the champion of artifacts/registry/<model>.json unless --model-dir names a run folder. Results go to
artifacts/predictions/<id>/<model>/ and, with --out, to the named .csv or .jsonl file; each run publishes them as
a Prefect artifact. Deployed through prefect.yaml as `predict/imdb` and `predict/jena`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flows.cli.command import run_command, start_temporary_server
from flows.cli.options import PREDICT


def run(args: argparse.Namespace) -> int:
    """`seqconv predict`: check the inputs and the model, predict, print the predictions and where they went."""
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
    from flows.predict import predict_flow  # this module's flow (not yet defined under -m)
    from tasks.publish import prediction_summary

    out_dir = predict_flow(dataset=args.dataset, model=args.model, model_dir=args.model_dir, texts=args.text,
                           file=args.file, csv_file=args.csv_file, column=args.column, files=args.files,
                           data_dir=args.data_dir, artifacts_dir=args.artifacts_dir, out=args.out)
    print(prediction_summary(args.dataset, Path(out_dir)))
    print(out_dir if not args.out else f"{out_dir}\n{args.out}")
    return 0


if __name__ == "__main__":  # options parse (and --help answers) before Prefect or TensorFlow load
    sys.exit(run_command(PREDICT, run))

from prefect import flow

from tasks.core import runs
from tasks.serve import choose_model, predict_task
from tasks.publish import publish_predictions


@flow(name="predict", log_prints=True)
def predict_flow(
    dataset: str,
    model: str | None = None,
    model_dir: str | None = None,
    texts: list[str] | None = None,
    file: str | None = None,
    csv_file: str | None = None,
    column: str = "text",
    files: list[str] | None = None,
    data_dir: str = "data",
    artifacts_dir: str = "artifacts",
    out: str | None = None,
) -> str:
    """Predict with a saved model: `imdb` reviews (texts, a file of one review a line, or a CSV column) or a
    `jena` forecast (station files, default the published data); returns the predictions folder."""
    chosen = choose_model(dataset, model, model_dir, runs.registry_dir(artifacts_dir))
    out_dir = runs.prediction_dir(artifacts_dir, runs.new_run_id(), runs.read_settings(chosen).model)
    inputs = {"texts": texts, "file": file, "csv_file": csv_file, "column": column, "files": files}
    predict_task(dataset, chosen, inputs, data_dir, out_dir, out)
    publish_predictions(dataset, out_dir)
    return str(out_dir)
