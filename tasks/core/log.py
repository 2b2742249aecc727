"""One way to say something while a stage runs: Prefect's run logger inside a flow or task run, else stdout; and
one way to report how far a long loop got, for a live view on the terminal (flows.cli.terminal) if one listens."""

from __future__ import annotations

import logging

PROGRESS_LOGGER = "seqconv.progress"  # one record per step of a long loop (an epoch), read by a live view only


def log(message: str, level: int = logging.INFO) -> None:
    """Log `message` to the current Prefect run (it shows in the UI), or print it outside a run."""
    from prefect.context import FlowRunContext, TaskRunContext

    if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
        from prefect.logging import get_run_logger

        get_run_logger().log(level, message)
    else:
        print(message, flush=True)


def progress_shown() -> bool:
    """True while a live view draws progress bars on the terminal (so Keras must not draw its own)."""
    return bool(logging.getLogger(PROGRESS_LOGGER).handlers)


def report_progress(done: int, total: int, description: str) -> None:
    """Tell the live view, if one listens, that the current task run is `done` of `total` ("epoch 3/10 ...").

    The record carries the task run's id (the view's row for it) and goes to the view alone: the run's log already
    has its own line per step.
    """
    logger = logging.getLogger(PROGRESS_LOGGER)
    if not logger.handlers:
        return
    from prefect.context import TaskRunContext

    context = TaskRunContext.get()
    task_run_id = str(context.task_run.id) if context is not None else None
    logger.info(description, extra={"task_run_id": task_run_id, "progress": (int(done), int(total))})
