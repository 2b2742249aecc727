"""The live view's rows from Prefect's log records (flows.cli.stages), and the console formatter without tracebacks."""

from __future__ import annotations

import logging
import sys

import pytest

from flows.cli.stages import FLOW_RUNS, TASK_RUNS, Stages, duration

pytestmark = pytest.mark.unit


def record(logger: str, message: str, level: int = logging.INFO, thread: int = 1, at: float = 100.0,
           **extra) -> logging.LogRecord:
    made = logging.LogRecord(logger, level, __file__, 1, message, None, None)
    made.thread, made.created = thread, at
    made.__dict__.update(extra)
    return made


def flow_record(message: str, run: str = "f1", flow: str = "ingest-jena", **kwargs) -> logging.LogRecord:
    return record(FLOW_RUNS, message, flow_run_id=run, flow_run_name="huge-lynx", flow_name=flow, **kwargs)


def task_record(message: str, run: str, name: str, flow_run: str = "f1", **kwargs) -> logging.LogRecord:
    return record(TASK_RUNS, message, task_run_id=run, task_run_name=name, flow_run_id=flow_run, **kwargs)


def test_tasks_nest_under_their_flow_with_their_final_name_state_and_time():
    stages = Stages()
    stages.record(flow_record("Beginning flow run 'huge-lynx' for flow 'ingest-jena'", at=100))
    stages.record(task_record("Created task run 'download_source-a12' for task 'download_source'", "t1",
                              "download_source-a12", level=logging.DEBUG, at=101))
    stages.record(task_record("Renamed task run", "t1", "download mpi_roof_2024b.csv", level=logging.DEBUG, at=101))
    stages.record(task_record("Finished in state Completed()", "t1", "download mpi_roof_2024b.csv", at=103.5))
    stages.record(task_record("Finished in state Cached(type=COMPLETED)", "t2", "normalize jena", at=104))
    stages.record(task_record("Task run failed with exception: DataFormatError('x')", "t3", "validate raw jena",
                              level=logging.ERROR, at=104))
    stages.record(task_record("Finished in state Failed('x')", "t3", "validate raw jena", level=logging.ERROR,
                              at=105))

    assert stages.lines(now=106) == [
        "… ingest-jena  running  6.0s",
        "  ✓ download mpi_roof_2024b.csv  done  2.5s",
        "  ↺ normalize jena  reused  0.0s",
        "  ✗ validate raw jena  failed  1.0s",
    ]


def test_the_outermost_flow_finishing_says_stop_and_a_subflow_nests_under_the_task_that_called_it():
    stages = Stages()
    assert not stages.record(flow_record("Beginning flow run", run="top", flow="train-all", thread=1))
    stages.record(task_record("Created task run", "t1", "ingest imdb", flow_run="top", thread=2))
    stages.record(flow_record("Beginning subflow run", run="sub", flow="ingest-imdb", thread=2))
    stages.record(task_record("Finished in state Completed()", "t2", "publish imdb", flow_run="sub", thread=3))
    assert not stages.record(flow_record("Finished in state Completed()", run="sub", thread=2))
    stages.record(task_record("Finished in state Completed()", "t1", "ingest imdb", flow_run="top", thread=2))
    stages.record(flow_record("Beginning subflow run", run="train", flow="train-model", thread=1))

    assert [(row.depth, row.label) for row in stages.rows()] == [
        (0, "train-all"), (1, "ingest imdb"), (2, "ingest-imdb"), (3, "publish imdb"), (1, "train-model")]
    assert stages.record(flow_record("Finished in state Completed()", run="top", thread=1))


def test_an_epoch_record_sets_the_bar_of_its_task_and_other_records_are_ignored():
    stages = Stages()
    stages.record(flow_record("Beginning flow run", run="f1", flow="train-model"))
    stages.record(task_record("Created task run", "t1", "train jena_conv"))
    stages.record(record("seqconv.progress", "epoch 3/10 loss=0.25", task_run_id="t1", progress=(3, 10)))
    stages.record(record("tensorflow", "something else"))

    train = stages.rows()[1]
    assert train.progress == (3, 10) and train.detail == "epoch 3/10 loss=0.25"
    assert len(stages.rows()) == 2
    stages.render()  # draws without error, the bar included


