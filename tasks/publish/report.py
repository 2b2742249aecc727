"""Markdown and Prefect artifacts: what a person reads of a run, in the terminal, in report.md and in the UI.

The functions first build content (plain data, no Prefect): the metrics table, the run report with its verdicts,
the validation results, the plots embedded as pictures, an ingestion summary. The publish_* functions send it as
Prefect artifacts under stable keys, so each run adds a version of the same artifact and the UI's artifact page
shows its history; outside a Prefect run they do nothing. The thin @task wrappers come last.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from prefect import task

from tasks.core import atomic, runs
from tasks.core.config import family_of
from tasks.core.errors import DataFormatError
from tasks.core.artifacts import artifact_key, in_prefect_run
from tasks.core.log import log
from tasks.core.tables import MAX_EMBEDDED_PNG, describe_months, format_table, markdown_table

METRICS_TABLE_KEY = "train-all-metrics"  # one row per model of a training run
REPORT_KEY = "train-all-report"  # verdicts of a training run, as markdown
PLOT_TITLES = {  # file stem -> heading, in the order the plots are shown; other PNGs follow, sorted by name
    "curves": "Training curves",
    "predictions": "Forecasts on the test set, a stretch per season",
    "roc": "ROC curve on the test set",
    "confusion": "Confusion matrix on the test set",
}
MAX_EXAMPLES_CHARS = 160  # of offending values shown per failed expectation


def validation_key(dataset: str) -> str:
    """"validation-imdb", "validation-jena"."""
    return artifact_key("validation", dataset)


def plots_key(model: str) -> str:
    """"plots-imdb-conv", "plots-jena-conv-gru"."""
    return artifact_key("plots", model)


def _round(value, digits: int = 4):
    return round(float(value), digits) if isinstance(value, (int, float)) and not isinstance(value, bool) else value



def _metric_of(metrics: Mapping) -> tuple[str, str, bool]:
    """(key in metrics["validation"], label, higher is better): accuracy for IMDB, MAE for Jena."""
    spec = family_of(str(metrics.get("model")))
    return spec.metric, spec.label, spec.higher_is_better


def _celsius_first(split: Mapping | None, key: str) -> str | None:
    """A split's figure as a person reads it: "2.61 °C (0.312)" for Jena's MAE, "0.8764" for IMDB's accuracy."""
    if not split or split.get(key) is None:
        return None
    if split.get("mae_celsius") is not None:
        return f"{split['mae_celsius']:.2f} °C ({split[key]:.4g})"
    return f"{split[key]:.4g}"


def metrics_table_rows(results: Sequence[Mapping]) -> list[dict]:
    """One row per model for the run's metrics table artifact.

    Args:
        results: {"metrics": a metrics.json dict, "promotion": tasks.judge.registry.promote_model's result or None}.

    Returns:
        Rows with the same keys, in the same order: model, run_id, metric ("accuracy" or "MAE °C"), val and test
        as a person reads them (Jena: "2.61 °C (0.312)", °C first, the normalized MAE beside it), val_normalized
        and test_normalized (the metric alone, rounded to 4 decimals), val_<baseline> for every baseline of any
        row (None where a model has no such baseline), blessed, promoted, champion_run_id, champion_val (the
        champion after the decision), best_epoch, epochs_run, seconds_per_epoch, device.
    """
    head, baselines, tail = [], [], []
    for item in results:
        m, p = item["metrics"], item.get("promotion") or {}
        key, label, _ = _metric_of(m)
        head.append({
            "model": m["model"],
            "run_id": m.get("run_id"),
            "metric": label.removeprefix("val ") + (" °C" if "mae_celsius" in m["validation"] else ""),
            "val": _celsius_first(m["validation"], key),
            "test": _celsius_first(m.get("test"), key),
            "val_normalized": _round(m["validation"][key]),
            "test_normalized": _round((m.get("test") or {}).get(key)),
        })
        baselines.append({f"val_{name}": _celsius_first(b.get("val"), key)
                          for name, b in (m.get("baselines") or {}).items()})
        tail.append({
            "blessed": m.get("blessed"),
            "promoted": p.get("promoted"),
            "champion_run_id": p.get("champion_run_id"),
            "champion_val": _round(p.get("champion_value")),
            "best_epoch": m.get("best_epoch"),
            "epochs_run": m.get("epochs_run"),
            "seconds_per_epoch": m.get("seconds_per_epoch"),
            "device": m.get("device"),
        })
    baseline_columns = list(dict.fromkeys(name for row in baselines for name in row))
    return [{**h, **{c: b.get(c) for c in baseline_columns}, **t} for h, b, t in zip(head, baselines, tail)]


