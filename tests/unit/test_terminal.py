"""flows.cli.terminal's routing of log records under the live view: the view sees every run record, the log file what
a console saw before, Prefect's console handler nothing; detach() puts it all back."""

from __future__ import annotations

import importlib
import logging
import uuid

import pytest

pytestmark = pytest.mark.unit


def test_under_the_live_view_records_go_to_the_view_and_the_log_file_not_to_prefects_console(tmp_path):
    importlib.import_module("prefect.main")  # Prefect's logging configured, as before any command's flow
    from prefect.logging.handlers import PrefectConsoleHandler
    from prefect.settings import PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

    from flows.cli import terminal
    from flows.cli.stages import TASK_RUNS
    from tasks.core.log import PROGRESS_LOGGER, progress_shown

    task_runs = logging.getLogger(TASK_RUNS)
    level_before, root_before = task_runs.level, list(logging.getLogger().handlers)
    run_id = str(uuid.uuid4())
    extra = {"task_run_id": run_id, "task_run_name": "validate raw jena", "flow_run_id": str(uuid.uuid4()),
             "flow_run_name": "huge-lynx", "flow_name": "ingest-jena"}
    view = terminal.attach("train-all", live=True, log_dir=tmp_path / "logs")
    try:
        assert not any(isinstance(h, PrefectConsoleHandler) for h in logging.getLogger().handlers)
        assert progress_shown() and logging.getLogger(PROGRESS_LOGGER).isEnabledFor(logging.INFO)
        with temporary_settings({PREFECT_LOGGING_TO_API_ENABLED: False}):  # no run here, no API to send to
            task_runs.debug("Created task run 'validate_raw_jena-6a2' for task 'validate_raw_jena'", extra=extra)
            task_runs.info("Finished in state Completed()", extra=extra)
            logging.getLogger(PROGRESS_LOGGER).info("epoch 1/2", extra={"task_run_id": run_id, "progress": (1, 2)})
    finally:
        view.close()
        view.detach()

    assert [(row.label, row.state, row.detail) for row in view.stages.rows()] == [
        ("validate raw jena", "done", "epoch 1/2")]
    log = view.log_file.baseFilename
    assert log.startswith(str(tmp_path / "logs" / "train-all-")) and log.endswith(".log")
    text = open(log, encoding="utf-8").read()
    assert "Finished in state Completed()" in text  # what the console printed before
    assert "Created task run" not in text and "epoch 1/2" not in text  # the view's own records
    assert task_runs.level == level_before and logging.getLogger().handlers == root_before
    assert not progress_shown()
