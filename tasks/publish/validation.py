"""A dataset's validation results (tasks.ingest.validate's JSON, raw and normalized stages) as markdown, with a
PASS/FAIL headline, published as the `validation-<dataset>` artifact.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from prefect import task

from tasks.core.errors import DataFormatError
from tasks.core.tables import markdown_table
from tasks.publish.artifacts import publish_validation

MAX_EXAMPLES_CHARS = 160  # of offending values shown per failed expectation


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
        dataset: the dataset's name (a key of tasks.core.config.FAMILIES).
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


@task(task_run_name="report {dataset} validation")
def report_validation(dataset: str, version: Path) -> None:
    """Publish the dataset's raw and normalized validation results as the `validation-<dataset>` artifact."""
    reports = [Path(version) / f"validation.{stage}.json" for stage in ("raw", "normalized")]
    publish_validation(dataset, validation_markdown(dataset, reports))
