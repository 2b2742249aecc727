"""Serving speed: raw reviews through a run's serving model (preprocessing inside) against today's Python path, and
its SavedModel called as a tf.function against Keras `predict`.

    python -m bench.serving            # all 25,000 test reviews, 3 rounds
    python -m bench.serving --quick    # a smoke run: 2,000 reviews, one round

Needs the real-data mirror (../shared/datasets, or $SEQCONV_SHARED_DATASETS).

IMDB: the 25,000 test reviews of the mirror's imdb.npz are decoded back to text with the word index (untimed: the
raw text a user sends). An untrained tasks.model.architectures.build_imdb_conv (seeded; a trained one computes the
same operations) is saved as a run folder with the mirror's word index, and tasks.serve.serving.export_serving makes
its serving/ folder, as training does. Each round times, in one process, one after the other on the same texts:
- `python path`: tasks.serve.text.predict_reviews (tokenize in Python, word ranks, encode_reviews, model.predict in
  batches of 512): today's `seqconv predict imdb`, the reference;
- `serving, keras predict`: serving/model.keras loaded with Keras, `predict` on the strings, batch 512;
- `serving, saved model`: serving/saved_model loaded with tf.saved_model.load, its serving_default signature (a
  tf.function) called on batches of 512 strings.
Each path is warmed up on one batch first (tracing); the order of the paths turns each round. Ratios are per round
(reviews/s over the Python path's, and the SavedModel's over Keras predict's; by wall clock and per CPU second of
the process, which moves less with others' load), then the median.

Jena: an untrained jena_conv_gru (lookback 1440, step 3), its serving model on the 144 raw windows of the
station file's last 24 hours (1440 readings each, float64): Keras `predict` against the SavedModel's signature,
and today's path from the same readings for reference (`python path`: forecast_windows, which checks, normalizes
and gathers the windows, then `forecast`); 20 calls of each a round.

The machine may be busy with other work: each round records the load average; CPU seconds go beside wall seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import machine, write_figures

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("SEQCONV_SHARED_DATASETS", ROOT.parent / "shared" / "datasets"))
STATION_FILE = "mpi_roof_2024b.csv"
BATCH = 512  # reviews per model batch, as tasks.serve.text.PREDICT_BATCH
JENA_CALLS = 20  # forecasts of the 144 windows per path and round
IMDB_PATHS = ("python path", "serving, keras predict", "serving, saved model")
JENA_PATHS = ("python path", "serving, keras predict", "serving, saved model")


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> dict[str, float]:
    wall, cpu = clock()
    return {"wall_s": wall - start[0], "cpu_s": cpu - start[1]}


def make_run(folder: Path, model, settings, files: dict[str, bytes]) -> Path:
    """A finished run folder around `model` (as tasks.model.train leaves one) with its serving/ folder."""
    from tasks.serve.serving import export_serving
    from tests.support.serving import write_run

    export_serving(write_run(folder, settings, model, files))
    return folder


def load_serving(run_dir: Path) -> tuple:
    """The Keras serving model and the SavedModel's serving_default signature of a run."""
    import tensorflow as tf

    from tasks.serve.serving import SAVED_MODEL, SIGNATURE
    from tests.support import serving

    return (serving.load_serving(run_dir),
            tf.saved_model.load(str(run_dir / "serving" / SAVED_MODEL)).signatures[SIGNATURE])


