"""The champion on new data, shown: its record kept in the registry (tasks.judge.new_data), a Prefect event a user
can attach an automation to, the `champion-new-data-<model>` artifact with the plot of its ratio to its strongest
baseline per version, and the train-all report's section. The thin @task wrapper comes last.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from prefect import task

from tasks.core import runs
from tasks.core.config import family, family_of
from tasks.core.errors import SeqconvError
from tasks.core.log import log
from tasks.core.records.registry import RegistryEntry
from tasks.core.tables import markdown_table

EVENT_HOLDS = "seqconv.champion.holds"  # the champion still beats its strongest baseline on the new rows
EVENT_DECAYED = "seqconv.champion.decayed"  # it no longer does, by the blessing margin: the one to alert on


def event_name(record: Mapping) -> str:
    return EVENT_HOLDS if record.get("beats") else EVENT_DECAYED


def artifact_key(model: str) -> str:
    """Prefect artifact keys hold lowercase letters, digits and dashes only."""
    return f"champion-new-data-{model.replace('_', '-')}"


def new_data_lines(model: str, records: Sequence[Mapping], image: str | None = None) -> list[str]:
    """A model's "Champion on new data" section: the newest verdict, then one row per version judged."""
    lines = ["", f"## Champion on new data: {model}", ""]
    if not records:
        return lines + ["No version with rows the champion never saw has been published since it was promoted."]
    latest = records[-1]
    verdict = "still beats" if latest.get("beats") else "no longer beats"
    lines += [f"**Champion {latest['champion_run_id']} {verdict} its strongest baseline on the newest data it was "
              f"judged on:** {latest['reason']}.", ""]
    rows = [[r["version"], r["champion_run_id"], f"{r.get('rows_from') or ''} .. {r.get('rows_to') or ''}",
             r["windows"], f"{r['model'][r['metric']]:.4g}" + _celsius(r["model"]),
             f"{r['baseline']} {r['baseline_value']:.4g}" + _celsius(r["baselines"][r["baseline"]]),
             f"{r['ratio']:.3f}", "yes" if r.get("beats") else "no"] for r in records]
    lines += markdown_table(["version", "champion", "new rows", family_of(model).unit, records[-1]["label"],
                             "strongest baseline", "ratio", "beats by the margin"], rows)
    if image:
        lines += ["", f"![{model} on new data]({image})"]
    return lines


def _celsius(figures: Mapping) -> str:
    return f" ({figures['mae_celsius']:.2f} °C)" if figures.get("mae_celsius") is not None else ""


def new_data_sections(registry_dir: Path, models: Sequence[str], out_dir: Path) -> tuple[list[str], list[str]]:
    """The "Champion on new data" sections of the models whose champion was judged on new data: (for report.md,
    with the plot beside it in `out_dir`; for the Prefect artifact, with the plot embedded)."""
    from tasks.judge import history
    from tasks.publish.stage_plots import plot_new_data

    in_file, in_artifact = [], []
    for model in models:
        entry = RegistryEntry.read(Path(registry_dir), model)
        if entry is None:
            continue
        records = history(entry)
        if not records:
            continue
        png = None
        try:
            png = plot_new_data(model, records, Path(out_dir) / f"new-data-{model}.png")
        except Exception as error:  # noqa: BLE001 - a figure is not worth failing the report for
            log(f"new-data plot of {model} not drawn: {error}", logging.WARNING)
        in_file += new_data_lines(model, records, png.name if png else None)
        in_artifact += new_data_lines(model, records, _embedded(png))
    return in_file, in_artifact


def _embedded(png: Path | None) -> str | None:
    return f"data:image/png;base64,{base64.b64encode(png.read_bytes()).decode('ascii')}" if png else None


