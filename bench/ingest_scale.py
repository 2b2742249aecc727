"""Ingestion at scale: seconds and peak memory per row for a user's data (a generated 1,000,000-row x 15-column
series through `csv_series`, 200,000 generated texts through `text_files`) beside the built-in readers on today's
data (the mirror's two Jena station files, `jena_station`; the mirror's IMDB npz, `keras_imdb`), in one run.

    python -m bench.ingest_scale                          # every case; figures to artifacts/bench/ingest_scale.json
    python -m bench.ingest_scale --cases series-100k series-1m

Each case runs in a fresh Python process (as bench.ingest): fetch into a fresh data dir, raw validation, normalize,
normalized validation, publish, the reader's tasks called as plain functions (`.fn`), so the figures are the
reader's and not the Prefect server's. The parent reaps the child with `os.wait4`: `ru_maxrss` is its peak RSS.
The child also records its RSS after the imports, before any data is read, so `work` (peak minus that) is what
the data cost. Two sizes of the same series (`series-100k`, `series-1m`) give the slope: bytes of peak per row.
Generating the inputs is not timed (they are cached in the work folder by size).
Beside each case, a second fresh process trains the kind's book model on the version it published (run_training:
every training row, smoke otherwise) and records its peak the same way: what training needs in memory for the same
rows, which the ingest peak's slope is held against.
"""

from __future__ import annotations

import argparse
import csv
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
DEFAULT_MIRROR = ROOT.parent / "shared" / "datasets"
STATION_FILES = ["mpi_roof_2024a.csv", "mpi_roof_2024b.csv"]
SERIES_COLUMNS = 14  # numeric columns; with the time column, 15
TRAINED = {"series": "jena_conv", "text": "imdb_conv"}  # the model each kind's training figure is taken with
# on top of smoke, so training holds every row as a real run does: smoke samples a series' windows from the whole
# record, but keeps 1,500 training texts; one epoch over all of them (minutes at 200,000 texts on 2 cores)
FULL_DATA = {"series": {}, "text": {"max_train_samples": "0", "max_test_samples": "0", "epochs": "1"}}
BUILT_IN = ("jena", "imdb")  # datasets whose models go by the architecture's own name
CASES = {  # case -> (format, rows of generated input; 0: the mirror's files)
    "jena-stations": ("jena_station", 0),
    "imdb-npz": ("keras_imdb", 0),
    "series-100k": ("csv_series", 100_000),
    "series-1m": ("csv_series", 1_000_000),
    "texts-20k": ("text_files", 20_000),
    "texts-200k": ("text_files", 200_000),
}


# ---------------------------------------------------------------------------------------------------------------
# Inputs (not timed)
# ---------------------------------------------------------------------------------------------------------------
def write_series(folder: Path, rows: int) -> Path:
    """A spec and a CSV of `rows` 10-minute readings: a time column and SERIES_COLUMNS numeric ones, a daily cycle
    plus noise, one reading in 1,000 `NA` (a gap)."""
    import numpy as np
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "bigseries.toml"
    if spec.is_file():
        return spec
    rng = np.random.default_rng(0)
    minutes = np.arange(rows, dtype=np.int64) * 10
    day = np.sin(2 * np.pi * minutes / (24 * 60))
    frame = pd.DataFrame({"time": pd.to_datetime("2000-01-01") + pd.to_timedelta(minutes, unit="min")})
    frame["time"] = frame["time"].dt.strftime("%Y-%m-%d %H:%M")
    for c in range(SERIES_COLUMNS):
        values = (10 + 5 * day * (c + 1) / SERIES_COLUMNS + rng.normal(0, 1, rows)).round(2).astype(object)
        values[rng.random(rows) < 0.001] = "NA"
        frame[f"s{c}"] = values
    frame.to_csv(folder / "series.csv", index=False)
    spec.write_text(f"""name = "bigseries"
kind = "series"
format = "csv_series"
description = "{rows:,} generated 10-minute readings of {SERIES_COLUMNS} sensors"

[sources]
files = [{{ name = "series.csv" }}]

[record]
time = "time"
time_format = "%Y-%m-%d %H:%M"
interval = "10min"
target = "s0"
unit = "°C"
""", encoding="utf-8")
    return spec