def split_table(m: Mapping) -> list[str]:
    """A Jena model's splits as markdown: how they were cut, then per split its rows, windows, the windows the
    split boundaries cost, the months it holds and its windows by season; nothing for IMDB or an older metrics.json
    without these facts."""
    splits = m.get("splits") or {}
    if not splits or not all("windows" in f and "months" in f for f in splits.values()):
        return []
    s = m.get("settings") or {}
    if s.get("split") == "blocked":
        how = (f"Split `blocked`: {s.get('block_days')}-day blocks of the calendar dealt "
               f"{s.get('block_pattern')}, repeating")
    else:
        how = "Split `contiguous` (the book's): train, validation and test one after the other"
    purged = sum(f.get("purged_windows", 0) for f in splits.values())
    possible = purged + sum(f["windows"] for f in splits.values())
    how += (f"; no window reads another split's rows, which costs {purged:,} of the {possible:,} windows the "
            f"record holds without split boundaries ({purged / possible:.0%})." if possible else ".")
    rows = [[name, f.get("rows"), f["windows"], f.get("purged_windows"), describe_months(f["months"]),
             ", ".join(f"{season} {n:,}" for season, n in (f.get("windows_by_season") or {}).items())]
            for name, f in splits.items()]
    return [how, "", *markdown_table(["split", "rows", "windows", "purged windows", "months", "windows by season of the "
                                                                                    "target"], rows)]


def _verdicts(m: Mapping, p: Mapping | None) -> tuple[str, str]:
    """("Blessed: yes. <reason>", "Promoted: no. <reason>") of one model."""
    blessing = (m.get("blessing") or {}).get("reason") or "no blessing recorded"
    blessed = f"**Blessed: {'yes' if m.get('blessed') else 'no'}.** {blessing}"
    if not p:
        return blessed, "**Promoted: not decided.** No registry step ran for this model."
    return blessed, f"**Promoted: {'yes' if p.get('promoted') else 'no'}.** {p.get('reason')}"


