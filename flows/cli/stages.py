"""The live view's content: one row per flow run and task run of this process, read from Prefect's log records.

Prefect logs each run's life on two loggers: `prefect.flow_runs` ("Beginning flow run ...", "Finished in state
Completed()") and `prefect.task_runs` ("Created task run ..." at DEBUG, "Finished in state Cached(...)"), each
record carrying the run's id and name. `Stages.record` turns those records, and the epoch records of
tasks.core.log.report_progress, into rows; `Stages.render` draws them with rich (flows.cli.terminal shows them live).
Nothing here prints or configures logging.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

FLOW_RUNS, TASK_RUNS = "prefect.flow_runs", "prefect.task_runs"
FINISHED = re.compile(r"^Finished in state (\w+)")
STATES = {  # Prefect's state name -> what the row says
    "Completed": "done", "Cached": "reused", "Failed": "failed", "Crashed": "failed", "TimedOut": "failed",
    "Cancelled": "cancelled", "Cancelling": "cancelled", "RolledBack": "rolled back",
}
LOOKS = {  # what the row says -> (mark, style)
    "running": ("…", "yellow"), "retrying": ("↻", "yellow"), "done": ("✓", "green"), "reused": ("↺", "cyan"),
    "failed": ("✗", "bold red"), "cancelled": ("-", "yellow"), "rolled back": ("-", "yellow"),
}
LABEL_WIDTH = 48  # characters of a row's name, indentation included
DETAIL_MIN = 30  # columns kept for the epoch bar and its line on a narrow terminal (the name is cut first)


@dataclass
class Row:
    """One flow run or task run (or a step of the command's own, such as starting the server)."""

    label: str  # the task run's name ("validate raw jena"), or the flow's name ("ingest-jena")
    started: float  # time.time() of its first record
    depth: int = 0  # 0: the command's flow; each level below is indented
    state: str = "running"  # a key of LOOKS
    ended: float | None = None
    progress: tuple[int, int] | None = None  # (done, total): the epoch bar of a model in training
    detail: str = ""  # the last progress description, "epoch 3/10 loss=0.25 val_loss=0.31"
    children: list[Row] = field(default_factory=list)
    spinner: Any = field(default=None, repr=False)  # rich Spinner while running, kept so that it turns

    def elapsed(self, now: float) -> float:
        return (self.ended or now) - self.started


def duration(seconds: float) -> str:
    """0.4s, 12s, 3m05s, 1h02m."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


class Stages:
    """The rows of this process's runs, nested as they ran: tasks under their flow run, a subflow under the task
    or flow that called it (the run open last in the same thread)."""

    def __init__(self) -> None:
        self.roots: list[Row] = []  # the command's own steps and its flow run, in order
        self.runs: dict[str, Row] = {}  # flow run id or task run id -> its row
        self.open: dict[int, list[Row]] = {}  # thread id -> the runs open in it, innermost last
        self.finished_root: Row | None = None  # the command's flow run, once it finished
        self.lock = threading.Lock()

    # -- records in ----------------------------------------------------------------------------------------------
    def record(self, record: logging.LogRecord) -> bool:
        """Take one log record; True when it finished the command's outermost flow run (time to stop the view)."""
        with self.lock:
            if getattr(record, "progress", None) is not None:
                row = self.runs.get(getattr(record, "task_run_id", None) or "")
                if row is not None:
                    row.progress, row.detail = record.progress, record.getMessage()
                return False
            if record.name == TASK_RUNS and getattr(record, "task_run_id", None):
                row = self._row(record, record.task_run_id, record.task_run_name,
                                self.runs.get(getattr(record, "flow_run_id", "")))
            elif record.name == FLOW_RUNS and getattr(record, "flow_run_id", None):
                row = self._row(record, record.flow_run_id, record.flow_name, None)
            else:
                return False
            message = record.getMessage()
            if record.name == TASK_RUNS:  # "download_source-a12" until Prefect renames it "download imdb.npz"
                row.label = record.task_run_name
            finished = FINISHED.match(message)
            if finished:
                row.state, row.ended = STATES.get(finished.group(1), finished.group(1).lower()), record.created
                for stack in self.open.values():
                    if row in stack:
                        stack.remove(row)
                if row.depth == 0 and row in self.roots and self.finished_root is None:
                    self.finished_root = row
                    return True
            elif " - Retry " in message:
                row.state = "retrying"
            elif row.state == "retrying":
                row.state = "running"
            return False

    def _row(self, record: logging.LogRecord, run_id: str, label: str, parent: Row | None) -> Row:
        row = self.runs.get(run_id)
        if row is not None:
            return row
        stack = self.open.setdefault(record.thread or 0, [])
        if parent is None and stack:  # a subflow: under the run that called it
            parent = stack[-1]
        row = Row(label=label, started=record.created, depth=parent.depth + 1 if parent else 0)
        (parent.children if parent else self.roots).append(row)
        self.runs[run_id] = row
        stack.append(row)
        return row

    def begin(self, label: str) -> Row:
        """A step of the command's own (not a Prefect run), shown as a row of its own."""
        with self.lock:
            row = Row(label=label, started=time.time())
            self.roots.append(row)
            return row

    def end(self, row: Row, state: str) -> None:
        with self.lock:
            row.state, row.ended = state, time.time()

    # -- rows out ------------------------------------------------------------------------------------------------
    def rows(self) -> list[Row]:
        """Every row, depth first, in the order they started."""
        def walk(rows: list[Row]) -> Iterator[Row]:
            for row in rows:
                yield row
                yield from walk(row.children)

        with self.lock:
            return list(walk(self.roots))

    def lines(self, now: float | None = None) -> list[str]:
        """The rows as plain text, one line each (for tests and for a terminal without colour)."""
        now = time.time() if now is None else now
        return [f"{'  ' * row.depth}{LOOKS.get(row.state, ('?', ''))[0]} {row.label}  {row.state}  "
                f"{duration(row.elapsed(now))}" + (f"  {row.detail}" if row.detail else "") for row in self.rows()]

    def render(self):
        """The rows as a rich renderable that fits the console's width (see table)."""
        stages = self

        class FittedTable:
            def __rich_console__(self, console, options):
                yield stages.table(options.max_width)

        return FittedTable()

    def table(self, width: int = 120):
        """The rows as a rich table `width` columns wide at most: mark, name, state, elapsed time, and the epoch
        bar while a model trains."""
        from rich.progress_bar import ProgressBar
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        now = time.time()
        table = Table.grid(padding=(0, 1))
        rows = self.rows()
        # Fixed widths: on a narrow terminal rich would otherwise squeeze the mark, state and time out of the
        # table to make room for a long epoch line; the detail column takes what is left, cut with "…".
        state_width = max(len(s) for s in LOOKS)
        room = width - (1 + state_width + 6 + 4) - DETAIL_MIN  # what the name may take and leave the detail its share
        label_width = max(min(LABEL_WIDTH, room, max((2 * r.depth + len(r.label) for r in rows), default=1)), 8)
        table.add_column(width=1, no_wrap=True)
        table.add_column(width=label_width, no_wrap=True, overflow="ellipsis")
        table.add_column(width=state_width, no_wrap=True)
        table.add_column(width=6, justify="right", no_wrap=True)
        fixed = 1 + label_width + state_width + 6 + 4  # the four columns and their padding
        table.add_column(no_wrap=True, overflow="ellipsis", max_width=max(width - fixed, 8))
        for row in rows:
            mark, style = LOOKS.get(row.state, ("?", ""))
            detail: object = Text(row.detail, style="dim")
            if row.progress and row.state in ("running", "retrying"):
                done, total = row.progress
                detail = Table.grid(padding=(0, 1))
                detail.add_column(no_wrap=True)
                detail.add_column(no_wrap=True, overflow="ellipsis")
                detail.add_row(ProgressBar(total=max(total, 1), completed=done, width=24), Text(row.detail))
            if row.state == "running" and row.spinner is None:
                row.spinner = Spinner("dots", style=style)
            table.add_row(row.spinner if row.state == "running" else Text(mark, style=style),
                          Text("  " * row.depth + row.label), Text(row.state, style=style),
                          Text(duration(row.elapsed(now)), style="dim"), detail)
        return table
