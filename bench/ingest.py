"""Seconds and peak memory of ingestion: the real IMDB files, and a generated Jena zip of the classic size.

    python -m bench.ingest                       # all four cases, figures to artifacts/bench/ingest.json
    python -m bench.ingest --cases jena-functions --profile

Each case runs in a fresh Python process, so its peak RSS is its own: the parent reaps it with `os.wait4`, whose
`ru_maxrss` is the peak of that process and of every descendant it reaped (the Prefect temporary server too).

- `*-functions`: the ingestion work as plain functions, the same steps as the flow: fetch from the local mirror
  into a fresh data dir, raw validation, normalize, normalized validation, publish (the tasks' `.fn`).
- `*-flow`: the same through the Prefect flow with a temporary (ephemeral) server. The server's start-up is timed
  apart (a no-op flow run first), so `seconds` is the flow itself and the orchestration overhead is visible.

Targets from the issue: each ingestion under 10 s and 2 GiB on a 2-core machine. Generating the Jena zip is not
timed (it is cached in the work folder). `--profile` writes a cProfile dump per functions case and prints the top.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import machine

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MIRROR = ROOT.parent / "shared" / "datasets"  # the read-only real-data mirror beside the checkout
CLASSIC_ROWS = 420_551  # rows of jena_climate_2009_2016.csv
TARGET_SECONDS = 10.0  # the target per ingestion, on 2 CPU cores
TARGET_BYTES = 2 * 1024**3  # 2 GiB peak RSS
CASES = ("imdb-functions", "jena-functions", "imdb-flow", "jena-flow")


# ---------------------------------------------------------------------------------------------------------------
# One case, in its own process
# ---------------------------------------------------------------------------------------------------------------
def stopwatch():
    """A dict of step -> seconds, and `lap(name)` that records the seconds since the previous lap."""
    steps, clock = {}, [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        steps[name] = round(now - clock[0], 3)
        clock[0] = now

    return steps, lap


def ingest_imdb_functions(mirror: str, data_dir: Path) -> dict[str, float]:
    """The IMDB flow's steps as plain functions; returns seconds per step."""
    from tasks.core.atomic import publish_dataset
    from tasks.core.config import IngestSettings
    from tasks.core.sources import IMDB_NPZ, IMDB_WORD_INDEX
    from tasks.ingest.download import fetch
    from tasks.ingest.keras_imdb import normalize_imdb, validate_normalized_imdb, validate_raw_imdb

    settings = IngestSettings(data_dir=data_dir, mirror=mirror)
    steps, lap = stopwatch()

    npz = fetch(IMDB_NPZ, settings.mirror, settings.raw_dir)
    words = fetch(IMDB_WORD_INDEX, settings.mirror, settings.raw_dir)
    lap("download")
    raw_report = validate_raw_imdb.fn("imdb", [npz, words], settings.validation_dir)
    lap("validate_raw")
    version = normalize_imdb.fn("imdb", [npz, words], raw_report, settings.processed_dir)
    lap("normalize")
    validate_normalized_imdb.fn("imdb", version, settings.validation_dir)
    lap("validate_normalized")
    publish_dataset.fn(version, settings.processed_dir, "imdb")
    lap("publish")
    return steps


def ingest_jena_functions(mirror: str, data_dir: Path) -> dict[str, float]:
    """The Jena flow's steps (classic zip) as plain functions; returns seconds per step."""
    from tasks.core.atomic import publish_dataset
    from tasks.ingest.unpack import unpack_sources
    from tasks.core.config import IngestSettings
    from tasks.core.sources import jena_sources
    from tasks.ingest.download import fetch
    from tasks.ingest.jena_station import normalize_jena_files, validate_normalized_jena, validate_raw_jena

    settings = IngestSettings(data_dir=data_dir, mirror=mirror)
    steps, lap = stopwatch()

    fetched = [fetch(source, settings.mirror, settings.raw_dir) for source in jena_sources(None)]
    lap("download")
    sources = unpack_sources.fn("jena", fetched, settings.raw_dir)
    lap("extract")
    raw_report = validate_raw_jena.fn("jena", sources, settings.validation_dir)
    lap("validate_raw")
    version = normalize_jena_files.fn("jena", sources, raw_report, settings.processed_dir)
    lap("normalize")
    validate_normalized_jena.fn("jena", version, settings.validation_dir)
    lap("validate_normalized")
    publish_dataset.fn(version, settings.processed_dir, "jena")
    lap("publish")
    return steps