def test_a_retry_shows_until_the_task_runs_again():
    stages = Stages()
    stages.record(flow_record("Beginning flow run"))
    stages.record(task_record("Task run failed with DownloadError: 'x' - Retry 1/2 will start 10 second(s) from now",
                              "t1", "download imdb.npz"))
    assert stages.rows()[1].state == "retrying"
    stages.record(task_record("Executing task", "t1", "download imdb.npz", level=logging.DEBUG))
    assert stages.rows()[1].state == "running"


def test_duration_reads_at_a_glance():
    assert [duration(s) for s in (0.42, 12.4, 185, 3720)] == ["0.4s", "12s", "3m05s", "1h02m"]


def test_the_console_formatter_leaves_out_the_traceback_and_keeps_the_record_whole():
    from flows.cli.terminal import WithoutTraceback

    try:
        raise ValueError("bad row")
    except ValueError:
        failed = record(TASK_RUNS, "Task run failed", level=logging.ERROR)
        failed.exc_info = sys.exc_info()
    assert WithoutTraceback(logging.Formatter("%(message)s")).format(failed) == "Task run failed"
    assert "Traceback" in logging.Formatter("%(message)s").format(failed)  # the API's and the file's handlers


class PrintedLines:
    def __init__(self):
        self.printed: list[str] = []

    def print(self, text: str, **_) -> None:
        self.printed.append(text)


@pytest.mark.parametrize("verbose, debug, shown", [
    (False, False, ["own warning"]),
    (False, True, ["own warning", "prefect error"]),
    (True, False, ["own info", "own warning", "tensorflow warning", "prefect error"]),
])
def test_under_the_live_view_the_terminal_shows_the_projects_warnings_and_more_on_request(verbose, debug, shown):
    import os

    import prefect

    from flows.cli.terminal import ROOT, ToTerminal

    class Terminal:
        console = PrintedLines()

    lines = ToTerminal(Terminal(), verbose=verbose, debug=debug)
    lines.setFormatter(logging.Formatter("%(message)s"))
    for message, level, path in [
        ("own info", logging.INFO, os.path.join(ROOT, "tasks", "core", "log.py")),
        ("own warning", logging.WARNING, os.path.join(ROOT, "tasks", "core", "log.py")),
        ("tensorflow warning", logging.WARNING, "/site-packages/tensorflow/python/eager/polymorphic_function.py"),
        ("prefect error", logging.ERROR, os.path.join(os.path.dirname(prefect.__file__), "task_engine.py")),
    ]:
        made = record(TASK_RUNS, message, level=level)
        made.pathname = path
        lines.handle(made)
    assert Terminal.console.printed == shown


@pytest.mark.parametrize("width", [60, 80, 120])
def test_a_long_epoch_line_never_squeezes_out_the_mark_state_or_time(width):
    from rich.console import Console

    stages = Stages()
    done = stages.begin("train imdb_conv")
    done.detail = "epoch 3/3 accuracy=0.7739 auc=0.8512 loss=0.5412 val_accuracy=0.8134 val_loss=0.4431"
    stages.end(done, "done")
    training = stages.begin("judge the jena_conv_gru champion on the new data")
    training.progress, training.detail = (3, 10), "epoch 3/10 loss=0.3 val_loss=0.4"
    console = Console(width=width, record=True, force_terminal=False)
    console.print(stages.render())
    lines = console.export_text().splitlines()
    assert len(lines) == 2 and all(len(line) <= width for line in lines)
    assert lines[0].startswith("✓ train") and " done " in lines[0] and "s epoch 3/3" in lines[0]
    assert " running " in lines[1] and "epoch 3/10" in lines[1]
