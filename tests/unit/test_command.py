"""flows.cli.command.flow_module: under `python -m <module>` the module already running, never a second copy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli.command import flow_module

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]

# A module run as `python -m pkg.flows_here`, asking for itself by name as a command does (flows.cli.commands).
RUNS_ITSELF = """\
import sys

print("body ran", flush=True)

if __name__ == "__main__":
    from flows.cli.command import flow_module

    found = flow_module("pkg.flows_here")
    import pkg.flows_here  # a later import finds the same module too

    assert found is sys.modules["__main__"] is sys.modules["pkg.flows_here"] is pkg.flows_here
    print("one module", flush=True)
"""


def test_under_python_m_the_flow_module_is_the_one_running_as_main(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "flows_here.py").write_text(RUNS_ITSELF)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    result = subprocess.run([sys.executable, "-m", "pkg.flows_here"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["body ran", "one module"]  # the body ran once


def test_elsewhere_the_flow_module_is_imported_by_its_name():
    assert flow_module("json") is json


def test_an_error_whose_message_holds_newlines_is_still_one_line(capsys):
    from flows.cli.command import Command, run_command
    from tasks.core.errors import DataFormatError

    def run(args):
        raise DataFormatError("station.csv: cannot be parsed:\n  line 3: unexpected byte 0x00\r\n")

    command = Command("demo", "flows.demo", "a demo", lambda parser: None, run)
    assert run_command(command, [], prog="seqconv demo") == 1
    assert capsys.readouterr().err == "error: station.csv: cannot be parsed: line 3: unexpected byte 0x00\n"
