"""The service on its two databases, side by side: SQLite (the default) and PostgreSQL (`DB=postgres`).

    python -m bench.service [--rounds 2] [--deployment train-all/train-all | ingest-imdb/ingest]

Each round starts, for each database in turn (the order alternating from round to round), a fresh service with
scripts/service.sh: its own service folder, PREFECT_HOME and, for PostgreSQL, cluster, on free ports, the workers
reading the fixture mirror of tests/support/fixtures.py. Measured, in seconds from `scripts/service.sh start`:

- postgres ready: the script says "postgres started" (initdb, pg_ctl start, CREATE DATABASE); PostgreSQL only;
- health: the server's /api/health answers (the server's start includes creating its tables: the migrations);
- started: the script returns (the pools, `prefect --no-prompt deploy --all`, the two workers);
then the wall time of `scripts/service.sh run DEPLOYMENT` (train-all with `profile=smoke` on fresh data and
artifacts folders, each model trained through the gpu pool), `database is locked` lines in the server's and
workers' logs, and a restart after `stop` (the database kept, migrations already applied): start → health.
Writes artifacts/bench/service.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench import machine

ROOT = Path(__file__).resolve().parents[1]
SERVICE = ROOT / "scripts" / "service.sh"
STATION_FILES = "mpi_roof_2024a.csv mpi_roof_2024b.csv"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed_start(env: dict, port: int) -> dict[str, float]:
    """`scripts/service.sh start`, with the seconds until postgres is ready (its line in the output), until
    /api/health answers (polled every 0.1 s) and until the script returns."""
    health: dict[str, float] = {}
    t0 = time.perf_counter()
    proc = subprocess.Popen(["bash", str(SERVICE), "start"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)

    def poll() -> None:
        while proc.poll() is None or not health:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1)
                health["health"] = time.perf_counter() - t0
                return
            except OSError:
                if proc.poll() is not None:
                    return
                time.sleep(0.1)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    out, times = [], {}
    for line in proc.stdout:
        out.append(line)
        if line.startswith("postgres started"):
            times["postgres_ready"] = time.perf_counter() - t0
    proc.wait()
    times["started"] = time.perf_counter() - t0
    poller.join(timeout=5)
    if proc.returncode != 0 or "health" not in health:
        raise RuntimeError("service start failed:\n" + "".join(out)[-3000:])
    return {**times, **health}


def locked_lines(service_dir: Path) -> int:
    return sum(p.read_text(errors="replace").count("database is locked") for p in service_dir.glob("*.log"))


def one_service(db: str, mirror: Path, deployment: str) -> dict[str, float]:
    base = Path(tempfile.mkdtemp(prefix=f"seqconv-bench-service-{db}-"))
    # Its own folder, outside `base`: the cluster runs as `postgres` when this runs as root, and `base` is private.
    pg_dir = Path(tempfile.mkdtemp(prefix="seqconv-bench-postgres-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(DB=db, SEQCONV_PORT=str(port), SEQCONV_SERVICE_DIR=str(base / "service"),
               PREFECT_HOME=str(base / "prefect-home"), SEQCONV_PG_DIR=str(pg_dir), SEQCONV_MIRROR=str(mirror),
               SEQCONV_JENA_FILES=STATION_FILES,
               # the gpu pool's runs may train on a CPU (tasks.model.device); nothing changes on a GPU host
               SEQCONV_ALLOW_CPU_ON_GPU_POOL="1")
    params = ["--param", f"data_dir={base / 'data'}"]
    if deployment.startswith("train-all/"):
        params += ["--param", "profile=smoke", "--param", f"artifacts_dir={base / 'artifacts'}"]
    try:
        figures = timed_start(env, port)
        t0 = time.perf_counter()
        run = subprocess.run(["bash", str(SERVICE), "run", deployment, *params], env=env, capture_output=True,
                             text=True, timeout=1800)
        figures["run"] = time.perf_counter() - t0
        if run.returncode != 0:
            raise RuntimeError(f"{deployment} failed on {db}:\n{run.stdout[-3000:]}{run.stderr[-3000:]}")
        figures["locked_lines"] = locked_lines(base / "service")
        subprocess.run(["bash", str(SERVICE), "stop"], env=env, capture_output=True, timeout=120, check=True)
        restart = timed_start(env, port)
        figures["restart_health"] = restart["health"]
        if "postgres_ready" in restart:
            figures["restart_postgres_ready"] = restart["postgres_ready"]
        return figures
    finally:
        subprocess.run(["bash", str(SERVICE), "stop"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(pg_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="services started per database")
    parser.add_argument("--deployment", default="train-all/train-all",
                        help="what to run through the service: train-all/train-all (smoke) or ingest-imdb/ingest")
    args = parser.parse_args()

    from tests.support import fixtures

    load_before = os.getloadavg()
    mirror = Path(tempfile.mkdtemp(prefix="seqconv-bench-mirror-"))
    fixtures.write_imdb(mirror)
    fixtures.write_jena_classic(mirror)
    fixtures.write_station_pair(mirror)
    fixtures.write_checksums(mirror)
    rounds: list[dict] = []
    try:
        for r in range(args.rounds):
            for db in (("sqlite", "postgres") if r % 2 == 0 else ("postgres", "sqlite")):
                figures = one_service(db, mirror, args.deployment)
                rounds.append({"round": r, "db": db, **{k: round(v, 2) for k, v in figures.items()}})
                print(json.dumps(rounds[-1]), flush=True)
    finally:
        shutil.rmtree(mirror, ignore_errors=True)

    keys = ["postgres_ready", "health", "started", "run", "locked_lines", "restart_postgres_ready", "restart_health"]
    medians = {db: {k: round(statistics.median(r[k] for r in rounds if r["db"] == db and k in r), 2)
                    for k in keys if any(k in r for r in rounds if r["db"] == db)}
               for db in ("sqlite", "postgres")}
    print(f"\nmedians of {args.rounds} round(s), seconds from `scripts/service.sh start` ({args.deployment}):")
    print("| database | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for db, m in medians.items():
        print(f"| {db} | " + " | ".join(str(m.get(k, "-")) for k in keys) + " |")
    out = ROOT / "artifacts" / "bench" / "service.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"deployment": args.deployment, "rounds": rounds, "medians": medians,
                               "machine": machine(load_before)}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