def write_texts(folder: Path, rows: int) -> Path:
    """A spec and a CSV of `rows` texts of 20-60 words, three labels, each with its own signal words."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "bigtexts.toml"
    if spec.is_file():
        return spec
    rng = np.random.default_rng(0)
    filler = np.array([f"word{i}" for i in range(5000)])
    signal = {"billing": ["invoice", "refund", "charged"], "bug": ["crash", "error", "freeze"],
              "praise": ["love", "great", "thanks"]}
    labels = list(signal)
    with (folder / "texts.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for i in range(rows):
            label = labels[i % 3]
            words = list(filler[rng.zipf(1.3, size=int(rng.integers(20, 61))) % len(filler)])
            words += list(rng.choice(signal[label], size=2))
            writer.writerow([" ".join(words), label])
    spec.write_text(f"""name = "bigtexts"
kind = "text"
format = "text_files"
description = "{rows:,} generated texts, three labels"

[sources]
files = [{{ name = "texts.csv" }}]

[text.files]
layout = "table"
""", encoding="utf-8")
    return spec


# ---------------------------------------------------------------------------------------------------------------
# One case, in its own process
# ---------------------------------------------------------------------------------------------------------------
def rss_now() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def run_case(dataset: str, mirror: str | None, files: list[str] | None, data_dir: Path) -> dict:
    """The ingest flow's steps for `dataset` (a name or a spec path), the reader's tasks as plain functions."""
    started = time.perf_counter()
    import great_expectations  # noqa: F401 - imported before the clock starts, as every reader needs it
    import pyarrow.parquet as pq

    import flows.ingest  # noqa: F401
    from tasks.core.atomic import publish_dataset
    from tasks.core.config import IngestSettings
    from tasks.core.datasets import dataset_spec, use_data_dir
    from tasks.core.sources import chosen_sources
    from tasks.ingest import reader_for
    from tasks.ingest.download import fetch
    from tasks.ingest.unpack import unpack_sources

    figures: dict = {"import_s": round(time.perf_counter() - started, 3), "rss_after_imports_bytes": rss_now()}
    use_data_dir(str(data_dir))
    spec = dataset_spec(dataset)
    reader = reader_for(spec)
    settings = IngestSettings(data_dir=data_dir, mirror=mirror, jena_files=tuple(files or ()))
    steps, peaks, clock = {}, {}, [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        steps[name], clock[0] = round(now - clock[0], 3), now
        peaks[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # the peak so far: which step set it

    begun = clock[0]
    fetched = [fetch(s, None if s.own else settings.mirror, settings.raw_dir) for s in chosen_sources(spec, files)]
    lap("fetch")
    sources = unpack_sources.fn(spec.name, fetched, settings.raw_dir) if reader.unpacks else fetched
    raw_report = reader.validate_raw.fn(spec.name, sources, settings.validation_dir)
    lap("validate_raw")
    version = reader.normalize.fn(spec.name, sources, raw_report, settings.processed_dir)
    lap("normalize")
    reader.validate_normalized.fn(spec.name, version, settings.validation_dir)
    lap("validate_normalized")
    publish_dataset.fn(version, settings.processed_dir, spec.name)
    lap("publish")
    figures["seconds"] = round(time.perf_counter() - begun, 3)
    figures["steps"] = steps
    figures["peak_rss_after_step_bytes"] = peaks
    figures["published_rows"] = sum(pq.ParquetFile(p).metadata.num_rows for p in Path(version).glob("*.parquet"))
    figures["published_bytes"] = sum(p.stat().st_size for p in Path(version).iterdir() if p.is_file())
    figures["input_bytes"] = sum(Path(f.path).stat().st_size for f in fetched)
    figures["self_peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return figures


def run_training(dataset: str, data_dir: Path) -> dict:
    """Train the dataset's kind's book model (smoke profile, every row: FULL_DATA) on the version `run_case`
    published: what training holds in memory for the same rows, the figure the ingest peak is held against."""
    started = time.perf_counter()
    import tensorflow  # noqa: F401 - imported before the clock starts, as every training run needs it

    from tasks.core.datasets import dataset_spec, use_data_dir
    from tasks.core.profiles import resolve_settings
    from tasks.model.train import train_model

    figures: dict = {"import_s": round(time.perf_counter() - started, 3), "rss_after_imports_bytes": rss_now()}
    use_data_dir(str(data_dir))
    spec = dataset_spec(dataset)
    architecture = TRAINED[spec.kind]
    model = architecture if spec.name in BUILT_IN else f"{architecture}@{spec.name}"
    begun = time.perf_counter()
    train_model(resolve_settings(model, "smoke", FULL_DATA[spec.kind]), data_dir, data_dir / "run" / model, "bench")
    figures.update(model=model, seconds=round(time.perf_counter() - begun, 3),
                   self_peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return figures


def generated(write, folder: Path, rows: int) -> Path:
    """`write(folder, rows)` in a process of its own: a child inherits its parent's peak RSS (`ru_maxrss` survives
    fork and exec on Linux), so inputs generated here would stand as every later case's peak."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(write, (folder, rows))