def report_markdown(results: Sequence[Mapping], run_id: str, profile: str) -> str:
    """The training run's report: a summary table (Jena in °C first), then per model whether it was blessed and
    promoted, and why.

    Args:
        results: as for metrics_table_rows, plus "reused" (True where the model of an earlier run with the same
            data, code and settings was reused instead of trained).
        run_id: the training run's id.
        profile: the settings profile (smoke, quick, seed, tuned).

    Returns:
        Markdown.
    """
    blessed = sum(bool(r["metrics"].get("blessed")) for r in results)
    promoted = sum(bool((r.get("promotion") or {}).get("promoted")) for r in results)
    kept = sum(bool(r.get("not_retrained")) for r in results)
    reused = sum(bool(r.get("reused")) for r in results) - kept
    trained = len(results) - reused - kept
    counts = [f"{trained} model{'s' * (trained != 1)} trained"] if trained else []
    if reused:
        counts.append(f"{reused} reused (same data, code and settings as an earlier run; `--force` on the command "
                      "line, `force=true` as a deployment parameter, trains again)")
    if kept:
        counts.append(f"{kept} not retrained (no drift flagged; the champion stays)")
    # Every model an earlier run's, and none of them skipped by choice: the data, code and settings are as before.
    unchanged = "nothing changed: " if results and not trained and not kept else ""
    lines = [
        f"# Training run {run_id}",
        "",
        f"Run id `{run_id}`, profile `{profile}`: {unchanged}{', '.join(counts) or 'no models'}; "
        f"{blessed} blessed (beat their strongest baseline), {promoted} promoted to champion.",
        "",
    ]
    summary = []
    for r in results:
        m, p = r["metrics"], r.get("promotion") or {}
        key, label, _ = _metric_of(m)
        b = m.get("blessing") or {}
        strongest = None
        if "baseline" in b:
            strongest = f"{b['baseline']} {_celsius_first((m.get('baselines') or {}).get(b['baseline'], {}).get('val'), key) or format(b['baseline_value'], '.4g')}"
        champion = (f"{p['champion_run_id']} ({p['champion_value']:.4g})" if p.get("champion_run_id") else "none yet")
        tag = " (not retrained)" if r.get("not_retrained") else " (reused)" if r.get("reused") else ""
        summary.append([m["model"] + tag, label.removeprefix("val "),
                        _celsius_first(m["validation"], key), _celsius_first(m.get("test"), key), strongest,
                        m.get("blessed"), p.get("promoted"), champion])
    lines += markdown_table(["model", "metric", "validation", "test", "strongest baseline (val)", "blessed", "promoted",
                     "champion"], summary)
    for r in results:
        m, p = r["metrics"], r.get("promotion")
        key, _, _ = _metric_of(m)
        blessed_line, promoted_line = _verdicts(m, p)
        if r.get("not_retrained"):
            promoted_line = f"**Not retrained:** {r['not_retrained'].removeprefix('not retrained: ')}; the champion stays."
        test = m.get("test") or {}
        if "mae_celsius" in test:
            test_line = (f"Test MAE {test['mae_celsius']:.2f} °C ({test[key]:.4g} normalized) "
                         f"over {test.get('windows', '?'):,} windows.")
        else:
            auc = f", ROC AUC {test['roc_auc']:.4g}" if "roc_auc" in test else ""
            test_line = f"Test accuracy {test.get(key, float('nan')):.4g}{auc} on {test.get('reviews', '?'):,} reviews."
        spe = m.get("seconds_per_epoch")
        if (p or {}).get("champion_now_value") is not None:
            lines += ["", f"## {m['model']}", "",
                      f"- Champion {p['previous_champion_run_id']} trained on other data: {p['metric']} "
                      f"{p['champion_own_value']:.4g} on its own data, {p['champion_now_value']:.4g} judged again on "
                      f"this run's data (the figure compared), against this run's {p['candidate_value']:.4g}."]
        else:
            lines += ["", f"## {m['model']}"]
        lines += [
            "",
            f"- {blessed_line}",
            f"- {promoted_line}",
            f"- {test_line}",
            f"- Best epoch {m.get('best_epoch')} of {m.get('epochs_run')} run ({m.get('epochs_planned')} planned)"
            + (f", {spe:.3g} s per epoch" if spe else "") + f" on {m.get('device', 'an unknown device')}"
            + (f"; reused from `{r.get('run_dir')}`." if r.get("reused") else "."),
            f"- Data sha256 `{str((m.get('data') or {}).get('sha256'))[:16]}…`, code `{m.get('git_commit')}`.",
        ]
        table = split_table(m)
        if table:
            lines += ["", *table]
    return "\n".join(lines) + "\n"


