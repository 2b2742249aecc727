"""The command line as a user meets it: one `error:` line and an exit code, --help without the heavy imports, the
`seqconv` script, and no temporary Prefect server left behind by a killed command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_help_loads_neither_prefect_nor_tensorflow():
    code = ("import sys\nfrom flows import cli\n"
            "for name in cli.COMMANDS:\n"
            "    try:\n        cli.main([name, '--help'])\n    except SystemExit as e:\n        assert e.code == 0, e\n"
            "heavy = [m for m in ('prefect', 'tensorflow', 'keras', 'pandas') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    result = _run("-c", code)
    assert result.returncode == 0, result.stderr
    assert "--model" in result.stdout and "--model-dir" in result.stdout


def test_the_orchestrator_never_imports_tensorflow():
    result = _run("-c", "import sys, flows.train_all, flows.evaluate, flows.train, flows.ingest, flows.tune\n"
                        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    assert result.returncode == 0, result.stderr


def test_errors_are_one_line_with_an_exit_code_and_debug_shows_the_traceback(tmp_path):
    bad = _run("-m", "flows.train", "--model", "jena_conv", "--profile", "smoke", "--set", "learning_rate=inf",
               "--data-dir", str(tmp_path))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == [
        "error: bad settings for jena_conv: learning_rate=inf: must be a finite positive number"]
    missing = _run("-m", "flows.evaluate", "--model-dir", str(tmp_path / "nowhere"), "--debug")
    assert missing.returncode == 2 and "Traceback" in missing.stderr
    assert missing.stderr.strip().splitlines()[-1].startswith("error: model folder")


def test_the_seqconv_script_runs_every_command():
    script = Path(sys.executable).parent / "seqconv"
    assert script.is_file(), "pip install -e . installs the seqconv console script ([project.scripts])"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for name in ("ingest", "train", "train-all", "evaluate", "predict"):
        assert name in result.stdout
    unknown = subprocess.run([str(script), "fly"], capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and "error: unknown command 'fly'" in unknown.stderr


def _children(pid: int) -> list[int]:
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return [int(c) for t in tasks for c in (t / "children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_killed_command_leaves_no_temporary_server(fixture_mirror, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    proc = subprocess.Popen([sys.executable, "-m", "flows.ingest", "imdb", "--mirror", str(fixture_mirror),
                             "--data-dir", str(tmp_path / "data")], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = None
    try:
        deadline = time.time() + 180
        while server is None and time.time() < deadline and proc.poll() is None:
            server = next((c for c in _children(proc.pid) if "uvicorn" in _cmdline(c)), None)
            time.sleep(0.1)
        assert server is not None, "the command never started its temporary server"
    finally:
        proc.send_signal(signal.SIGKILL)  # the command alone, as `kill -9 <pid>` does; not its process group
        proc.wait()
    deadline = time.time() + 30
    while _alive(server) and time.time() < deadline:
        time.sleep(0.2)
    alive = _alive(server)
    if alive:
        os.kill(server, signal.SIGKILL)
    assert not alive, "the temporary Prefect server outlived the command that started it"


def test_a_corrupt_registry_fails_train_all_before_any_download_or_training(tmp_path):
    registry = tmp_path / "artifacts" / "registry"
    registry.mkdir(parents=True)
    (registry / "jena_conv.json").write_text("{not json", encoding="utf-8")
    started = time.perf_counter()
    result = _run("-m", "flows.train_all", "--profile", "smoke", "--mirror", str(tmp_path / "no-mirror"),
                  "--data-dir", str(tmp_path / "data"), "--artifacts-dir", str(tmp_path / "artifacts"))
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        result.stderr.strip().splitlines()[0]] and "jena_conv.json is not valid JSON" in result.stderr
    assert not (tmp_path / "data").exists() and not (tmp_path / "artifacts" / "runs").exists()
    assert time.perf_counter() - started < 60  # seconds, not a download and an hour of training


def test_tensorflow_says_nothing_on_the_quiet_path():
    result = _run("-c", "import tasks, keras, tensorflow as tf\n"
                        "m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])\n"
                        "m.predict(tf.zeros((2, 3)), verbose=0)\nprint('done')")
    assert result.returncode == 0 and result.stdout == "done\n"
    assert result.stderr == "", result.stderr


def test_an_unreachable_source_fails_in_seconds_with_one_error_and_no_tracebacks(tmp_path):
    started = time.perf_counter()
    result = _run("-m", "flows.train_all", "--profile", "smoke", "--mirror", "http://seqconv-mirror.invalid/",
                  "--data-dir", str(tmp_path / "data"), "--artifacts-dir", str(tmp_path / "artifacts"))
    seconds = time.perf_counter() - started
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "does not resolve" in errors[0] and "mirror" in errors[0], errors
    assert len((result.stdout + result.stderr).splitlines()) < 60
    assert seconds < 90, f"{seconds:.0f} s: a name that does not resolve must not be retried with backoff"