def bench_imdb(n_reviews: int, rounds: int, folder: Path) -> dict:
    import keras
    import tensorflow as tf

    from tasks.core.cache import file_sha256
    from tasks.core.config import TrainSettings
    from tasks.ingest.imdb_reviews import load_imdb_npz, load_word_index
    from tasks.model.imdb_conv import build_imdb_conv
    from tasks.serve import text
    from tests.support.serving import word_index_files

    npz = MIRROR / "imdb.npz"  # untrusted like any mirrored file: the pipeline's restricted unpickler reads it
    reviews = load_imdb_npz(npz, file_sha256(npz))["x_test"][:n_reviews]
    index_bytes = (MIRROR / "imdb_word_index.json").read_bytes()
    word_index = load_word_index(MIRROR / "imdb_word_index.json")
    words = {rank: word for word, rank in word_index.items()}
    texts = [" ".join(words[r] for r in review) for review in reviews]  # untimed: the raw text a user sends
    keras.utils.set_random_seed(0)
    model = build_imdb_conv()
    start = clock()
    run_dir = make_run(folder / "imdb_conv", model, TrainSettings(model="imdb_conv"), word_index_files(index_bytes))
    export = since(start)
    serving_model, signature = load_serving(run_dir)
    print(f"IMDB: {len(texts):,} test reviews as text; untrained imdb_conv; serving/ made in {export['wall_s']:.1f} s "
          f"({len(word_index):,} words); batch {BATCH}", flush=True)

    def python_path(texts: list[str]) -> np.ndarray:
        rows = text.predict_reviews(model, texts, word_index, batch_size=BATCH)
        return np.array([r["probability"] for r in rows])

    def keras_predict(texts: list[str]) -> np.ndarray:
        return serving_model.predict(np.array(texts, dtype=object), batch_size=BATCH, verbose=0).reshape(-1)

    def saved_model(texts: list[str]) -> np.ndarray:
        return np.concatenate([signature(reviews=tf.constant(texts[i: i + BATCH]))["probability"].numpy()
                               for i in range(0, len(texts), BATCH)])

    paths = dict(zip(IMDB_PATHS, (python_path, keras_predict, saved_model)))
    for run in paths.values():  # warm-up: trace each path once
        run(texts[:BATCH])
    results, outputs = [], {}
    for r in range(rounds):
        figures = {}
        for name in rotated(IMDB_PATHS, r):
            start = clock()
            outputs[name] = paths[name](texts)
            figures[name] = since(start)
            figures[name]["reviews_per_s"] = len(texts) / figures[name]["wall_s"]
            figures[name]["reviews_per_cpu_s"] = len(texts) / figures[name]["cpu_s"]
        figures["load_average_1min"] = os.getloadavg()[0]
        results.append(figures)
        print(f"  round {r + 1}: " + ", ".join(f"{k} {figures[k]['reviews_per_s']:,.0f} reviews/s" for k in paths)
              + f"; load average {figures['load_average_1min']:.1f}", flush=True)
    differences = {name: float(np.abs(outputs[name] - outputs["python path"]).max()) for name in IMDB_PATHS[1:]}
    return {"reviews": len(texts), "batch_size": BATCH, "export_s": export, "rounds": results,
            "max_abs_difference_from_python_path": differences, **summarize(results, IMDB_PATHS, "reviews_per_s")}


def bench_jena(rounds: int, folder: Path) -> dict:
    import keras
    import tensorflow as tf

    from tasks.core.config import TrainSettings
    from tasks.core.records.normalization import NormalizationRecord
    from tasks.core.sources import JENA_TARGET
    from tasks.model.jena_conv_gru import build_jena_conv_gru
    from tasks.serve import series, stations

    data = stations.load_station_frames([MIRROR / STATION_FILE])
    settings = TrainSettings(model="jena_conv_gru", lookback=1440, step=3, delay=144)
    normalization = NormalizationRecord(features=data.columns, mean=data.features.mean(axis=0),
                                        std=data.features.std(axis=0), target=JENA_TARGET,
                                        target_col=data.columns.index(JENA_TARGET), lookback=1440, step=3, delay=144)
    keras.utils.set_random_seed(0)
    model = build_jena_conv_gru()
    run_dir = make_run(folder / "jena_conv_gru", model, settings,
                       {"normalization.json": json.dumps(normalization.to_json()).encode()})
    serving_model, signature = load_serving(run_dir)
    windows = series.forecast_windows(data.seconds, data.features, normalization, data.source)
    rows = np.searchsorted(data.seconds, windows.reading_seconds)
    raw = np.stack([data.features[e - 1440 + 1: e + 1] for e in rows])  # (144, 1440, 14) float64, file units
    print(f"\nJena: {STATION_FILE}, the last 24 hours' {len(raw)} raw windows of 1440 readings; untrained "
          f"jena_conv_gru; {JENA_CALLS} calls of each path a round", flush=True)
    paths = dict(zip(JENA_PATHS, (
        lambda: series.forecast(model, series.forecast_windows(data.seconds, data.features, normalization,
                                                                         data.source)).forecast_c,
        lambda: serving_model.predict(tf.data.Dataset.from_tensor_slices(raw).batch(len(raw)), verbose=0).reshape(-1),
        lambda: signature(readings=tf.constant(raw))["forecast_c"].numpy(),
    )))
    outputs = {name: run() for name, run in paths.items()}  # warm-up: tracing
    results = []
    for r in range(rounds):
        figures = {}
        for name in rotated(JENA_PATHS, r):
            start = clock()
            for _ in range(JENA_CALLS):
                paths[name]()
            figures[name] = since(start)
            figures[name]["forecasts_per_s"] = JENA_CALLS / figures[name]["wall_s"]
            figures[name]["forecasts_per_cpu_s"] = JENA_CALLS / figures[name]["cpu_s"]
        figures["load_average_1min"] = os.getloadavg()[0]
        results.append(figures)
        print(f"  round {r + 1}: " + ", ".join(f"{k} {1000 / figures[k]['forecasts_per_s']:.0f} ms" for k in paths)
              + f"; load average {figures['load_average_1min']:.1f}", flush=True)
    differences = {name: float(np.abs(outputs[name] - outputs[JENA_PATHS[0]]).max()) for name in JENA_PATHS[1:]}
    return {"windows": len(raw), "calls_per_round": JENA_CALLS, "rounds": results,
            "max_abs_difference_from_forecast_c": differences,
            **summarize(results, JENA_PATHS, "forecasts_per_s")}