def spawn_case(case: str, mirror: str, work: Path) -> dict:
    """Run `case` in a fresh interpreter; its figures plus the peak RSS the parent saw."""
    fmt, rows = CASES[case]
    if fmt == "csv_series":
        dataset, files = str(generated(write_series, work / f"series-{rows}", rows)), None
    elif fmt == "text_files":
        dataset, files = str(generated(write_texts, work / f"texts-{rows}", rows)), None
    elif fmt == "jena_station":
        dataset, files = "jena", STATION_FILES
    else:
        dataset, files = "imdb", None
    data_dir = Path(tempfile.mkdtemp(prefix=f"data-{case}-", dir=work))
    result, log = work / f"{case}.json", work / f"{case}.log"
    command = [sys.executable, "-m", "bench.ingest_scale", "--child", dataset, "--data-dir", str(data_dir),
               "--result", str(result)]
    command += ["--mirror", mirror]  # a user's files are fetched from their own paths, never from it
    command += ["--files", *files] if files else []
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_HOME": str(work / "prefect-home")}
    try:
        figures = {"case": case, "format": fmt, **child_figures(command, env, result, log, case)}
        training = child_figures(command[:3] + ["--train", dataset] + command[5:], env, result, log, f"{case} training")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    figures["training"] = training
    return figures


def child_figures(command: list[str], env: dict, result: Path, log: Path, what: str) -> dict:
    """Run one child (ingest or training) and return its figures with the peak RSS its parent saw."""
    result.unlink(missing_ok=True)
    with open(log, "wb") as out:
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0 or not result.is_file():
        raise SystemExit(f"{what} failed; log {log}:\n{log.read_text(errors='replace')[-3000:]}")
    figures = json.loads(result.read_text())
    figures["peak_rss_bytes"] = max(usage.ru_maxrss * 1024, figures["self_peak_rss_bytes"])
    figures["work_rss_bytes"] = figures["peak_rss_bytes"] - figures["rss_after_imports_bytes"]
    return figures