def emit_new_data_event(model: str, dataset: str, record: Mapping) -> None:
    """`seqconv.champion.decayed` (or `.holds`) about the resource `seqconv.model.<model>`, the record as payload:
    a Prefect automation can match it (docs/retraining.md) without code."""
    from prefect.events import emit_event

    emit_event(event=event_name(record),
               resource={"prefect.resource.id": f"seqconv.model.{model}", "prefect.resource.name": model,
                         "seqconv.dataset": dataset, "seqconv.champion": str(record["champion_run_id"])},
               payload={key: record[key] for key in ("version", "data_sha256", "windows", "metric", "ratio",
                                                     "baseline", "baseline_value", "margin", "beats", "reason")})


def publish_new_data(model: str, records: Sequence[Mapping], out_dir: Path) -> None:
    """The `champion-new-data-<model>` markdown artifact: the section, its plot embedded."""
    from prefect.artifacts import create_markdown_artifact
    from prefect.context import FlowRunContext, TaskRunContext

    from tasks.publish.stage_plots import plot_new_data

    if FlowRunContext.get() is None and TaskRunContext.get() is None:  # called as a plain function: no run to show it
        return
    png = plot_new_data(model, records, Path(out_dir) / f"new-data-{model}.png")
    create_markdown_artifact(markdown="\n".join(new_data_lines(model, records, _embedded(png))).strip() + "\n",
                             key=artifact_key(model), _sync=True,
                             description=f"{model}'s champion on the rows of each new version it never saw")


def champions_of(registry_dir: Path, dataset: str) -> list[str]:
    """The models of `dataset` with an entry in the registry: its registered architectures', and any
    <architecture>@<dataset> champion."""
    models = set()
    for path in Path(registry_dir).glob("*.json"):
        try:
            if family(path.stem) == dataset:
                models.add(path.stem)
        except SeqconvError:  # a file of no model: not ours to judge
            continue
    return sorted(models)


def judge_on_new_data(version: Path, dataset: str, artifacts_dir: Path) -> dict[str, dict | None]:
    """Every champion of `dataset`'s models scored on the rows of the published `version` it never saw (no
    training), kept in its registry entry, published and emitted; model -> the record, or None (no new rows,
    judged already, or not judged: logged, never fatal, as drift)."""
    from tasks.judge import history, judged_already, keep_record, new_data_record
    from tasks.model import data_fingerprint

    registry = runs.registry_dir(artifacts_dir)
    out: dict[str, dict | None] = {}
    for model in champions_of(registry, dataset):
        out[model] = None
        try:
            entry = RegistryEntry.read(registry, model)
            if entry is None:
                continue
            sha256 = data_fingerprint(Path(version), dataset)["sha256"]
            if sha256 == entry.data_sha256 or judged_already(entry, sha256):
                continue
            record = new_data_record(entry, Path(version), sha256)
            if record is None:
                log(f"{model}: version {Path(version).name} holds no window the champion {entry.run_id} never saw")
                continue
            kept = keep_record(registry, model, record)
        except Exception as error:  # noqa: BLE001 - as drift: never fails ingestion; the log says what went wrong
            log(f"{model}: champion not judged on new data ({type(error).__name__}: {error})", logging.WARNING)
            continue
        if kept is None:
            continue
        out[model] = record
        log(f"{model}: champion {record['champion_run_id']} on new data: {record['reason']}")
        try:
            emit_new_data_event(model, dataset, record)
            publish_new_data(model, history(kept), runs.new_data_dir(artifacts_dir))
        except Exception as error:  # noqa: BLE001 - the record is kept; an event or artifact is not worth failing for
            log(f"{model}: new-data event or artifact not published ({error})", logging.WARNING)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Prefect tasks
# ---------------------------------------------------------------------------------------------------------------
@task(task_run_name="judge the {dataset} champions on new data")
def judge_champions_on_new_data(version: Path, dataset: str, artifacts_dir: Path) -> dict[str, dict | None]:
    """The champions of `dataset`'s models on the rows of the version published now that they never saw."""
    return judge_on_new_data(Path(version), dataset, Path(artifacts_dir))