def _read_validation(path: Path) -> dict | None:
    """A validation JSON (tasks.ingest.validate.results_to_json), or None if the file does not exist."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as error:
        raise DataFormatError(f"validation report {path} is not valid JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("batches"), list):
        raise DataFormatError(f"validation report {path} has no list of batches; expected results_to_json's layout")
    return document


def _finding_row(level: str, batch: Mapping, finding: Mapping) -> list:
    count, percent = finding.get("unexpected_count"), finding.get("unexpected_percent")
    if count is not None:
        found = f"{count:,} of {batch.get('rows', 0):,} rows" + (f" ({percent:.3g}%)" if percent is not None else "")
    else:
        found = f"observed {json.dumps(finding.get('observed'), default=str)}"
    if finding.get("error"):
        found += f"; error: {finding['error']}"
    examples = json.dumps(finding.get("examples") or [], default=str)
    if len(examples) > MAX_EXAMPLES_CHARS:
        examples = examples[: MAX_EXAMPLES_CHARS - 1] + "…"
    return [level, batch.get("batch"), finding.get("column"), finding.get("expectation"), finding.get("why"),
            found[:MAX_EXAMPLES_CHARS], examples if finding.get("examples") else None]


def validation_markdown(dataset: str, report_paths: Sequence[Path]) -> str:
    """The validation results of one dataset (raw and normalized stages) as markdown, with a PASS/FAIL headline.

    Args:
        dataset: "imdb" or "jena".
        report_paths: the stages' JSON files (tasks.ingest.validate.results_to_json), in stage order; a file that does
            not exist is a stage that did not run (e.g. normalization after a failed raw stage).

    Returns:
        Markdown: the headline (FAIL if any hard expectation failed, PASS if every stage ran and passed,
        INCOMPLETE otherwise), then per stage one row per batch (file or split) and every failed expectation.

    Raises:
        DataFormatError: if a report exists but is not a validation JSON.
    """
    documents = [(Path(p), _read_validation(Path(p))) for p in report_paths]
    ran = [d for _, d in documents if d is not None]

    def passed(d: Mapping) -> bool:
        return bool(d.get("success", True)) and not any(b.get("failed_hard") for b in d["batches"])

    if any(not passed(d) for d in ran):
        verdict = "FAIL"
    elif ran and len(ran) == len(documents):
        verdict = "PASS"
    else:
        verdict = "INCOMPLETE"
    hard = sum(len(b.get("failed_hard") or []) for d in ran for b in d["batches"])
    soft = sum(len(b.get("failed_soft") or []) for d in ran for b in d["batches"])
    evaluated = sum(int(b.get("evaluated") or 0) for d in ran for b in d["batches"])
    lines = [
        f"# Validation of {dataset}: {verdict}",
        "",
        f"**{verdict}**: {len(ran)} of {len(documents)} stage{'s' * (len(documents) != 1)} ran; "
        f"{evaluated:,} expectations evaluated, {hard} failed hard (each fails the flow), {soft} failed soft "
        "(reported; repaired by normalization).",
    ]
    for path, d in documents:
        stage = path.name.split(".")[-2] if path.name.count(".") >= 2 else path.stem  # imdb.raw.json -> raw
        if d is None:
            lines += ["", f"## {stage}: not run", "", f"No report at `{path}`."]
            continue
        lines += ["", f"## {d.get('stage') or stage}: {'PASS' if passed(d) else 'FAIL'}", "", f"Report: `{path}`", ""]
        lines += markdown_table(
            ["batch", "suite", "rows", "expectations", "failed hard", "failed soft", "result"],
            [[b.get("batch"), b.get("suite"), b.get("rows"), b.get("evaluated"), len(b.get("failed_hard") or []),
              len(b.get("failed_soft") or []), "FAIL" if b.get("failed_hard") else "PASS"] for b in d["batches"]],
        )
        findings = [_finding_row(level, b, f) for b in d["batches"]
                    for level, key in (("**hard**", "failed_hard"), ("soft", "failed_soft"))
                    for f in (b.get(key) or [])]
        if findings:
            lines += ["", "### Failed expectations", ""]
            lines += markdown_table(["level", "batch", "column", "expectation", "why", "found", "examples"], findings)
    return "\n".join(lines) + "\n"


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
# Thin: each sends content built above. Outside a flow or task run they do nothing and return None (Prefect would
# otherwise attach the artifact to no run, and warns that this is deprecated). `_sync=True` makes Prefect's
# dispatching helpers run synchronously even when called from async code, where they would return a coroutine.


def publish_metrics_table(rows: list[dict], key: str = METRICS_TABLE_KEY):
    """The metrics table (metrics_table_rows) as a table artifact; its id, or None outside a run."""
    if not in_prefect_run():
        return None
    from prefect.artifacts import create_table_artifact

    return create_table_artifact(table=rows, key=key, description="Validation and test metrics, baselines, "
                                 "verdicts and timings: one row per model.", _sync=True)


def publish_report(markdown: str, key: str = REPORT_KEY):
    """The training report (report_markdown) as a markdown artifact; its id, or None outside a run."""
    if not in_prefect_run():
        return None
    from prefect.artifacts import create_markdown_artifact

    return create_markdown_artifact(markdown=markdown, key=key, description="Blessed and promoted, and why.",
                                    _sync=True)


def publish_validation(dataset: str, markdown: str):
    """A dataset's validation results (validation_markdown) under "validation-<dataset>"; id or None."""
    if not in_prefect_run():
        return None
    from prefect.artifacts import create_markdown_artifact

    return create_markdown_artifact(markdown=markdown, key=validation_key(dataset),
                                    description=f"Great Expectations results of {dataset}, raw and normalized.",
                                    _sync=True)


