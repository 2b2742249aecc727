"""Predict with a champion (or any saved run): raw review text to sentiment, the latest weather to a forecast.

    python -m flows.predict imdb --text "..." | --file reviews.txt | --csv reviews.csv --column text [--out F.csv]
    python -m flows.predict jena [--files station.csv ...] [--model jena_conv_gru] [--out F.jsonl]

The model is the champion of artifacts/registry/<model>.json unless --model-dir names a run folder. Results go to
artifacts/predictions/<id>/<model>/ and, with --out, to the named .csv or .jsonl file; each run publishes them as
a Prefect artifact. Deployed through prefect.yaml as `predict/imdb` and `predict/jena`.
"""

from __future__ import annotations

import sys

from prefect import flow

from tasks.core import runs
from tasks.core.datasets import dataset_name, use_data_dir
from tasks.publish import publish_predictions
from tasks.serve import choose_model, predict_task


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
    use_data_dir(data_dir)  # a spec'd dataset's spec is stored there
    dataset = dataset_name(dataset)
    chosen = choose_model(dataset, model, model_dir, runs.registry_dir(artifacts_dir))
    out_dir = runs.prediction_dir(artifacts_dir, runs.new_run_id(), runs.read_settings(chosen).model)
    inputs = {"texts": texts, "file": file, "csv_file": csv_file, "column": column, "files": files}
    predict_task(dataset, chosen, inputs, data_dir, out_dir, out, artifacts_dir)
    publish_predictions(dataset, out_dir)
    return str(out_dir)


if __name__ == "__main__":  # python -m flows.predict is `seqconv predict`
    from flows.cli import main
    sys.exit(main(["predict", *sys.argv[1:]]))
