"""Judge a saved model (a champion, an old run) on the currently published data, without training.

    python -m flows.evaluate --model-dir artifacts/runs/<run-id>/<model> [--data-dir data] [--artifacts-dir artifacts]
    python -m flows.evaluate --champion jena_conv_gru [...]

Results go to a new folder, artifacts/evaluations/<eval-id>/<model>/ (metrics.json, evaluation.npz, plots), never
over the training run's own metrics.json. Runs without a Prefect server (ephemeral mode).
"""

from __future__ import annotations

import sys

from prefect import flow

from tasks.core import runs
from tasks.core.datasets import use_data_dir
from tasks.judge import evaluate_model_task
from tasks.publish import plot_and_publish


@flow(name="evaluate-model", log_prints=True)
def evaluate_model_flow(model_dir: str, data_dir: str = "data", artifacts_dir: str = "artifacts",
                        eval_id: str | None = None) -> str:
    """Judge the model in `model_dir` on the published data against its baselines; returns the evaluation
    folder."""
    use_data_dir(data_dir)  # a spec'd dataset's spec is stored there
    model_dir_path = runs.check_model_dir(model_dir)
    model = runs.read_settings(model_dir_path).model
    out_dir = runs.evaluation_dir(artifacts_dir, eval_id or runs.new_run_id(), model)
    evaluate_model_task(model_dir_path, data_dir, out_dir, artifacts_dir)
    plot_and_publish(out_dir, model, history_dir=model_dir_path)
    return str(out_dir)


if __name__ == "__main__":  # python -m flows.evaluate is `seqconv evaluate`
    from flows.cli import main
    sys.exit(main(["evaluate", *sys.argv[1:]]))
