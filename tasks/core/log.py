"""One way to say something while a stage runs: Prefect's run logger inside a flow or task run, else stdout."""

from __future__ import annotations

import logging


def log(message: str, level: int = logging.INFO) -> None:
    """Log `message` to the current Prefect run (it shows in the UI), or print it outside a run."""
    from prefect.context import FlowRunContext, TaskRunContext

    if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
        from prefect.logging import get_run_logger

        get_run_logger().log(level, message)
    else:
        print(message, flush=True)
