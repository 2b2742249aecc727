"""The training run's report: the metrics table (one row per model), the verdicts (blessed, promoted, and why),
each Jena model's splits, and the drift of the data it trained on; written to report.md and sent as Prefect
artifacts (tasks.publish.artifacts). The content is built by plain functions; the thin @task wrapper comes last.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from prefect import task

from tasks.core import atomic, runs
from tasks.core.config import family_of
from tasks.core.log import log
from tasks.core.records.metrics import Metrics, label_names
from tasks.core.tables import describe_months, markdown_table
from tasks.publish.artifacts import publish_metrics_table, publish_report
from tasks.publish.verdicts import opening_lines


def _round(value, digits: int = 4):
    return round(float(value), digits) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def metric_of(metrics: Mapping) -> tuple[str, str, bool]:
    """(key in metrics["validation"], label, higher is better): accuracy for IMDB, MAE for Jena."""
    spec = family_of(str(metrics.get("model")))
    return spec.metric, spec.label, spec.higher_is_better


def unit_of(metrics: Mapping) -> str:
    """The unit of a series model's target (its dataset's spec: °C for Jena); "" for text."""
    record = family_of(str(metrics.get("model"))).record
    return record.unit if record else ""


def celsius_first(split: Mapping | None, key: str, unit: str = "°C") -> str | None:
    """A split's figure as a person reads it: "2.61 °C (0.312)" for Jena's MAE (the target's unit first),
    "0.8764" for IMDB's accuracy."""
    if not split or split.get(key) is None:
        return None
    if split.get("mae_celsius") is not None:
        return f"{split['mae_celsius']:.2f} {unit} ({split[key]:.4g})"
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
        key, label, _ = metric_of(m)
        unit = unit_of(m)
        head.append({
            "model": m["model"],
            "run_id": m.get("run_id"),
            "metric": label.removeprefix("val ") + (f" {unit}" if "mae_celsius" in m["validation"] else ""),
            "val": celsius_first(m["validation"], key, unit),
            "test": celsius_first(m.get("test"), key, unit),
            "val_normalized": _round(m["validation"][key]),
            "test_normalized": _round((m.get("test") or {}).get(key)),
        })
        baselines.append({f"val_{name}": celsius_first(b.get("val"), key, unit)
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
    if str(s.get("split_reason", "")).startswith("auto"):  # chosen from the record (tasks.model.splits.choose_split)
        how += f" Split {s['split_reason']}."
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
    """The training run's report: the split and the verdicts in the book's terms first (tasks.publish.verdicts),
    a summary table (Jena in °C first), then per model whether it was blessed and promoted, and why.

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
        counts.append(f"{kept} not retrained (the retraining policy kept the champion; see below why)")
    # Every model an earlier run's, and none of them skipped by choice: the data, code and settings are as before.
    unchanged = "nothing changed: " if results and not trained and not kept else ""
    lines = [
        f"# Training run {run_id}",
        "",
        f"Run id `{run_id}`, profile `{profile}`: {unchanged}{', '.join(counts) or 'no models'}; "
        f"{blessed} blessed (beat their strongest baseline), {promoted} promoted to champion.",
        "",
        *opening_lines([r["metrics"] for r in results], profile),
        "",
    ]
    summary = []
    for r in results:
        m, p = r["metrics"], r.get("promotion") or {}
        key, label, _ = metric_of(m)
        unit = unit_of(m)
        b = m.get("blessing") or {}
        strongest = None
        if "baseline" in b:
            strongest = f"{b['baseline']} {celsius_first((m.get('baselines') or {}).get(b['baseline'], {}).get('val'), key, unit) or format(b['baseline_value'], '.4g')}"
        champion = (f"{p['champion_run_id']} ({p['champion_value']:.4g})" if p.get("champion_run_id") else "none yet")
        tag = " (not retrained)" if r.get("not_retrained") else " (reused)" if r.get("reused") else ""
        summary.append([m["model"] + tag, label.removeprefix("val "),
                        celsius_first(m["validation"], key, unit), celsius_first(m.get("test"), key, unit), strongest,
                        m.get("blessed"), p.get("promoted"), champion])
    lines += markdown_table(["model", "metric", "validation", "test", "strongest baseline (val)", "blessed", "promoted",
                     "champion"], summary)
    for r in results:
        m, p = r["metrics"], r.get("promotion")
        key, _, _ = metric_of(m)
        blessed_line, promoted_line = _verdicts(m, p)
        if r.get("not_retrained"):
            promoted_line = f"**Not retrained:** {r['not_retrained'].removeprefix('not retrained: ')}; the champion stays."
        elif r.get("retrained_because"):
            promoted_line = f"**Retrained:** {r['retrained_because']}. {promoted_line}"
        test = m.get("test") or {}
        if "mae_celsius" in test:
            test_line = (f"Test MAE {test['mae_celsius']:.2f} °C ({test[key]:.4g} normalized) "
                         f"over {test.get('windows', '?'):,} windows.")
        else:
            auc = f", ROC AUC {test['roc_auc']:.4g}" if "roc_auc" in test else ""
            f1 = f", macro-F1 {test['macro_f1']:.4g}" if "macro_f1" in test else ""  # more than two labels
            test_line = f"Test accuracy {test.get(key, float('nan')):.4g}{auc}{f1} on {test.get('reviews', '?'):,} {family_of(str(m['model'])).unit}."
            matrix = test.get("confusion_matrix")
            if matrix and ("macro_f1" in test or "labels" in m):  # rows the true label, columns the predicted one
                names = ", ".join(label_names(m, len(matrix)))
                test_line += f" Confusion matrix (rows true, columns predicted, labels {names}): " + "; ".join(
                    " ".join(f"{n:,}" for n in row) for row in matrix) + "."
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


# ---------------------------------------------------------------------------------------------------------------
# Data drift
# ---------------------------------------------------------------------------------------------------------------
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
    from tasks.publish.stage_plots import plot_drift

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


# ---------------------------------------------------------------------------------------------------------------
# Prefect tasks
# ---------------------------------------------------------------------------------------------------------------
@task(task_run_name="report {run_id}")
def write_run_report(results: list[dict], run_id: str, profile: str, artifacts_dir: Path,
                     data_dir: Path | None = None, retrain: str | None = None) -> str:
    """The run's report.md (written atomically) and its Prefect artifacts: the metrics table and the verdicts,
    the data drift of each dataset with a drift report in `data_dir`, and each champion on the new data it was
    judged on (tasks.publish.new_data).

    `results`: per model {"run_dir", "promotion", "reused", "not_retrained" or "retrained_because"}; each
    metrics.json is read here. `retrain`: the retraining policy, named in the report."""
    from tasks.publish.new_data import new_data_sections

    full = [{**r, "metrics": Metrics.read(runs.resolve_run_dir(Path(r["run_dir"]))).data} for r in results]
    publish_metrics_table(metrics_table_rows(full))
    markdown = report_markdown(full, run_id, profile)
    if retrain:
        markdown = markdown.replace("\n\n", f"\n\nRetraining policy `{retrain}`.\n\n", 1)
    datasets = sorted({family_of(r["metrics"]["model"]).name for r in full})
    out_dir = runs.report_path(artifacts_dir, run_id).parent
    in_file, in_artifact = drift_sections(data_dir, datasets, out_dir)
    models = [r["metrics"]["model"] for r in full]
    decayed_file, decayed_artifact = new_data_sections(runs.registry_dir(artifacts_dir), models, out_dir)
    in_file, in_artifact = in_file + decayed_file, in_artifact + decayed_artifact
    publish_report(markdown + "\n".join(in_artifact) + ("\n" if in_artifact else ""))
    if not any(r.get("not_retrained") for r in full) and all(r.get("reused") for r in full):
        log("nothing changed: every model reused (same data, code and settings as an earlier run)")
    markdown += "\n".join(in_file) + ("\n" if in_file else "")
    return str(atomic.write_text(runs.report_path(artifacts_dir, run_id), markdown))
