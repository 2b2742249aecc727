"""The command line: `seqconv <command> [options]`, the same as `python -m flows.<module> [options]`.

Everything about the command line lives in this package, so that a flow module holds its flows alone:

- options: each command's options and their help, parsed before Prefect or TensorFlow load;
- commands: what each command does (checks, its flow, what it prints), and the table of commands;
- command: how one command runs and fails (one `error:` line and an exit code), the flow module a command runs,
  and Prefect's temporary server tied to this process;
- terminal, stages: the live view on a terminal.

A flow module's `__main__` calls `main` (`python -m flows.train` is `seqconv train`); nothing here imports a flow
module but through `command.flow_module`, once the options parsed.
"""

from __future__ import annotations

import sys

from flows.cli.command import run_command
from flows.cli.commands import COMMANDS


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
    script = sys.argv and sys.argv[0].endswith(".py")  # python -m flows.<module>: name the module, as the docs do
    return run_command(COMMANDS[name], rest, prog=None if script else f"seqconv {name}")