def tune_key(model: str) -> str:
    """"tune-jena-conv-gru": the latest tune of a model."""
    return artifact_key("tune", model)


def publish_tune(model: str, markdown: str):
    """A tune's table and plot (tasks.tune.trials.tune_markdown) under "tune-<model>"; id or None."""
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
# Predictions
# ---------------------------------------------------------------------------------------------------------------
MAX_TABLE_ROWS = 1_000  # rows of a predictions table artifact; the CSV in the predictions folder has them all


def predictions_key(dataset: str) -> str:
    """"predictions-imdb", "forecast-jena"."""
    return artifact_key("predictions" if dataset == "imdb" else "forecast", dataset)


def read_prediction_rows(out_dir: Path) -> list[dict]:
    """predictions.csv of a predictions folder, numbers back as numbers."""
    import csv

    def number(text: str):
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return text

    with open(Path(out_dir) / "predictions.csv", newline="", encoding="utf-8") as f:
        return [{k: number(v) for k, v in row.items()} for row in csv.DictReader(f)]


def forecast_summary(forecast: Mapping) -> str:
    """The forecast in one sentence: "12.3 °C at 2024-10-21 08:40:00, 24.5 h after the last reading ..."."""
    h = forecast["headline"]
    return (f"{forecast.get('model', 'the model')}: {h['forecast_c']:.1f} °C at {h['target_time']}, "
            f"{h['horizon_hours']:g} h after the last reading ({h['reading_time']}); persistence says "
            f"{h['persistence_c']:.1f} °C. From {forecast['source']}.")


def forecast_markdown(out_dir: Path) -> str:
    """A Jena forecast as markdown: the headline, the forecast of every hour of the last 24 h with persistence
    beside it, the notes, and the plot embedded."""
    import base64

    out_dir = Path(out_dir)
    forecast = json.loads((out_dir / "forecast.json").read_text(encoding="utf-8"))
    hourly = [r for r in forecast["rows"] if r["reading_time"].endswith(":00:00")] or forecast["rows"]
    lines = [f"# Forecast: {forecast['headline']['forecast_c']:.1f} °C at {forecast['headline']['target_time']}",
             "", forecast_summary(forecast), ""]
    lines += [f"- {note}" for note in forecast.get("notes") or []]
    plot = out_dir / "forecast.png"
    if plot.is_file():
        data = base64.b64encode(plot.read_bytes()).decode("ascii")
        lines += ["", f"![forecast](data:image/png;base64,{data})"]
    lines += ["", "## Every hour of the last 24 h", ""]
    lines += markdown_table(["reading", "forecast for", "forecast °C", "persistence °C"],
                    [[r["reading_time"], r["target_time"], r["forecast_c"], r["persistence_c"]] for r in hourly])
    lines += ["", f"All {len(forecast['rows'])} forecasts: `{out_dir / 'predictions.csv'}`."]
    return "\n".join(lines) + "\n"


