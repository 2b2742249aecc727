"""The command line as a user meets it: one `error:` line and an exit code, --help without the heavy imports, the
`seqconv` script, no temporary Prefect server left behind by a killed command, no traceback for any bad input
(from any stage) unless --debug, and on a terminal the live view with the full log in a file."""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
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


# Imported first by a Python whose PYTHONPATH starts with its folder: counts how often the code of the module
# $SEQCONV_COUNT_MODULE is executed (the audit event `exec`: by runpy under -m, by importlib on an import), into
# $SEQCONV_COUNT_FILE at exit (by the process that executed it: not by a Prefect server it may start).
COUNT_EXECUTIONS = """\
import atexit, os, sys

_path, _runs = os.path.realpath(os.environ["SEQCONV_COUNT_MODULE"]), []
sys.addaudithook(lambda event, args: event == "exec" and os.path.realpath(getattr(args[0], "co_filename", ""))
                 == _path and _runs.append(1))
atexit.register(lambda: _runs and open(os.environ["SEQCONV_COUNT_FILE"], "w").write(str(len(_runs))))
"""


def test_python_m_runs_the_flow_module_once(prefect_harness, fixture_mirror, tmp_path):
    """`python -m flows.ingest` runs the flow of the module already running, not of a second import of it."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(COUNT_EXECUTIONS)
    count = tmp_path / "count"
    env = {**_session_server(), "PYTHONPATH": os.pathsep.join([str(hook), str(ROOT)]),
           "SEQCONV_COUNT_MODULE": str(ROOT / "flows" / "ingest.py"), "SEQCONV_COUNT_FILE": str(count)}
    result = subprocess.run([sys.executable, "-m", "flows.ingest", "imdb", "--mirror", str(fixture_mirror),
                             "--data-dir", str(tmp_path / "data"), "--artifacts-dir", str(tmp_path / "artifacts")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "data" / "processed" / "imdb").exists()
    assert count.read_text() == "1"


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


# ---------------------------------------------------------------------------------------------------------------
# Bad inputs of the ingest suite through the real command: one error line, no traceback unless --debug
# ---------------------------------------------------------------------------------------------------------------
def _ingest(mirror: str, data_dir: Path, dataset: str, files: list[str] | None, *extra: str,
            env: dict | None = None) -> subprocess.CompletedProcess:
    args = ["-m", "flows.ingest", dataset, "--mirror", mirror, "--data-dir", str(data_dir),
            "--artifacts-dir", str(data_dir / "artifacts"), *(["--files", *files] if files else []), *extra]
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=env or _session_server())


def _session_server() -> dict:
    """The session's test server instead of a temporary one per command (which costs ~20 s to start here)."""
    from prefect.settings import PREFECT_API_URL

    return {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PYTHONPATH": str(ROOT)}


def _bad_inputs() -> dict:
    from tests.e2e.test_ingest_flow import BAD_INPUTS

    return BAD_INPUTS


def _checksum_mismatch(mirror: Path, good: Path) -> None:
    """The mirror's SHA256SUMS names other bytes than it serves (written after fixtures.write_checksums)."""
    shutil.copyfile(good / "imdb_word_index.json", mirror / "imdb_word_index.json")
    shutil.copyfile(good / "imdb.npz", mirror / "imdb.npz")


def _one_error(result: subprocess.CompletedProcess) -> str:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output[-3000:]
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output[-3000:]
    return result.stderr


# Each of the ingest suite's bad inputs through the real command, and every other command's: tests/e2e/test_errors.py


def test_a_checksum_mismatch_is_one_error_line_without_a_traceback(prefect_harness, fixture_mirror, tmp_path):
    from tests.support import fixtures

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    fixtures.write_imdb(mirror, seed=1)
    fixtures.write_checksums(mirror)
    _checksum_mismatch(mirror, fixture_mirror)  # other bytes than SHA256SUMS names
    result = _ingest(str(mirror), tmp_path / "data", "imdb", None)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "imdb" in _one_error(result)


def test_debug_shows_the_tracebacks_of_a_bad_input(prefect_harness, fixture_mirror, tmp_path):
    from tests.support import fixtures

    write_bad, dataset, files, _, _ = _bad_inputs()["header-only station file"]
    mirror = fixtures.write_bad_mirror(tmp_path / "mirror", write_bad, fixture_mirror)
    result = _ingest(str(mirror), tmp_path / "data", dataset, files, "--debug")
    assert result.returncode == 1
    assert result.stderr.count("Traceback (most recent call last)") >= 3  # Prefect's two records, the error's own
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and last.endswith("a header and no data rows; expected at least one reading")


# ---------------------------------------------------------------------------------------------------------------
# On a terminal: the live view, no Prefect lines, the full log in a file named on the last line
# ---------------------------------------------------------------------------------------------------------------
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _on_a_terminal(args: list[str], env: dict, timeout: int = 300) -> tuple[int, list[str]]:
    """Run `python args` with stdout and stderr on a pseudo-terminal; its exit code and the lines it left there
    (escape codes dropped, each redrawn line counted once: the text after its last carriage return)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**env, "COLUMNS": "120", "LINES": "50"},
                            stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    chunks, deadline = [], time.time() + timeout
    while time.time() < deadline:
        ready, _, _ = select.select([leader], [], [], 1)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the command exited and closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(leader)
    code = proc.wait(timeout=30)
    text = ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))
    return code, [line.rsplit("\r", 1)[-1] for line in text.replace("\r\n", "\n").split("\n")]


def test_on_a_terminal_a_bad_input_shows_the_stages_one_error_and_the_full_log(prefect_harness, fixture_mirror,
                                                                                 tmp_path):
    from tests.support import fixtures

    write_bad, dataset, files, _, says = _bad_inputs()["header-only station file"]
    mirror = fixtures.write_bad_mirror(tmp_path / "mirror", write_bad, fixture_mirror)
    artifacts = tmp_path / "artifacts"
    code, lines = _on_a_terminal(["-m", "flows.ingest", dataset, "--mirror", str(mirror), "--files", *files,
                                  "--data-dir", str(tmp_path / "data"), "--artifacts-dir", str(artifacts)],
                                 _session_server())
    shown = "\n".join(lines)
    assert code == 1, shown[-3000:]
    assert "Traceback" not in shown and "Finished in state" not in shown, shown[-3000:]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and "a header and no data rows" in errors[0], shown[-3000:]
    assert any("validate raw jena" in line and "failed" in line for line in lines), shown[-3000:]
    assert any("download mpi_roof_2024b.csv" in line and "done" in line for line in lines), shown[-3000:]
    last = [line for line in lines if line.strip()][-1]
    assert last.startswith("full log: "), shown[-3000:]
    log = Path(last.removeprefix("full log: ").strip()).read_text(encoding="utf-8")
    assert Path(last.removeprefix("full log: ").strip()).parent == artifacts / "logs"
    assert "Finished in state Completed()" in log and "Traceback" in log  # the full log keeps everything