# ---------------------------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------------------------
def table(results: list[dict]) -> str:
    mib = 2**20
    lines = ["| case | format | input | rows published | seconds | µs/row | peak RSS | after imports | work | "
             "work bytes/row | published bytes/row | training peak RSS | training work | training work bytes/row |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for f in results:
        rows, t = f["published_rows"], f["training"]
        lines.append(
            f"| {f['case']} | {f['format']} | {f['input_bytes'] / mib:,.0f} MiB | {rows:,} | {f['seconds']:.1f} | "
            f"{f['seconds'] / rows * 1e6:.1f} | {f['peak_rss_bytes'] / mib:,.0f} MiB | "
            f"{f['rss_after_imports_bytes'] / mib:,.0f} MiB | {f['work_rss_bytes'] / mib:,.0f} MiB | "
            f"{f['work_rss_bytes'] / rows:,.0f} | {f['published_bytes'] / rows:,.1f} | "
            f"{t['peak_rss_bytes'] / mib:,.0f} MiB | {t['work_rss_bytes'] / mib:,.0f} MiB | "
            f"{t['work_rss_bytes'] / rows:,.0f} |")
    return "\n".join(lines)


def slopes(results: list[dict]) -> list[str]:
    """Bytes of peak RSS per extra row between the two sizes of the same format."""
    out = []
    by_format: dict[str, list[dict]] = {}
    for f in results:
        by_format.setdefault(f["format"], []).append(f)
    for fmt, cases in by_format.items():
        if len(cases) == 2:
            small, big = sorted(cases, key=lambda f: f["published_rows"])
            extra = big["published_rows"] - small["published_rows"]
            ingest = (big["peak_rss_bytes"] - small["peak_rss_bytes"]) / extra
            training = (big["training"]["peak_rss_bytes"] - small["training"]["peak_rss_bytes"]) / extra
            out.append(f"{fmt}: {ingest:,.0f} bytes of peak RSS "
                       f"and {(big['seconds'] - small['seconds']) / extra * 1e6:.1f} µs per extra row "
                       f"({small['case']} -> {big['case']}); training {big['training']['model']} on the same "
                       f"rows: {training:,.0f} bytes of peak RSS per extra row (ingest / training "
                       f"{ingest / training:.2f})")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_scale", description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=None, help="default: every case whose "
                        "reader exists")
    parser.add_argument("--mirror", default=str(DEFAULT_MIRROR), help="folder with the real IMDB and station files")
    parser.add_argument("--work", default=str(ROOT / "artifacts" / "bench" / "scale"),
                        help="scratch folder: generated inputs (kept), fresh data dirs (deleted), logs")
    parser.add_argument("--out", default=str(ROOT / "artifacts" / "bench" / "ingest_scale.json"))
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: one case in this process
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--files", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--train", help=argparse.SUPPRESS)  # internal: train on a child's published data
    args = parser.parse_args(argv)

    if args.train:
        Path(args.result).write_text(json.dumps(run_training(args.train, Path(args.data_dir))))
        return 0
    if args.child:
        figures = run_case(args.child, args.mirror, args.files, Path(args.data_dir))
        Path(args.result).write_text(json.dumps(figures))
        return 0

    from tasks.ingest.readers import READERS

    cases = args.cases or [c for c, (fmt, _) in CASES.items() if fmt in READERS]
    missing = [c for c in cases if CASES[c][0] not in READERS]
    if missing:
        raise SystemExit(f"no reader for {', '.join(missing)} in this checkout")
    if any(CASES[c][1] == 0 for c in cases) and not (Path(args.mirror) / "imdb.npz").is_file():
        raise SystemExit(f"no imdb.npz in {args.mirror}: point --mirror at the real-data mirror")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for case in cases:
        print(f"running {case} ...", flush=True)
        figures = spawn_case(case, args.mirror, work)
        results.append(figures)
        print(f"  {figures['published_rows']:,} rows in {figures['seconds']:.1f} s, peak RSS "
              f"{figures['peak_rss_bytes'] / 2**20:,.0f} MiB; steps: "
              + ", ".join(f"{k} {v:.1f} s" for k, v in figures["steps"].items())
              + "; peak RSS after each: " + ", ".join(
                  f"{k} {v / 2**20:,.0f} MiB" for k, v in figures.get("peak_rss_after_step_bytes", {}).items()),
              flush=True)
    print()
    print(table(results))
    for line in slopes(results):
        print(line)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), "cases": results}, indent=2) + "\n")
    print(f"figures in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