def prediction_summary(dataset: str, out_dir: Path, limit: int = 20) -> str:
    """What the terminal shows of a prediction run: the reviews' table, or the forecast's headline and the
    hourly forecasts."""

    out_dir = Path(out_dir)
    if dataset == "imdb":
        rows = read_prediction_rows(out_dir)
        return format_table(rows, limit=limit, columns=["row", "label", "probability", "known_words", "flag",
                                                         "excerpt"])
    forecast = json.loads((out_dir / "forecast.json").read_text(encoding="utf-8"))
    hourly = [r for r in forecast["rows"] if r["reading_time"].endswith(":00:00")] or forecast["rows"]
    notes = "".join(f"\nnote: {n}" for n in forecast.get("notes") or [])
    return (forecast_summary(forecast) + notes + "\n\nevery hour of the last 24 h:\n"
            + format_table(hourly, limit=30, columns=["reading_time", "target_time", "forecast_c", "persistence_c"]))


# ---------------------------------------------------------------------------------------------------------------
# For the terminal
# ---------------------------------------------------------------------------------------------------------------
def ingest_summary(dataset: str, path: Path) -> str:
    """A few lines for the terminal: rows, repairs and gaps from the published Parquet's provenance."""
    from tasks.ingest import read_provenance

    path = Path(path)
    if dataset == "imdb":
        rows = {s: read_provenance(path / f"{s}.parquet")["rows"] for s in ("train", "test")}
        return f"imdb: {rows['train']:,} train + {rows['test']:,} test reviews -> {path}"
    p = read_provenance(path / "jena.parquet")
    r = p["repairs"]
    return (
        f"jena: {p['rows']:,} rows, {p['first']} to {p['last']} -> {path}\n"
        f"  repairs: {r['repeated_timestamps_dropped']} repeated timestamp(s) dropped {r['repeated_timestamps']}, "
        f"sentinels interpolated {r['sentinels_interpolated'] or 'none'}, "
        f"rows sorted {r['rows_out_of_order_sorted']}; -9999 in columns not kept: "
        f"{r['sentinels_in_dropped_columns'] or 'none'}\n"
        f"  grid: {p['gap_count']} gap(s), {p['missing_steps']:,} missing 10-minute steps"
        + "".join(f"\n    {g['after']} -> {g['before']} ({g['hours']} h)" for g in p["gaps"][:5])
    )


