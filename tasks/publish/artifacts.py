"""Prefect artifacts: their stable keys, and publishing what the other modules of this stage build.

Each run adds a version of the same artifact (one key per kind: the run's metrics table and report, a dataset's
validation, a model's plots, a tune, predictions), so the UI's artifact page shows its history. The publish_*
functions are thin: outside a Prefect run they do nothing and return None. The content they send is built
elsewhere (tasks.publish.report, .validation, the kinds' modules; tasks.tune), except the plots' page, built here from
the PNGs of a folder. The thin @task wrappers come last.
"""

from __future__ import annotations

from pathlib import Path

from prefect import task

from tasks.core.artifacts import artifact_key, in_prefect_run
from tasks.core.config import FAMILIES
from tasks.core.tables import MAX_EMBEDDED_PNG
from tasks.publish.kinds import kind_of

METRICS_TABLE_KEY = "train-all-metrics"  # one row per model of a training run
REPORT_KEY = "train-all-report"  # verdicts of a training run, as markdown
PLOT_TITLES = {  # file stem -> heading, in the order the plots are shown; other PNGs follow, sorted by name
    "curves": "Training curves",
    "predictions": "Forecasts on the test set, a stretch per season",
    "roc": "ROC curve on the test set",
    "confusion": "Confusion matrix on the test set",
}


def validation_key(dataset: str) -> str:
    """"validation-imdb", "validation-jena"."""
    return artifact_key("validation", dataset)


def plots_key(model: str) -> str:
    """"plots-imdb-conv", "plots-jena-conv-gru"."""
    return artifact_key("plots", model)


def tune_key(model: str) -> str:
    """"tune-jena-conv-gru": the latest tune of a model."""
    return artifact_key("tune", model)


def predictions_key(dataset: str) -> str:
    """"predictions-imdb", "forecast-jena": the first word is the dataset's kind's (tasks.publish.kinds)."""
    return artifact_key(kind_of(dataset).PREDICTIONS_ARTIFACT, dataset)


# ---------------------------------------------------------------------------------------------------------------
# The plots' page: a folder's PNGs embedded
# ---------------------------------------------------------------------------------------------------------------
def plots_markdown(run_dir: Path, model: str) -> str:
    """Every PNG of a run folder, embedded in markdown as a data URI, so the pictures show in the Prefect UI.

    Prefect's image artifact only takes a URL, which the browser must be able to reach; a `data:image/png;base64`
    URI carries the picture inside the artifact itself. Both Prefect UIs (v1 and the default v2, Prefect 3.9)
    render it: checked with a real server and headless Chromium (docs/ui-plots-artifact.png).

    Args:
        run_dir: artifacts/runs/<run-id>/<model>.
        model: the model's name, for the heading.

    Returns:
        Markdown with one section per PNG (known plots first, in PLOT_TITLES' order); a PNG over
        MAX_EMBEDDED_PNG bytes, or a file that is not a PNG, is named by its path instead.
    """
    import base64

    run_dir = Path(run_dir)
    order = {stem: i for i, stem in enumerate(PLOT_TITLES)}
    pngs = sorted(run_dir.glob("*.png"), key=lambda p: (order.get(p.stem, len(order)), p.name))
    lines = [f"# Plots of {model}", "", f"Run folder `{run_dir}`."]
    if not pngs:
        lines += ["", "No plots in this run folder."]
    for path in pngs:
        data = path.read_bytes()
        lines += ["", f"## {PLOT_TITLES.get(path.stem, path.stem)}", ""]
        if not data.startswith(b"\x89PNG\r\n\x1a\n"):
            lines.append(f"`{path.name}` is not a PNG; not shown.")
        elif len(data) > MAX_EMBEDDED_PNG:
            lines.append(f"`{path}` ({len(data) / 1e6:.1f} MB) is too large to embed; open it from the run folder.")
        else:
            lines.append(f"![{path.stem}](data:image/png;base64,{base64.b64encode(data).decode('ascii')})")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------------
# Prefect artifacts: publishing
# ---------------------------------------------------------------------------------------------------------------
# Thin: each sends content built by its builder (named in its docstring). Outside a flow or task run they do nothing and return None (Prefect would
# otherwise attach the artifact to no run, and warns that this is deprecated). `_sync=True` makes Prefect's
# dispatching helpers run synchronously even when called from async code, where they would return a coroutine.


def publish_metrics_table(rows: list[dict], key: str = METRICS_TABLE_KEY):
    """The metrics table (tasks.publish.report.metrics_table_rows) as a table artifact; its id, or None outside a run."""
    if not in_prefect_run():
        return None
    from prefect.artifacts import create_table_artifact

    return create_table_artifact(table=rows, key=key, description="Validation and test metrics, baselines, "
                                 "verdicts and timings: one row per model.", _sync=True)


def publish_report(markdown: str, key: str = REPORT_KEY):
    """The training report (tasks.publish.report.report_markdown) as a markdown artifact; its id, or None outside a run."""
    if not in_prefect_run():
        return None
    from prefect.artifacts import create_markdown_artifact

    return create_markdown_artifact(markdown=markdown, key=key, description="Blessed and promoted, and why.",
                                    _sync=True)


def publish_validation(dataset: str, markdown: str):
    """A dataset's validation results (tasks.publish.validation.validation_markdown) under "validation-<dataset>"; id or None."""
    if not in_prefect_run():
        return None
    from prefect.artifacts import create_markdown_artifact

    return create_markdown_artifact(markdown=markdown, key=validation_key(dataset),
                                    description=f"Great Expectations results of {dataset}, raw and normalized.",
                                    _sync=True)


def publish_tune(model: str, markdown: str):
    """A tune's table and plot (tasks.tune.summary.tune_markdown) under "tune-<model>"; id or None."""
    if not in_prefect_run():
        return None
    from prefect.artifacts import create_markdown_artifact

    return create_markdown_artifact(markdown=markdown, key=tune_key(model), _sync=True,
                                    description=f"Trials of the latest {model} tune, judged on validation only.")


def publish_plots(model: str, markdown: str):
    """A run's plots (plots_markdown) under "plots-<model>"; id or None."""
    if not in_prefect_run():
        return None
    from prefect.artifacts import create_markdown_artifact

    return create_markdown_artifact(markdown=markdown, key=plots_key(model),
                                    description=f"Plots of the latest {model} run.", _sync=True)


# ---------------------------------------------------------------------------------------------------------------
# Prefect tasks
# ---------------------------------------------------------------------------------------------------------------
@task(task_run_name="plot {model}")
def plot_and_publish(out_dir: Path, model: str, history_dir: Path | None = None) -> list[str]:
    """Draw a run's or an evaluation's figures (tasks.publish.figures) and publish them as the `plots-<model>` artifact."""
    from tasks.publish.figures import plot_evaluation

    written = plot_evaluation(Path(out_dir), Path(history_dir) if history_dir else None)
    publish_plots(model, plots_markdown(Path(out_dir), model))
    return [str(p) for p in written]


@task(task_run_name="publish {dataset} predictions")
def publish_predictions(dataset: str, out_dir: Path) -> None:
    """A prediction run as a Prefect artifact, by the dataset's kind: the reviews as a table (`predictions-imdb`),
    the forecast as markdown with its plot (`forecast-jena`)."""
    if not in_prefect_run():
        return
    kind_of(dataset).publish_predictions(Path(out_dir), predictions_key(dataset), FAMILIES[dataset])
