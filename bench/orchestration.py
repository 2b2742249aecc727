"""Orchestration overhead: `train-all` (smoke profile) through Prefect against the same work as plain functions.

    python -m bench.orchestration [--rounds 2] [--mirror DIR]

Both sides run in this one process, alternating (Prefect, plain, Prefect, plain, ...), each round in fresh data and
artifacts folders, with every Prefect cache refreshed so that both sides do the same work. Prints the medians, the
seconds Prefect adds per run, and writes artifacts/bench/orchestration.json. The temporary Prefect server's start
is measured once and reported apart (a deployed service pays it once, not per run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench import machine

os.environ["PREFECT_TASKS_REFRESH_CACHE"] = "true"  # both sides do all the work every round
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
STATION_FILES = ["mpi_roof_2024a.csv", "mpi_roof_2024b.csv"]
MODELS = ["imdb_conv", "jena_conv", "jena_conv_gru"]


def plain_train_all(mirror: str, data_dir: Path, artifacts_dir: Path) -> None:
    """What train-all does, as plain function calls: no Prefect runs, states, logs to the API or artifacts."""
    from tasks.core import atomic, runs
    from tasks.core.config import IngestSettings
    from tasks.core.profiles import resolve_settings
    from tasks.core.sources import IMDB_NPZ, IMDB_WORD_INDEX, jena_sources
    from tasks.ingest.download import fetch
    from tasks.ingest.unpack import unpack_sources
    from tasks.judge.evaluate import evaluate_model
    from tasks.ingest.jena_station import normalize_jena_files, validate_normalized_jena, validate_raw_jena
    from tasks.ingest.keras_imdb import normalize_imdb, validate_normalized_imdb, validate_raw_imdb
    from tasks.publish.figures import plot_evaluation
    from tasks.judge.registry import promote_model
    from tasks.publish.report import metrics_table_rows, report_markdown
    from tasks.model.train import train_model

    settings = IngestSettings(data_dir=data_dir, mirror=mirror)
    imdb = [fetch(s, mirror, settings.raw_dir) for s in (IMDB_NPZ, IMDB_WORD_INDEX)]
    raw = validate_raw_imdb.fn("imdb", imdb, settings.validation_dir)
    version = normalize_imdb.fn("imdb", imdb, raw, settings.processed_dir)
    validate_normalized_imdb.fn("imdb", version, settings.validation_dir)
    atomic.point_link(version, settings.processed_dir / "imdb")
    jena = unpack_sources.fn("jena", [fetch(s, mirror, settings.raw_dir) for s in jena_sources(STATION_FILES)],
                             settings.raw_dir)
    raw = validate_raw_jena.fn("jena", jena, settings.validation_dir)
    version = normalize_jena_files.fn("jena", jena, raw, settings.processed_dir)
    validate_normalized_jena.fn("jena", version, settings.validation_dir)
    atomic.point_link(version, settings.processed_dir / "jena")

    run_id, results = runs.new_run_id(), []
    for model in MODELS:
        run_dir = runs.run_dir(artifacts_dir, run_id, model)
        train_model(resolve_settings(model, "smoke"), data_dir, run_dir, run_id)
        metrics = evaluate_model(run_dir, data_dir, run_dir)
        plot_evaluation(run_dir)
        promotion = promote_model.fn(runs.registry_dir(artifacts_dir), model, run_dir)
        results.append({"metrics": metrics, "promotion": promotion, "run_dir": str(run_dir)})
    metrics_table_rows(results)
    (artifacts_dir / "runs" / run_id / "report.md").write_text(report_markdown(results, run_id, "smoke"))


def prefect_train_all(mirror: str, data_dir: Path, artifacts_dir: Path) -> None:
    from flows.train_all import train_all_flow

    train_all_flow(profile="smoke", mirror=mirror, data_dir=str(data_dir), artifacts_dir=str(artifacts_dir),
                   jena_files=STATION_FILES, models=MODELS, train_on="local")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--mirror", default=str(SHARED) if SHARED.is_dir() else None,
                        help="the real-data mirror (default ../shared/datasets); without one, fixture files")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-orchestration-"))
    mirror = args.mirror
    if mirror is None:
        from tests.support import fixtures

        mirror = str(work / "mirror")
        fixtures.write_imdb(Path(mirror))
        fixtures.write_station_pair(Path(mirror))
        fixtures.write_checksums(Path(mirror))

    from prefect.testing.utilities import prefect_test_harness

    os.environ["PREFECT_HOME"] = str(work / "prefect-home")
    started = time.perf_counter()
    with prefect_test_harness(server_startup_timeout=180):
        server_start = time.perf_counter() - started
        import flows.train_all  # noqa: F401  (imports outside the clock, for both sides)

        sides = {"prefect": prefect_train_all, "plain": plain_train_all}
        seconds: dict[str, list[float]] = {name: [] for name in sides}
        for round_ in range(args.rounds):
            for name, run in sides.items():
                base = work / f"{name}-{round_}"
                clock = time.perf_counter()
                run(mirror, base / "data", base / "artifacts")
                seconds[name].append(time.perf_counter() - clock)
                print(f"round {round_ + 1} {name:8s} {seconds[name][-1]:7.1f} s", flush=True)
                shutil.rmtree(base, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)

    median = {name: statistics.median(values) for name, values in seconds.items()}
    added = [p - q for p, q in zip(seconds["prefect"], seconds["plain"])]
    figures = {
        "what": "train-all, smoke profile, 3 models, both datasets ingested: through Prefect vs plain functions",
        "mirror": mirror,
        "rounds": args.rounds,
        "seconds": {name: [round(v, 2) for v in values] for name, values in seconds.items()},
        "median_seconds": {name: round(v, 2) for name, v in median.items()},
        "prefect_added_seconds_median": round(statistics.median(added), 2),
        "prefect_added_fraction": round(statistics.median(added) / median["plain"], 3),
        "temporary_server_start_seconds": round(server_start, 2),
        "machine": machine(),
    }
    print(f"\nplain functions: {median['plain']:.1f} s   through Prefect: {median['prefect']:.1f} s   "
          f"added: {figures['prefect_added_seconds_median']:+.1f} s ({100 * figures['prefect_added_fraction']:+.1f}%)"
          f"   temporary server start: {server_start:.1f} s (once)")
    out = ROOT / "artifacts" / "bench" / "orchestration.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"figures: {out}")


if __name__ == "__main__":
    main()
