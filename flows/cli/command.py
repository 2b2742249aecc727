"""Running one command, `seqconv <name>` or `python -m flows.<module>`, with one way to fail.

The bottom of flows/cli/: it imports nothing of flows/ at the top (flows.cli.terminal only once a command starts
Prefect) and reaches a flow module only through `flow_module`, once the options parsed. Options parse before Prefect
or TensorFlow are imported (each costs seconds), so `seqconv <name> --help` and a bad option answer at once. A user
sees one `error: ...` line and an exit code, never a traceback unless they ask for one with `--debug`: 2 for a bad
option or setting (the code argparse uses), 1 for anything else (bad data, a failed download, a failed validation,
an OSError such as a full disk or a read-only folder, named by its stage and path), 130 when interrupted.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType


@dataclass(frozen=True)
class Command:
    """What a command takes (its options) and what it runs (its `run(args)`, in flows.cli.commands)."""

    name: str  # seqconv <name>
    module: str  # python -m <module>: the flow module holding the flow(s) it runs
    help: str  # one line, for `seqconv --help`
    add_options: Callable[[argparse.ArgumentParser], None]  # its own options (--debug and --verbose are added here)
    run: Callable[[argparse.Namespace], int | None]  # checks, runs the flow, prints; its return is the exit code


@dataclass
class Invocation:
    """The command this process runs, as far as the terminal cares (set once its options parsed)."""

    name: str = "seqconv"
    debug: bool = False  # --debug: tracebacks on the terminal, from Prefect's log lines and from the error itself
    verbose: bool = False  # --verbose: Prefect's log lines on the terminal, under the live view
    log_dir: Path = Path("artifacts") / "logs"  # where a terminal run writes its full log


CURRENT = Invocation()
_terminal = None  # the flows.cli.terminal view once start_temporary_server attached it


def parser_for(command: Command, prog: str | None = None) -> argparse.ArgumentParser:
    """The command's parser: its own options, then --debug and --verbose."""
    parser = argparse.ArgumentParser(prog=prog or f"python -m {command.module}", description=command.help)
    command.add_options(parser)
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    parser.add_argument("--verbose", action="store_true",
                        help="on a terminal, show Prefect's log lines under the live view (off a terminal, e.g. in "
                             "a pipe or CI, they are always shown)")
    return parser


def run_command(command: Command, argv: list[str] | None = None, prog: str | None = None) -> int:
    """Parse `argv` (default sys.argv[1:]) and call the command's `run(args)`; errors become one `error:` line and
    an exit code."""
    global CURRENT
    try:
        args = parser_for(command, prog).parse_args(argv)
    except SystemExit:  # --help, or a bad option: the process ends here
        # Under `python -m flows.<module>` Prefect and the tasks are loaded by now, and the garbage collection at
        # interpreter exit walks all their objects: about 0.7 s, a third of the answer. The process ends next and
        # the system frees its memory anyway, so freeze them (gc.freeze): that collection passes them by.
        gc.freeze()
        raise
    CURRENT = Invocation(command.name, args.debug, args.verbose,
                         Path(getattr(args, "artifacts_dir", None) or "artifacts") / "logs")
    try:
        if getattr(args, "data_dir", None):  # spec'd datasets are found by name among its stored specs
            from tasks.core.datasets import use_data_dir
            use_data_dir(args.data_dir)
        code = command.run(args) or 0
    except KeyboardInterrupt:
        return _fail("error: interrupted", 130)
    except Exception as error:  # noqa: BLE001 - one line for every error, a traceback only with --debug
        from tasks.core.errors import SeqconvError, SettingsError

        _stop_view()
        if args.debug:
            traceback.print_exc()
        if isinstance(error, SeqconvError):
            return _fail(f"error: {error}", 2 if isinstance(error, SettingsError) else 1)
        if isinstance(error, OSError):  # a full disk, a read-only folder, a permission: where, not a traceback
            from tasks.core.errors import os_error_line

            return _fail(f"error: {os_error_line(error, command.name)}", 1)
        # a bug or an environment problem: still one line, unless --debug
        return _fail(f"error: unexpected {type(error).__name__}: {error} (rerun with --debug for the traceback)", 1)
    _close_view()
    return code


def _fail(line: str, code: int) -> int:
    _stop_view()
    # One line, whatever the message holds: a parser's message about a binary file can carry its own newlines.
    print(re.sub(r"\s*[\r\n]+\s*", " ", line).strip(), file=sys.stderr, flush=True)
    _close_view()
    return code


def _stop_view() -> None:
    """Stop the live view, so what is printed next lands below it."""
    if _terminal is not None:
        _terminal.stop()


def _close_view() -> None:
    """Stop the live view and say where the full log went (the last line of a run on a terminal)."""
    global _terminal
    if _terminal is not None:
        _terminal.close()
        _terminal = None


def flow_module(name: str) -> ModuleType:
    """The flow module `name` (e.g. "flows.train"), imported when a command first needs its flow.

    Under `python -m flows.train` that module is already running, as `__main__`; importing it by its name would run
    its body a second time, a second copy of every flow and task. So that module is returned, registered under its
    name as an import would register it (in sys.modules and on its package), where a later `import flows.train`
    finds it too. The commands reach their flows through here, never by a `from flows.train import ...` of their
    own: a flow module's `__main__` imports flows.cli, so a static import back would be an import circle.
    """
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name == name:
        sys.modules[name] = main
        package, _, child = name.rpartition(".")
        if package in sys.modules:
            setattr(sys.modules[package], child, main)
        return main
    return importlib.import_module(name)


def start_temporary_server() -> None:
    """Set up the terminal (flows.cli.terminal), then start Prefect's temporary API server (ephemeral mode) now, so
    that it dies with this process. Each command's `run` calls this once its fail-fast checks passed.

    Without a configured server Prefect starts one in a child process on first use and stops it at exit; a
    process killed with SIGKILL never reaches its exit handlers, and the server lived on, one orphan per killed
    command. Started here instead, the same server (Prefect reuses its one instance) is forked with the kernel's
    parent-death signal set (Linux prctl PR_SET_PDEATHSIG): when this process dies, however it dies, the server is
    sent SIGTERM. Nothing changes where PREFECT_API_URL names a real server, or off Linux.
    """
    global _terminal
    from prefect.settings import PREFECT_API_URL

    from flows.cli.terminal import attach

    if _terminal is None:
        _terminal = attach(CURRENT.name, debug=CURRENT.debug, verbose=CURRENT.verbose,
                                    log_dir=CURRENT.log_dir)
    if PREFECT_API_URL.value() or not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal
    import subprocess
    import types

    import prefect.server.api.server as server_module

    server = server_module.SubprocessASGIServer()
    if server.running:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    output = _terminal.child_output()  # under the live view: the log file; else the terminal or log we write to

    def die_with_parent() -> None:  # in the child, between fork and exec
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    class TiedPopen(subprocess.Popen):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("preexec_fn", die_with_parent)
            if output is not None:
                kwargs.setdefault("stdout", output)
                kwargs.setdefault("stderr", subprocess.STDOUT)
            super().__init__(*args, **kwargs)

    # Only the server module sees the tied Popen, and only while it starts its process.
    tied = types.SimpleNamespace(**{name: getattr(subprocess, name) for name in dir(subprocess)
                                    if not name.startswith("__")})
    tied.Popen = TiedPopen
    server_module.subprocess = tied
    with _terminal.stage("start Prefect's temporary server"):
        try:
            server.start()
        finally:
            server_module.subprocess = subprocess
