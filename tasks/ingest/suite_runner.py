"""Running a Great Expectations suite and reporting what it found: one ephemeral context per process, findings as
plain JSON-able data, the readable list of failures a user reads, and the JSON kept per dataset and stage.

Each expectation carries `meta["hard"]`: a failed hard expectation fails the flow; a failed soft one is reported
(counts and a few offending values) and left to normalization to repair. The suites themselves:
tasks.ingest.imdb_suite and tasks.ingest.jena_suite.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tasks.core.errors import ValidationFailed


@dataclass(frozen=True)
class SuiteResult:
    """What one suite found on one batch, as plain data (kept as JSON and shown as a Prefect artifact)."""

    suite: str  # e.g. "jena.raw"
    batch: str  # which file or split was checked
    rows: int
    failed_hard: list[dict[str, Any]] = field(default_factory=list)
    failed_soft: list[dict[str, Any]] = field(default_factory=list)
    evaluated: int = 0  # how many expectations ran

    @property
    def success(self) -> bool:
        return not self.failed_hard

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "batch": self.batch,
            "rows": self.rows,
            "success": self.success,
            "evaluated": self.evaluated,
            "failed_hard": self.failed_hard,
            "failed_soft": self.failed_soft,
        }


def expect(kind: str, hard: bool, why: str, **kwargs: Any):
    """One Great Expectations expectation (`kind`, e.g. "ExpectColumnValuesToBeBetween"), hard or soft, with why."""
    import great_expectations.expectations as gxe

    return getattr(gxe, kind)(meta={"hard": hard, "why": why}, **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# Running a suite
# ---------------------------------------------------------------------------------------------------------------
def run_suite(frame: pd.DataFrame, suite, batch: str) -> SuiteResult:
    """Validate `frame` against `suite` with an ephemeral Great Expectations context.

    Expectations whose column is missing are skipped (the column-set expectation reports the missing column
    itself) so that one absent column gives one clear failure instead of a cascade of errors.
    """
    import great_expectations as gx

    context = gx_context()
    present = set(frame.columns)
    runnable = gx.ExpectationSuite(
        name=f"{suite.name}.{uuid.uuid4().hex[:8]}",  # one context serves many runs: names must differ
        expectations=[e for e in suite.expectations if getattr(e, "column", None) in (None, *present)],
    )
    runnable = context.suites.add(runnable)
    source = f"frames-{uuid.uuid4().hex[:8]}"
    asset = context.data_sources.add_pandas(source).add_dataframe_asset(batch)
    try:
        result = asset.add_batch_definition_whole_dataframe("whole").get_batch(
            batch_parameters={"dataframe": frame}
        ).validate(runnable, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5})
    finally:  # the context keeps a data source's frame alive: the rows would outlive the run and stack up
        context.data_sources.delete(source)
        context.suites.delete(runnable.name)

    failed_hard, failed_soft = [], []
    for r in result.results:
        if r.success:
            continue
        config = r.expectation_config
        finding = _describe(config.type, config.kwargs, config.meta or {}, r.result or {}, r.exception_info)
        (failed_hard if (config.meta or {}).get("hard", True) else failed_soft).append(finding)
    return SuiteResult(
        suite=suite.name,
        batch=batch,
        rows=len(frame),
        failed_hard=failed_hard,
        failed_soft=failed_soft,
        evaluated=len(result.results),
    )


@functools.cache
def gx_context():
    """One ephemeral Great Expectations context per process (each one makes a temporary docs folder)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    import great_expectations.execution_engine.pandas_execution_engine as pandas_engine

    # GX fingerprints every batch under 1 GB with pandas' row hashes, a batch marker no check reads: several uint64
    # arrays a row at once (50 MiB for a 1,000,000-row series), the largest cost of a run on a tall table
    pandas_engine.HASH_THRESHOLD = 0
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _describe(kind: str, kwargs: dict, meta: dict, result: dict, exception_info: Any) -> dict[str, Any]:
    """A failed expectation as plain JSON-able data: what, why, how many, a few offending values."""
    arguments = {k: v for k, v in kwargs.items() if k not in ("batch_id", "result_format")}
    finding: dict[str, Any] = {
        "expectation": kind,
        "why": meta.get("why", ""),
        "column": arguments.pop("column", None),
        "arguments": arguments,
        "unexpected_count": result.get("unexpected_count"),
        "unexpected_percent": result.get("unexpected_percent"),
        "examples": [_plain(v) for v in (result.get("partial_unexpected_list") or [])[:5]],
        "observed": _plain(result.get("observed_value")),
    }
    if result.get("details", {}).get("mismatched"):
        finding["observed"] = _plain(result["details"]["mismatched"])
    error = _exception_message(exception_info)
    if error:
        finding["error"] = error
    return finding


def _exception_message(exception_info: Any) -> str | None:
    if not exception_info:
        return None
    infos = exception_info.values() if isinstance(exception_info, dict) and "raised_exception" not in exception_info \
        else [exception_info]
    for info in infos:
        if isinstance(info, dict) and info.get("raised_exception"):
            return str(info.get("exception_message"))
    return None


