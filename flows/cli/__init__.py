"""The command line: `seqconv <command> [options]`, the same as `python -m flows.<module> [options]`.

The top of flows/: it assembles the commands of flows.cli.options, runs each through flows.cli.command (one way to fail:
an `error:` line and an exit code) and imports a flow module only once the options parsed, to call its `run(args)`.
No flow module imports this one.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from flows.cli.command import Command, run_command
from flows.cli.options import COMMANDS


def load_run(command: Command):
    """The `run(args)` of the command's flow module, imported when called (after the options parsed): the flow
    modules import Prefect as they load."""

    def run(args: argparse.Namespace) -> int | None:
        return importlib.import_module(command.module).run(args)

    return run


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {command.help}" for name, command in COMMANDS.items()]
    return ("usage: seqconv <command> [options]   (seqconv <command> --help for its options)\n\ncommands:\n"
            + "\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    """`seqconv <command> [options]`, the same as `python -m flows.<module> [options]`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(usage(), file=sys.stderr)
        print(f"error: unknown command {name!r}; allowed: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    command = COMMANDS[name]
    script = sys.argv and sys.argv[0].endswith(".py")  # python -m flows.cli: name the module, as the docs show it
    return run_command(command, load_run(command), rest, prog=None if script else f"seqconv {name}")


if __name__ == "__main__":
    sys.exit(main())