def rotated(paths: tuple[str, ...], r: int) -> tuple[str, ...]:
    """The paths in another order each round, so that none is always first after the others' work."""
    return paths[r % len(paths):] + paths[: r % len(paths)]


def summarize(results: list[dict], paths: tuple[str, ...], rate: str) -> dict:
    """Medians per path, and the medians of the per-round ratios (of wall-clock rates, and of rates per CPU
    second): each path over the first, the SavedModel over Keras predict."""
    keys = ("wall_s", "cpu_s", rate, rate.replace("_per_s", "_per_cpu_s"))
    median = {p: {k: float(np.median([r[p][k] for r in results])) for k in keys} for p in paths}
    ratios = {}
    for kind, key in (("wall", keys[2]), ("cpu", keys[3])):
        pairs = [(p, paths[0]) for p in paths[1:]] + [(paths[2], paths[1])]
        ratios[kind] = {f"{a} / {b}": float(np.median([r[a][key] / r[b][key] for r in results])) for a, b in pairs}
    return {"median": median, "ratios": ratios}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serving", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 reviews, one round")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each path")
    parser.add_argument("--reviews", type=int, default=25_000, help="test reviews to predict on (at most 25,000)")
    parser.add_argument("--out", help="figures as JSON (default artifacts/bench/serving.json, serving-quick.json "
                        "with --quick)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.reviews = 1, 2_000
    if not (MIRROR / "imdb.npz").is_file():
        print(f"real-data mirror not found at {MIRROR} (set SEQCONV_SHARED_DATASETS)", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras  # noqa: F401 - loaded before any timing (and so TensorFlow is described in the JSON)

    import tasks.ingest.normalize  # noqa: F401 - pandas, pyarrow and Prefect, imported before any timing

    load_before = os.getloadavg()
    print(f"{os.cpu_count()} CPUs, load average {load_before[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        imdb = bench_imdb(args.reviews, args.rounds, Path(folder))
        jena = bench_jena(args.rounds, Path(folder))

    print(f"\nmedians over {args.rounds} round(s)")
    for title, result, rate in (("IMDB", imdb, "reviews_per_s"), ("Jena", jena, "forecasts_per_s")):
        per_cpu = rate.replace("_per_s", "_per_cpu_s")
        print(f"  {title + ' path':32s} {'seconds':>8s} {'CPU s':>7s} {rate:>16s} {per_cpu:>20s}")
        for path, f in result["median"].items():
            print(f"  {path:32s} {f['wall_s']:8.2f} {f['cpu_s']:7.2f} {f[rate]:16,.1f} {f[per_cpu]:20,.1f}")
        for name, ratio in result["ratios"]["wall"].items():
            print(f"  ratio {name}: {ratio:.2f}x (per CPU second {result['ratios']['cpu'][name]:.2f}x)")
    print(f"  largest difference from the Python path: IMDB {imdb['max_abs_difference_from_python_path']}, "
          f"Jena (°C) {jena['max_abs_difference_from_forecast_c']}")
    serving_vs_python = imdb["ratios"]["wall"][f"{IMDB_PATHS[2]} / {IMDB_PATHS[0]}"]
    document = {
        "target": "raw reviews/s through the serving model not below the Python path's (ratio >= 1)",
        "units": {"wall_s": "seconds (wall clock)", "cpu_s": "CPU seconds of the whole process",
                  "reviews_per_s": "reviews per second (wall clock)",
                  "forecasts_per_s": "calls per second, each forecasting 144 windows"},
        "machine": machine(load_before),
        "settings": {"rounds": args.rounds, "reviews": args.reviews, "quick": args.quick, "mirror": str(MIRROR)},
        "imdb": imdb,
        "jena": jena,
        "pass": serving_vs_python >= 1.0,
    }
    out = write_figures("serving", document, quick=args.quick, out=args.out)
    print(f"\n{'PASS' if document['pass'] else 'FAIL'}: the SavedModel {serving_vs_python:.2f}x the Python path's "
          f"reviews/s; figures in {out}")
    return 0 if document["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