def _plain(value: Any) -> Any:
    """JSON-able form of numpy/pandas values (timestamps as ISO strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return str(pd.Timestamp(value))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def format_failures(results: list[SuiteResult]) -> str:
    """A readable list of every failed hard expectation: file or split, column, counts, examples."""
    lines = []
    for result in results:
        for f in result.failed_hard:
            where = f"{result.batch}: " + (f"column {f['column']!r}: " if f["column"] else "")
            count = f["unexpected_count"]
            detail = f"{count} of {result.rows} rows" if count is not None else f"observed {f['observed']!r}"
            examples = f"; e.g. {f['examples']}" if f["examples"] else ""
            error = f"; error: {f['error']}" if f.get("error") else ""
            lines.append(f"  - {where}{f['expectation']} ({f['why']}): {detail}{examples}{error}")
    return "\n".join(lines)


def raise_on_failure(dataset: str, stage: str, results: list[SuiteResult], report_path: str | None = None) -> None:
    """Raise ValidationFailed listing every failed hard expectation, if there is one."""
    if all(r.success for r in results):
        return
    where = f" (full results: {report_path})" if report_path else ""
    raise ValidationFailed(
        f"{dataset} {stage} data failed validation{where}:\n{format_failures(results)}"
    )


def results_to_json(dataset: str, stage: str, results: list[SuiteResult], extra: dict | None = None) -> str:
    """The results of one dataset and stage as a JSON document."""
    return json.dumps(
        {
            "dataset": dataset,
            "stage": stage,
            "success": all(r.success for r in results),
            "batches": [r.to_dict() for r in results],
            **(extra or {}),
        },
        indent=2,
        default=str,
    )


# ---------------------------------------------------------------------------------------------------------------
# Range checks on float32 readings: both sides widened, here only
# ---------------------------------------------------------------------------------------------------------------
def widen_float32(frame: pd.DataFrame, columns: Any = None) -> pd.DataFrame:
    """`frame` with its float32 columns (those in `columns`; None: every one) as float64, for GX's range checks:
    it vectorizes them only on int64 and float64 columns, on float32 it makes one Python call per value. Exact:
    every float32 is a float64."""
    return frame.astype({c: "float64" for c in frame.columns
                         if frame[c].dtype == np.float32 and (columns is None or c in columns)})


def stored_bounds(low: float, high: float) -> tuple[float, float]:
    """A declared range widened by the float32 rounding of its ends: readings are stored as float32, and 10.1 as a
    float32 is 10.1000004, above a range that ends at 10.1; a reading on a declared end must pass."""
    return min(low, float(np.float32(low))), max(high, float(np.float32(high)))


def run_suite_on_float32(frame: pd.DataFrame, suite, batch: str, widen: Any = None) -> SuiteResult:
    """`run_suite` for a frame with float32 columns, four times faster on the classic file (4.8 s -> 1.1 s).

    GX vectorizes a range check only on int64 and float64 columns; on float32 it makes one Python call per value.
    So the dtype expectations run on the frame as stored, every other one on a float64 copy (widen_float32), and
    the two results are merged into one. `widen` names the columns copied to float64 (default:
    every float32 column); a caller whose other expectations on the rest are vectorized on float32 (not null,
    unique) passes only the columns a range check reads, so the copy does not cost 8 bytes a reading.
    """
    import great_expectations as gx

    def part(keep_types: bool):
        kept = [e for e in suite.expectations if (type(e).__name__ == "ExpectColumnValuesToBeOfType") == keep_types]
        return gx.ExpectationSuite(name=suite.name, expectations=kept)

    typed = run_suite(frame, part(True), batch)
    values = run_suite(widen_float32(frame, widen), part(False), batch)
    return SuiteResult(
        suite=suite.name,
        batch=batch,
        rows=len(frame),
        failed_hard=values.failed_hard + typed.failed_hard,
        failed_soft=values.failed_soft + typed.failed_soft,
        evaluated=values.evaluated + typed.evaluated,
    )


def run_suite_column_by_column(frame: pd.DataFrame, suite, batch: str, widen: Any = (),
                               last: str | None = None) -> SuiteResult:
    """`run_suite` one column at a time, emptying `frame` (the caller gives it up): GX's work on every row (the
    mask of each check, the uniqueness hash table) then costs one column's rows, not the table's, and each column
    is let go once checked, so the table is held once and shrinks; `last` (the time column, whose uniqueness check
    costs most) runs when the others are gone. Table expectations (row count, column list) run first, on the whole
    frame. A float32 column in `widen` is checked on a float64 copy of it (widen_float32), its type on itself (as
    run_suite_on_float32). The findings are those of `run_suite` on the whole frame, in the suite's order.
    """
    import great_expectations as gx

    def part(expectations: list) -> Any:
        return gx.ExpectationSuite(name=suite.name, expectations=[copy.copy(e) for e in expectations])

    rows, results = len(frame), []
    by_column: dict[Any, list] = {}
    for expectation in suite.expectations:
        by_column.setdefault(getattr(expectation, "column", None), []).append(expectation)
    if None in by_column:
        results.append(run_suite(frame, part(by_column.pop(None)), batch))
    order = [c for c in frame.columns if c != last] + ([last] if last in frame.columns else [])
    for column in order:
        values = frame.pop(column).to_frame()
        expectations = by_column.pop(column, [])
        typed = [e for e in expectations if type(e).__name__ == "ExpectColumnValuesToBeOfType"]
        if column in widen and values[column].dtype == np.float32 and len(typed) < len(expectations):
            results.append(run_suite(values, part(typed), batch))
            expectations = [e for e in expectations if type(e).__name__ != "ExpectColumnValuesToBeOfType"]
            values = widen_float32(values, widen)
        if expectations:
            results.append(run_suite(values, part(expectations), batch))
        del values
    position = {}  # (kind, column) -> where the suite first names it
    for index, expectation in enumerate(suite.expectations):
        position.setdefault((expectation.expectation_type, getattr(expectation, "column", None)), index)

    def in_suite_order(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(findings, key=lambda f: position.get((f["expectation"], f["column"]), len(position)))

    return SuiteResult(
        suite=suite.name,
        batch=batch,
        rows=rows,
        failed_hard=in_suite_order([f for r in results for f in r.failed_hard]),
        failed_soft=in_suite_order([f for r in results for f in r.failed_soft]),
        evaluated=sum(r.evaluated for r in results),
    )

