"""What a person sees on the terminal while a command runs, set up through the handlers of Python's logging.

On a terminal (stdout and stderr are TTYs): a live view (rich Live) of one row per stage, each with its state and
elapsed time, and the epoch bar of a model in training (flows.cli.stages). Prefect's own lines ("Finished in state
Completed()", one per task) go to the run's log in the API, as ever, and to a log file named in the last line
("full log: artifacts/logs/<command>-<time>.log"); on the terminal only with --verbose, above the view. Warnings
and errors of the project's own code show there either way.

Elsewhere (CI, a worker's log, a pipe) Prefect's lines are printed as they always were, one per stage and per epoch.

Either way a failure is one `error:` line (flows.cli.command) and no traceback: Prefect's console handler prints its
records without one, unless --debug; the traceback stays in the API's log and in the log file.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from flows.cli.stages import FLOW_RUNS, TASK_RUNS, Stages
from tasks.core.log import PROGRESS_LOGGER

RUN_LOGGERS = (FLOW_RUNS, TASK_RUNS)  # the loggers whose records the view reads (at DEBUG: a task run's start)
# the repository root (flows/cli/ is two levels down), unresolved, as the records' pathname spells it
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROJECT_DIRS = tuple(os.path.join(ROOT, top) + os.sep for top in ("tasks", "flows"))  # whose warnings always show


class WithoutTraceback(logging.Formatter):
    """A console formatter that leaves out tracebacks: the line says what failed; the run's log in the Prefect
    API (the same record, through another handler) keeps the traceback, and --debug prints it here too."""

    def __init__(self, inner: logging.Formatter | None):
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info = record.exc_text = record.stack_info = None
        try:
            return self.inner.format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


class AtLeast(logging.Filter):
    """Drops the records of the run loggers below the level they had before the view lowered it to DEBUG, so
    every handler but the view's sees what it saw before."""

    def __init__(self, levels: dict[str, int]):
        super().__init__()
        self.levels = levels

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.levels.get(record.name, logging.NOTSET)


class ToView(logging.Handler):
    """Feeds the view's rows; stops the view when the command's flow run finished."""

    def __init__(self, terminal: Terminal):
        super().__init__()
        self.terminal = terminal

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.terminal.stages.record(record):
                self.terminal.stop()
        except Exception:  # noqa: BLE001 - a view is never worth failing a run for
            self.handleError(record)


class ToTerminal(logging.Handler):
    """Prints records above the live view: every line with --verbose; else the warnings and errors of the project's
    own code (tasks/, flows/), and with --debug Prefect's too (its failure lines, with their tracebacks). Other
    libraries' warnings (TensorFlow's retracing notes) and Prefect's failure lines, which repeat what the `error:`
    line says, go to the log file only."""

    def __init__(self, terminal: Terminal, verbose: bool, debug: bool):
        super().__init__()
        self.terminal, self.verbose = terminal, verbose
        self.shown = PROJECT_DIRS + ((_prefect_dir(),) if debug else ())

    def emit(self, record: logging.LogRecord) -> None:
        if not self.verbose and (record.levelno < logging.WARNING or not record.pathname.startswith(self.shown)):
            return
        try:
            self.terminal.console.print(self.format(record), markup=False, highlight=False, soft_wrap=True)
        except Exception:  # noqa: BLE001
            self.handleError(record)


class Terminal:
    """Where the command's output goes: the live view and the log file on a terminal, Prefect's lines elsewhere."""

    def __init__(self) -> None:
        self.live = False  # True under the live view
        self.log_path: Path | None = None  # the full log, named by close()
        self.stages = Stages()
        self.console = None  # rich Console on stderr, on a terminal
        self.log_file: logging.FileHandler | None = None  # the full log, on a terminal
        self._live = None  # rich Live while the view runs
        self._undo: list = []  # what detach() puts back

    @contextmanager
    def stage(self, label: str):
        """A step of the command's own (not a Prefect run) as a row of the view."""
        row = self.stages.begin(label)
        try:
            yield
        except BaseException:
            self.stages.end(row, "failed")
            raise
        self.stages.end(row, "done")

    def child_output(self):
        """Where a child process (Prefect's temporary server) should write: the log file under the live view (its
        notices would break the view), else None (the terminal or log it inherits)."""
        return self.log_file.stream if self.log_file is not None else None

    def stop(self) -> None:
        """Draw the view a last time and leave it there: what is printed next lands below it."""
        live, self._live = self._live, None
        if live is not None:
            live.stop()

    def close(self) -> None:
        """Stop the view and say where the full log went: the last line of a command run on a terminal. The log file
        keeps receiving records until the process ends (Prefect says when its temporary server stops)."""
        self.stop()
        if self.log_path is not None:
            print(f"full log: {self.log_path}", file=sys.stderr, flush=True)
            self.log_path = None

    def detach(self) -> None:
        """Put the logging configuration back as it was (for a process that goes on after the command)."""
        self.stop()
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()


