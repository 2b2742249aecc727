"""Running drift's Great Expectations checks on a frame of new rows: shared by the drift of every kind of dataset."""

from __future__ import annotations

import uuid

import pandas as pd

from tasks.ingest.suite_runner import gx_context


def run_expectations(frame: pd.DataFrame, expectations: list, name: str) -> list:
    """Run expectations on a frame with the ephemeral GX context tasks.ingest.validate uses; the results in order."""
    import great_expectations as gx

    context = gx_context()  # one ephemeral context per process, shared with the validation suites
    suite = context.suites.add(gx.ExpectationSuite(name=f"drift.{name}.{uuid.uuid4().hex[:8]}",
                                                   expectations=expectations))
    asset = context.data_sources.add_pandas(f"drift-{uuid.uuid4().hex[:8]}").add_dataframe_asset(name)
    result = asset.add_batch_definition_whole_dataframe("whole").get_batch(
        batch_parameters={"dataframe": frame}).validate(suite, result_format={"result_format": "SUMMARY"})
    by_column = {(r.expectation_config.kwargs.get("column"), r.expectation_config.type): r for r in result.results}
    return [by_column.get((e.column, e.expectation_type)) for e in expectations]


def observed_kl(result) -> float:
    """The KL divergence a GX result observed; GX reports an infinite one as None."""
    value = (result.result or {}).get("observed_value") if result is not None else None
    return float("inf") if value is None else float(value)