def evaluation_summary(metrics: Mapping) -> str:
    """One evaluation in a few lines: the model, validation and test beside the strongest baseline, the blessing."""
    key, label, _ = _metric_of(metrics)
    b = metrics.get("blessing") or {}
    lines = [f"{metrics['model']} on {str((metrics.get('data') or {}).get('path'))}"]
    for split, name in (("validation", "val"), ("test", "test")):
        figure = _celsius_first(metrics.get(split), key)
        baselines = ", ".join(f"{n} {_celsius_first(v.get(name), key)}" for n, v in (metrics.get("baselines") or {}).items())
        lines.append(f"  {split}: {figure}   baselines: {baselines}")
    lines.append(f"  {'blessed' if metrics.get('blessed') else 'not blessed'}: {b.get('reason')}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Prefect tasks
# ---------------------------------------------------------------------------------------------------------------
@task(task_run_name="plot {model}")
def plot_and_publish(out_dir: Path, model: str, history_dir: Path | None = None) -> list[str]:
    """Draw a run's or an evaluation's figures (tasks.publish.plots) and publish them as the `plots-<model>` artifact."""
    from tasks.publish.plots import plot_evaluation

    written = plot_evaluation(Path(out_dir), Path(history_dir) if history_dir else None)
    publish_plots(model, plots_markdown(Path(out_dir), model))
    return [str(p) for p in written]


def drift_section(report: Mapping, image: str | None) -> list[str]:
    """A "Data drift" section of the run report: the reference, the flagged features and the plot (tasks.ingest.drift)."""
    from tasks.ingest import describe_reference

    lines = ["", f"## Data drift: {report.get('dataset')}", ""]
    new = report.get("new") or {}
    where = f"version `{new.get('version')}`" + (f", {describe_months(new['months'])}" if new.get("months") else "")
    if report.get("error"):
        lines.append(f"New data {where}: drift not computed ({report['error']}).")
    elif not report.get("features"):
        lines.append(f"New data {where}: no reference to compare with (first ingestion).")
    else:
        flagged = report.get("flagged") or []
        lines.append(f"New data {where} against the {describe_reference(report)}: "
                     + (f"flagged {', '.join(flagged)}." if flagged else "no feature flagged."))
    if image:
        lines += ["", f"![drift of {report.get('dataset')}]({image})"]
    return lines


def drift_sections(data_dir: Path | None, datasets: Sequence[str], out_dir: Path) -> tuple[list[str], list[str]]:
    """The "Data drift" sections of every dataset with a drift.json: (for report.md, with the plot beside it in
    `out_dir`; for the Prefect artifact, with the plot embedded). A plot that fails is left out, logged."""
    import base64

    from tasks.ingest import read_drift
    from tasks.publish.plots import plot_drift

    in_file, in_artifact = [], []
    for dataset in datasets if data_dir else ():
        report = read_drift(Path(data_dir) / "validation", dataset)
        if report is None:
            continue
        png = None
        try:
            png = plot_drift(report, Path(out_dir) / f"drift-{dataset}.png")
        except Exception as error:  # noqa: BLE001 - a figure is not worth failing the report for
            log(f"drift plot of {dataset} not drawn: {error}", logging.WARNING)
        in_file += drift_section(report, png.name if png else None)
        embedded = f"data:image/png;base64,{base64.b64encode(png.read_bytes()).decode('ascii')}" if png else None
        in_artifact += drift_section(report, embedded)
    return in_file, in_artifact


@task(task_run_name="report {run_id}")
def write_run_report(results: list[dict], run_id: str, profile: str, artifacts_dir: Path,
                     data_dir: Path | None = None) -> str:
    """The run's report.md (written atomically) and its Prefect artifacts: the metrics table and the verdicts,
    and the data drift of each dataset with a drift report in `data_dir`.

    `results`: per model {"run_dir", "promotion", "reused", "not_retrained"}; each metrics.json is read here."""
    full = [{**r, "metrics": runs.read_metrics(runs.resolve_run_dir(Path(r["run_dir"])))} for r in results]
    publish_metrics_table(metrics_table_rows(full))
    markdown = report_markdown(full, run_id, profile)
    datasets = sorted({family_of(r["metrics"]["model"]).name for r in full})
    in_file, in_artifact = drift_sections(data_dir, datasets, runs.report_path(artifacts_dir, run_id).parent)
    publish_report(markdown + "\n".join(in_artifact) + ("\n" if in_artifact else ""))
    if not any(r.get("not_retrained") for r in full) and all(r.get("reused") for r in full):
        log("nothing changed: every model reused (same data, code and settings as an earlier run)")
    markdown += "\n".join(in_file) + ("\n" if in_file else "")
    return str(atomic.write_text(runs.report_path(artifacts_dir, run_id), markdown))


@task(task_run_name="report {dataset} validation")
def report_validation(dataset: str, version: Path) -> None:
    """Publish the dataset's raw and normalized validation results as the `validation-<dataset>` artifact."""
    reports = [Path(version) / f"validation.{stage}.json" for stage in ("raw", "normalized")]
    publish_validation(dataset, validation_markdown(dataset, reports))


@task(task_run_name="publish {dataset} predictions")
def publish_predictions(dataset: str, out_dir: Path) -> None:
    """A prediction run as a Prefect artifact: the reviews as a table (`predictions-imdb`), the forecast as
    markdown with its plot (`forecast-jena`)."""
    if not in_prefect_run():
        return
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    if dataset == "imdb":
        rows = read_prediction_rows(out_dir)
        create_table_artifact(table=rows[:MAX_TABLE_ROWS], key=predictions_key(dataset), _sync=True,
                              description=f"{len(rows):,} reviews: probability of a positive review, label, known "
                                          f"words ({Path(out_dir) / 'predictions.csv'})")
    else:
        create_markdown_artifact(markdown=forecast_markdown(Path(out_dir)), key=predictions_key(dataset), _sync=True,
                                 description="The temperature 24 h after the last reading, persistence beside it.")