def on_terminal() -> bool:
    """True where a person reads the output as it comes: stdout and stderr are TTYs (not a pipe, a file, CI)."""
    return sys.stdout.isatty() and sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def attach(name: str, debug: bool = False, verbose: bool = False, log_dir: Path | str = "artifacts/logs",
           live: bool | None = None) -> Terminal:
    """Route this process's log records for the command `name`: the live view and a log file on a terminal
    (`live` None: decide by on_terminal()), Prefect's console lines elsewhere; tracebacks only with `debug`."""
    # Prefect configures logging as its main module loads (`from prefect import flow`), not on `import prefect`:
    # load it now, so the handlers adjusted here are the ones that print and no later setup replaces them.
    importlib.import_module("prefect.main")
    from prefect.logging.handlers import PrefectConsoleHandler

    consoles = [h for h in logging.getLogger().handlers if isinstance(h, PrefectConsoleHandler)]
    terminal = Terminal()
    if on_terminal() if live is None else live:
        _route_under_live_view(terminal, consoles, name, debug, verbose, log_dir)
    elif not debug:
        for handler in consoles:
            _set_formatter(terminal, handler, WithoutTraceback(handler.formatter))
    return terminal


def _route_under_live_view(terminal: Terminal, consoles: list[logging.Handler], name: str, debug: bool,
                           verbose: bool, log_dir: Path | str) -> None:
    """Prefect's console handlers off the root logger; in their place the log file (every line, tracebacks
    included) and `ToTerminal`; the run loggers at DEBUG for the view, the other handlers filtered back to what
    they saw; the epoch records to the view alone; then the view starts."""
    from rich.console import Console
    from rich.live import Live

    root = logging.getLogger()
    formatter = next((h.formatter for h in consoles if h.formatter), None) or logging.Formatter(
        "%(asctime)s.%(msecs)03d | %(levelname)-7s | %(name)s - %(message)s", "%H:%M:%S")
    terminal.live, terminal.console = True, Console(stderr=True)
    at_least = AtLeast({logger: logging.getLogger(logger).getEffectiveLevel() for logger in RUN_LOGGERS})

    file_handler = _log_file(log_dir, name)
    if file_handler is not None:
        terminal.log_path, terminal.log_file = Path(file_handler.baseFilename), file_handler
        file_handler.setFormatter(formatter)
        file_handler.addFilter(at_least)
        _add_handler(terminal, root, file_handler)
    lines = ToTerminal(terminal, verbose, debug)
    lines.setFormatter(formatter if debug else WithoutTraceback(formatter))
    lines.addFilter(at_least)
    _add_handler(terminal, root, lines)
    for handler in consoles:  # the view and `lines` print instead; put back where they stood
        position = root.handlers.index(handler)
        root.removeHandler(handler)
        terminal._undo.append(lambda handler=handler, position=position: root.handlers.insert(position, handler))
    for logger_name in RUN_LOGGERS:
        logger = logging.getLogger(logger_name)
        for handler in logger.handlers:  # the API's handler
            handler.addFilter(at_least)
            terminal._undo.append(lambda handler=handler: handler.removeFilter(at_least))
        _add_handler(terminal, logger, ToView(terminal))
        previous = logger.level
        logger.setLevel(logging.DEBUG)  # "Created task run ...": the row appears as the task starts
        terminal._undo.append(lambda logger=logger, previous=previous: logger.setLevel(previous))
    progress = logging.getLogger(PROGRESS_LOGGER)  # the epoch records: to the view alone
    progress.propagate, previous_level = False, progress.level
    progress.setLevel(logging.INFO)
    terminal._undo.append(lambda: (setattr(progress, "propagate", True), progress.setLevel(previous_level)))
    _add_handler(terminal, progress, ToView(terminal))

    terminal._live = Live(console=terminal.console, get_renderable=terminal.stages.render, refresh_per_second=4,
                          redirect_stdout=True, redirect_stderr=True)  # stray prints land above the view
    terminal._live.start()


def _log_file(log_dir: Path | str, name: str) -> logging.FileHandler | None:
    """artifacts/logs/<command>-<YYYYmmdd-HHMMSS>.log (-2, -3... when two start in the same second)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        for n in range(1, 100):
            path = Path(log_dir) / (f"{name}-{stamp}.log" if n == 1 else f"{name}-{stamp}-{n}.log")
            try:
                with open(path, "x", encoding="utf-8"):
                    pass
                return logging.FileHandler(path, encoding="utf-8")
            except FileExistsError:
                continue
    except OSError:
        return None  # a read-only artifacts folder: the view still runs, the API keeps the log
    return None


def _add_handler(terminal: Terminal, logger: logging.Logger, handler: logging.Handler) -> None:
    logger.addHandler(handler)

    def undo() -> None:
        logger.removeHandler(handler)
        handler.close()

    terminal._undo.append(undo)


def _set_formatter(terminal: Terminal, handler: logging.Handler, formatter: logging.Formatter) -> None:
    previous = handler.formatter
    handler.setFormatter(formatter)
    terminal._undo.append(lambda: handler.setFormatter(previous))


def _prefect_dir() -> str:
    import prefect

    return os.path.dirname(prefect.__file__)  # as the records' pathname spells it