def run_case(case: str, mirror: str, data_dir: Path, profile_path: Path | None) -> dict:
    """Run one case in this process and return its figures (seconds exclude interpreter start and imports)."""
    started = time.perf_counter()
    dataset, kind = case.split("-")
    figures: dict = {"case": case, "mirror": mirror}
    if kind == "functions":
        import flows.ingest  # noqa: F401 - imported before the clock starts, like the flow case
        import great_expectations  # noqa: F401

        figures["import_s"] = round(time.perf_counter() - started, 3)
        work = ingest_imdb_functions if dataset == "imdb" else ingest_jena_functions
        clock = time.perf_counter()
        if profile_path is not None:
            import cProfile

            profiler = cProfile.Profile()
            steps = profiler.runcall(work, mirror, data_dir)
            profiler.dump_stats(profile_path)
        else:
            steps = work(mirror, data_dir)
        figures["seconds"] = round(time.perf_counter() - clock, 3)
        figures["steps"] = steps
    else:
        from prefect import flow

        import great_expectations  # noqa: F401
        from flows.ingest import ingest_imdb_flow, ingest_jena_flow

        figures["import_s"] = round(time.perf_counter() - started, 3)

        @flow(name="bench-noop")
        def noop() -> None:
            """Starts the temporary server, so the ingest flow below runs against a warm one."""

        clock = time.perf_counter()
        noop()
        figures["server_start_s"] = round(time.perf_counter() - clock, 3)
        clock = time.perf_counter()
        if dataset == "imdb":
            ingest_imdb_flow(mirror=mirror, data_dir=str(data_dir))
        else:
            ingest_jena_flow(mirror=mirror, data_dir=str(data_dir))
        figures["seconds"] = round(time.perf_counter() - clock, 3)
        figures["server_peak_rss_bytes"] = sum(child_peak_rss().values())  # the temporary server, still running
    figures["self_peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return figures


def child_peak_rss() -> dict[int, int]:
    """{pid: peak RSS in bytes} of this process's running children (Linux /proc; {} elsewhere)."""
    peaks = {}
    for children in Path("/proc/self/task").glob("*/children"):  # per thread: the server may be started from any
        for pid in children.read_text().split():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peaks[int(pid)] = int(line.split()[1]) * 1024
    return peaks


# ---------------------------------------------------------------------------------------------------------------
# The parent: prepare inputs, run each case in a fresh process, judge against the targets
# ---------------------------------------------------------------------------------------------------------------
def prepare_jena_mirror(work: Path, rows: int) -> tuple[Path, float | None]:
    """A mirror folder with a classic-format Jena zip of `rows` rows and its SHA256SUMS (cached by row count);
    the seconds it took to generate, None when cached."""
    from tests.support import fixtures

    mirror = work / f"jena-classic-{rows}"
    if (mirror / "SHA256SUMS").is_file():
        return mirror, None
    started = time.perf_counter()
    shutil.rmtree(mirror, ignore_errors=True)
    fixtures.write_jena_classic(mirror, rows=rows)
    fixtures.write_checksums(mirror)
    return mirror, round(time.perf_counter() - started, 1)


def spawn_case(case: str, mirror: str, work: Path, profile: bool) -> dict:
    """Run `case` in a fresh interpreter; its figures plus the wall time and peak RSS the parent saw."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"data-{case}-", dir=work))
    result = work / f"{case}.json"
    log = work / f"{case}.log"
    command = [sys.executable, "-m", "bench.ingest", "--child", case, "--mirror", mirror,
               "--data-dir", str(data_dir), "--result", str(result)]
    if profile and case.endswith("-functions"):
        command += ["--profile-to", str(work / f"{case}.prof")]
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env["PREFECT_HOME"] = str(work / "prefect-home")  # a throwaway database for the temporary server
    result.unlink(missing_ok=True)
    started = time.perf_counter()
    with open(log, "wb") as out:
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not the running max of all children
        child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    shutil.rmtree(data_dir, ignore_errors=True)
    if child.returncode != 0 or not result.is_file():
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"case {case} failed (exit {child.returncode}); log {log}:\n{tail}")
    figures = json.loads(result.read_text())
    figures["process_wall_s"] = round(wall, 3)
    figures["peak_rss_bytes"] = usage.ru_maxrss * 1024  # the largest of the process and its reaped descendants
    # A flow case needs the temporary server's memory too, at the same time: judge the sum.
    figures["judged_rss_bytes"] = figures["self_peak_rss_bytes"] + figures.get("server_peak_rss_bytes", 0)
    figures["judged_rss_bytes"] = max(figures["judged_rss_bytes"], figures["peak_rss_bytes"])
    figures["log"] = str(log)
    return figures


def judge(figures: dict) -> dict:
    figures["pass_seconds"] = figures["seconds"] < TARGET_SECONDS
    figures["pass_memory"] = figures["judged_rss_bytes"] < TARGET_BYTES
    return figures


def print_profile(path: Path, top: int = 25) -> None:
    import pstats

    print(f"\n--- cProfile {path.name}: top {top} by cumulative time ---")
    pstats.Stats(str(path)).sort_stats("cumulative").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES), help="which cases to run")
    parser.add_argument("--mirror", default=str(DEFAULT_MIRROR), help="folder with the real imdb.npz and word index")
    parser.add_argument("--rows", type=int, default=CLASSIC_ROWS, help="rows of the generated Jena zip")
    parser.add_argument("--work", default=str(ROOT / "artifacts" / "bench" / "work"),
                        help="scratch folder: the generated zip (kept), fresh data dirs (deleted), logs")
    parser.add_argument("--out", default=str(ROOT / "artifacts" / "bench" / "ingest.json"), help="figures as JSON")
    parser.add_argument("--profile", action="store_true", help="cProfile the functions cases and print the top")
    # internal: one case in this process
    parser.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        figures = run_case(args.child, args.mirror, Path(args.data_dir),
                           Path(args.profile_to) if args.profile_to else None)
        Path(args.result).write_text(json.dumps(figures))
        return 0

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if any(c.startswith("imdb") for c in args.cases) and not (Path(args.mirror) / "imdb.npz").is_file():
        raise SystemExit(f"no imdb.npz in {args.mirror}: point --mirror at the real-data mirror")
    jena_mirror, generated_s = None, None
    if any(c.startswith("jena") for c in args.cases):
        print(f"generating a {args.rows:,}-row classic Jena zip (not timed) ...", flush=True)
        jena_mirror, generated_s = prepare_jena_mirror(work, args.rows)
        print(f"  {jena_mirror} ({f'{generated_s} s' if generated_s is not None else 'cached'})", flush=True)

    results = []
    for case in args.cases:
        mirror = str(jena_mirror) if case.startswith("jena") else args.mirror
        print(f"running {case} ...", flush=True)
        figures = judge(spawn_case(case, mirror, work, args.profile))
        results.append(figures)
        extra = ""
        if "server_start_s" in figures:
            extra = (f", server start {figures['server_start_s']:.1f} s, "
                     f"server peak RSS {figures['server_peak_rss_bytes'] / 2**20:.0f} MiB included")
        print(
            f"  {case:15s} {figures['seconds']:6.2f} s [{'PASS' if figures['pass_seconds'] else 'FAIL'} < "
            f"{TARGET_SECONDS:.0f} s]  peak RSS {figures['judged_rss_bytes'] / 2**20:7.0f} MiB "
            f"[{'PASS' if figures['pass_memory'] else 'FAIL'} < {TARGET_BYTES / 2**30:.0f} GiB]  "
            f"(imports {figures['import_s']:.1f} s{extra}, process {figures['process_wall_s']:.1f} s)",
            flush=True,
        )
        if "steps" in figures:
            print("    steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in figures["steps"].items()), flush=True)

    by_case = {f["case"]: f for f in results}
    for dataset in ("imdb", "jena"):
        if f"{dataset}-functions" in by_case and f"{dataset}-flow" in by_case:
            overhead = by_case[f"{dataset}-flow"]["seconds"] - by_case[f"{dataset}-functions"]["seconds"]
            print(f"  {dataset}: orchestration overhead {overhead:+.2f} s per flow run "
                  f"(+ {by_case[f'{dataset}-flow']['server_start_s']:.1f} s to start a temporary server)")
    if args.profile:
        for case in args.cases:
            if (work / f"{case}.prof").is_file():
                print_profile(work / f"{case}.prof")

    document = {
        "targets": {"seconds": TARGET_SECONDS, "peak_rss_bytes": TARGET_BYTES},
        "machine": machine(),
        "jena_rows": args.rows,
        "jena_zip_generation_s": generated_s,  # null: reused from an earlier run
        "cases": results,
        "all_pass": all(f["pass_seconds"] and f["pass_memory"] for f in results),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"{'PASS' if document['all_pass'] else 'FAIL'}: figures in {out}")
    return 0 if document["all_pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
