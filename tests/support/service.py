"""The real service for end-to-end tests: scripts/service.sh started on a free port in a temporary folder, on
SQLite or PostgreSQL, and stopped with no process left behind.

The database: `DB=sqlite` or `DB=postgres` in the environment chooses; without it, PostgreSQL in CI (`CI` set: a
missing PostgreSQL fails the test there) and wherever its programs are installed, else SQLite, with a warning."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "scripts" / "service.sh"
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")
JENA_FILES = "mpi_roof_2024a.csv mpi_roof_2024b.csv"  # the fixture mirror's station pair


def postgres_programs() -> subprocess.CompletedProcess:
    """The service script's own answer to where initdb and pg_ctl are (stdout), or how to install them (stderr)."""
    return subprocess.run(["bash", str(SERVICE), "pg-bindir"], capture_output=True, text=True)


def backend() -> str:
    """The database this run uses (see the module's docstring)."""
    if os.environ.get("DB"):
        return os.environ["DB"]
    return "postgres" if IN_CI or postgres_programs().returncode == 0 else "sqlite"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_env() -> dict[str, str]:
    """This process's environment without any PREFECT_ setting (the test harness's own server and home)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}


def wait_gone(pgids: dict[str, int], seconds: float = 10) -> list[str]:
    """The names whose process groups are still alive after up to `seconds` (an orphan is reaped a moment after
    it exits)."""
    deadline = time.monotonic() + seconds
    while (left := [name for name, pid in pgids.items() if group_alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


@contextlib.contextmanager
def running_service(db: str, fixture_mirror: Path, base: Path, **settings: str) -> Iterator[dict]:
    """`scripts/service.sh start` in `base` (a copy of the fixture mirror, its own service folder and PREFECT_HOME,
    a free port), then `stop`, failing if a process group it started is still alive. `settings` go into the
    script's environment (e.g. SEQCONV_GPUS="0"). Yields env, base, port, started (perf_counter), pids, backend."""
    mirror = base / "mirror"
    shutil.copytree(fixture_mirror, mirror)
    port = free_port()
    env = clean_env()
    env.update({
        "DB": db,
        "SEQCONV_PORT": str(port),
        "SEQCONV_SERVICE_DIR": str(base / "service"),
        "PREFECT_HOME": str(base / "prefect-home"),
        "SEQCONV_MIRROR": str(mirror),
        "SEQCONV_JENA_FILES": JENA_FILES,
        **settings,  # last: a test's own settings win
    })
    pg_dir = None
    if db == "postgres":
        found = postgres_programs()
        if found.returncode != 0:
            why = "CI=" + os.environ["CI"] if IN_CI and not os.environ.get("DB") else "DB=postgres"
            pytest.fail(f"{why} asks for PostgreSQL, and it is missing: {found.stderr.strip()}")
        # Not under pytest's temporary folder: as root, that is private to root, and the cluster runs as `postgres`.
        pg_dir = Path(tempfile.mkdtemp(prefix="seqconv-test-postgres-"))
        env["SEQCONV_PG_DIR"] = str(pg_dir)
    elif not os.environ.get("DB"):
        warnings.warn("the service test runs on SQLite: PostgreSQL is not installed (apt-get install postgresql)")
    started = time.perf_counter()
    result = subprocess.run(["bash", str(SERVICE), "start"], env=env, capture_output=True, text=True, timeout=600)
    pids = {p.stem: int(p.read_text()) for p in (base / "service").glob("*.pid")}
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        yield {"env": env, "base": base, "port": port, "started": started, "pids": pids, "backend": db}
    finally:
        stop = subprocess.run(["bash", str(SERVICE), "stop"], env=env, capture_output=True, text=True, timeout=120)
        print(stop.stdout, stop.stderr)
        left = wait_gone(pids)
        if pg_dir is not None:
            shutil.rmtree(pg_dir, ignore_errors=True)
        assert not left, f"processes left behind: {left}"
