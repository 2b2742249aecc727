"""Prediction speed: raw reviews to sentiment end to end, and a 24-hour forecast from a station file.

    python -m bench.predict            # all 25,000 test reviews, 3 rounds; the forecast 3 times
    python -m bench.predict --quick    # a smoke run: 2,000 reviews, one round

Needs the real-data mirror (../shared/datasets, or $SEQCONV_SHARED_DATASETS).

IMDB: the 25,000 test reviews of the mirror's imdb.npz are decoded back to text with the word index (once,
untimed: this is the raw text a user would send). Each round then times, in one process:
- `end to end`: tasks.serve.text.predict_reviews on every text (tokenize, word ranks, tasks.model.encoding.encode_reviews,
  model.predict in batches of 512, one output row per review): the judged figure, reviews/s (target >= 1,500);
- its parts, one after the other on the same texts: `tokenize + ranks` (text_to_ranks), `encode`
  (encode_reviews: offsets and padding), `model` (model.predict alone), to say where the time goes.
The model is an untrained tasks.model.architectures.build_imdb_conv (1,315,937 parameters): a trained one computes the same
operations. Its predict function is traced on a warm-up batch first.

Jena: an untrained jena_conv_gru (lookback 1440 rows, step 3, delay 144: the seed profile's) is saved to a
.keras file, with a normalization of the station file's own statistics. Each round times
`keras.models.load_model` (as saved), then tasks.serve.common.load_model (compile=False: all prediction needs), and
what a user waits for after that, on the latter: `windows` (forecast_windows: checks, the last 24 hours' 144
windows, normalization) and `forecast` (one predict call for every window, the first on the freshly loaded
model, tracing included; target <= 2 s for the two together), and a `second forecast` on the same model for
comparison. Reading the CSV (load_station_frames) is timed apart.

The machine may be busy with other work: each round records the load average, and CPU seconds are reported
beside wall seconds (they move less with the load).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import machine, write_figures

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("SEQCONV_SHARED_DATASETS", ROOT.parent / "shared" / "datasets"))
STATION_FILE = "mpi_roof_2024b.csv"  # 19,132 readings, ends 20.10.2024 08:10:00 on a whole grid
TARGET_REVIEWS_PER_S = 1_500  # the target, end to end on 2 cores, the model included
TARGET_FORECAST_S = 2.0  # the target: windows + forecast after the model is loaded
BATCH = 512  # reviews per model batch (tasks.serve.text.PREDICT_BATCH)
JENA = {"lookback": 1440, "step": 3, "delay": 144}  # jena_conv_gru's seed settings


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> dict[str, float]:
    wall, cpu = clock()
    return {"wall_s": wall - start[0], "cpu_s": cpu - start[1]}


def median_of(rounds: list[dict], part: str, key: str = "wall_s") -> float:
    return float(np.median([r[part][key] for r in rounds]))


# ---------------------------------------------------------------------------------------------------------------
# IMDB
# ---------------------------------------------------------------------------------------------------------------
def bench_imdb(n_reviews: int, rounds: int) -> dict:
    import keras

    from tasks.serve import text, tokens
    from tasks.model.imdb_conv import build_imdb_conv
    from tasks.model.encoding import encode_reviews
    from tasks.core.cache import file_sha256
    from tasks.ingest.imdb_reviews import load_imdb_npz, load_word_index

    npz = MIRROR / "imdb.npz"  # untrusted like any mirrored file: the pipeline's restricted unpickler reads it
    reviews = load_imdb_npz(npz, file_sha256(npz))["x_test"][:n_reviews]
    word_index = load_word_index(MIRROR / "imdb_word_index.json")
    words = {rank: word for word, rank in word_index.items()}
    texts = [" ".join(words[r] for r in review) for review in reviews]  # untimed: the raw text a user sends
    chars = sum(map(len, texts))
    print(f"IMDB: {len(texts):,} test reviews decoded to text ({chars / len(texts):,.0f} characters each on "
          f"average); untrained imdb_conv, batch {BATCH}", flush=True)

    keras.utils.set_random_seed(0)
    model = build_imdb_conv()
    text.predict_reviews(model, texts[:BATCH], word_index, batch_size=BATCH)  # warm-up: traces predict

    results = []
    for r in range(rounds):
        figures = {}
        start = clock()
        rows = text.predict_reviews(model, texts, word_index, batch_size=BATCH)
        figures["end to end"] = since(start)
        start = clock()
        encoded = tokens.text_to_ranks(texts, word_index)
        figures["tokenize + ranks"] = since(start)
        start = clock()
        x = encode_reviews(encoded.ranks, text.NUM_WORDS, text.MAXLEN)
        figures["encode"] = since(start)
        start = clock()
        probabilities = model.predict(x, batch_size=BATCH, verbose=0).reshape(-1)
        figures["model"] = since(start)
        assert len(rows) == len(texts) and rows[-1]["probability"] == float(probabilities[-1])
        figures["load_average_1min"] = os.getloadavg()[0]
        results.append(figures)
        e2e = figures["end to end"]["wall_s"]
        print(f"  round {r + 1}: end to end {len(texts) / e2e:,.0f} reviews/s ({e2e:.2f} s); parts: "
              + ", ".join(f"{k} {v['wall_s']:.2f} s" for k, v in figures.items() if isinstance(v, dict)
                          and k != "end to end") + f"; load average {figures['load_average_1min']:.1f}", flush=True)

    parts = ("end to end", "tokenize + ranks", "encode", "model")
    summary = {part: {"wall_s": median_of(results, part), "cpu_s": median_of(results, part, "cpu_s")}
               for part in parts}
    for part in parts:
        summary[part]["reviews_per_s"] = len(texts) / summary[part]["wall_s"]
        summary[part]["reviews_per_cpu_s"] = len(texts) / summary[part]["cpu_s"]
    parts_total = sum(summary[p]["wall_s"] for p in parts[1:])
    for part in parts[1:]:
        summary[part]["share_of_parts"] = summary[part]["wall_s"] / parts_total
    return {"reviews": len(texts), "mean_characters": chars / len(texts), "batch_size": BATCH, "rounds": results,
            "median": summary, "pass": summary["end to end"]["reviews_per_s"] >= TARGET_REVIEWS_PER_S}


# ---------------------------------------------------------------------------------------------------------------
# Jena
# ---------------------------------------------------------------------------------------------------------------
def bench_jena(rounds: int, folder: Path) -> dict:
    import keras

    from tasks.serve import common, series, stations
    from tasks.core.sources import JENA_TARGET
    from tasks.model.jena_conv_gru import build_jena_conv_gru

    start = clock()
    data = stations.load_station_frames([MIRROR / STATION_FILE])
    read = since(start)
    normalization = {"features": list(data.columns), "mean": data.features.mean(axis=0).tolist(),
                     "std": data.features.std(axis=0).tolist(), "target": JENA_TARGET,
                     "target_col": data.columns.index(JENA_TARGET), **JENA}
    keras.utils.set_random_seed(0)
    path = folder / "jena_conv_gru.keras"
    build_jena_conv_gru().save(path)
    print(f"\nJena: {STATION_FILE}, {len(data.seconds):,} readings read in {read['wall_s']:.2f} s; untrained "
          f"jena_conv_gru (lookback {JENA['lookback']}, step {JENA['step']}, delay {JENA['delay']}), "
          f"{path.stat().st_size / 1e3:.0f} kB .keras file", flush=True)

    results = []
    for r in range(rounds):
        figures = {}
        keras.backend.clear_session()
        start = clock()
        model = keras.models.load_model(path)
        figures["load_model"] = since(start)
        start = clock()
        model = common.load_model(path)  # compile=False: what prediction needs, no optimizer, no metrics
        figures["predict.load_model"] = since(start)
        start = clock()
        windows = series.forecast_windows(data.seconds, data.features, normalization, data.source,
                                               columns=data.columns)
        figures["windows"] = since(start)
        start = clock()
        result = series.forecast(model, windows)
        figures["forecast"] = since(start)
        start = clock()
        series.forecast(model, windows)
        figures["second forecast"] = since(start)
        figures["after load"] = {k: figures["windows"][k] + figures["forecast"][k] for k in ("wall_s", "cpu_s")}
        figures["load_average_1min"] = os.getloadavg()[0]
        results.append(figures)
        print(f"  round {r + 1}: " + ", ".join(f"{k} {v['wall_s']:.3f} s" for k, v in figures.items()
                                              if isinstance(v, dict)) + f"; load average "
              f"{figures['load_average_1min']:.1f}", flush=True)

    parts = ("load_model", "predict.load_model", "windows", "forecast", "second forecast", "after load")
    summary = {part: {"wall_s": median_of(results, part), "cpu_s": median_of(results, part, "cpu_s")}
               for part in parts}
    return {"file": STATION_FILE, "readings": len(data.seconds), "read_csv": read, "model": "jena_conv_gru",
            "settings": JENA, "windows": int(len(windows.reading_seconds)), "headline": result.headline,
            "rounds": results, "median": summary, "pass": summary["after load"]["wall_s"] <= TARGET_FORECAST_S}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.predict", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 reviews, one round each")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each part")
    parser.add_argument("--reviews", type=int, default=25_000, help="test reviews to predict on (at most 25,000)")
    parser.add_argument("--out", help="figures as JSON (default artifacts/bench/predict.json, "
                        "predict-quick.json with --quick)")
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
    imdb = bench_imdb(args.reviews, args.rounds)
    with tempfile.TemporaryDirectory() as folder:
        jena = bench_jena(args.rounds, Path(folder))

    m, j = imdb["median"], jena["median"]
    print(f"\nmedians over {args.rounds} round(s)")
    print(f"  {'IMDB part':26s} {'seconds':>8s} {'CPU s':>7s} {'reviews/s':>10s} {'per CPU s':>10s} {'share':>6s}")
    for part, f in m.items():
        share = f"{100 * f['share_of_parts']:5.1f}%" if "share_of_parts" in f else ""
        print(f"  {part:26s} {f['wall_s']:8.2f} {f['cpu_s']:7.2f} {f['reviews_per_s']:10,.0f} "
              f"{f['reviews_per_cpu_s']:10,.0f} {share:>6s}")
    print(f"  {'Jena part':26s} {'seconds':>8s} {'CPU s':>7s}")
    for part, f in j.items():
        print(f"  {part:26s} {f['wall_s']:8.3f} {f['cpu_s']:7.3f}")
    verdicts = [
        f"IMDB end to end {m['end to end']['reviews_per_s']:,.0f} reviews/s (target >= {TARGET_REVIEWS_PER_S:,}): "
        f"{'PASS' if imdb['pass'] else 'FAIL'}",
        f"Jena windows + forecast after load {j['after load']['wall_s']:.2f} s (target <= {TARGET_FORECAST_S:g} s): "
        f"{'PASS' if jena['pass'] else 'FAIL'}",
    ]
    print("\n" + "\n".join(verdicts))

    document = {
        "target": {"imdb_reviews_per_s": TARGET_REVIEWS_PER_S, "jena_seconds_after_load": TARGET_FORECAST_S},
        "units": {"wall_s": "seconds (wall clock)", "cpu_s": "CPU seconds of the whole process",
                  "reviews_per_s": "reviews per second (wall clock)",
                  "reviews_per_cpu_s": "reviews per CPU second of the process (moves less with others' load)",
                  "share_of_parts": "this part's wall time over the sum of the three parts'"},
        "machine": machine(load_before),
        "settings": {"rounds": args.rounds, "reviews": args.reviews, "quick": args.quick, "mirror": str(MIRROR)},
        "imdb": imdb,
        "jena": jena,
        "all_pass": imdb["pass"] and jena["pass"],
    }
    out = write_figures("predict", document, quick=args.quick, out=args.out)
    smoke = " (quick: a smoke run, too few reviews for a verdict)" if args.quick else ""
    print(f"\n{'PASS' if document['all_pass'] else 'FAIL'}: figures in {out}{smoke}")
    return 0 if document["all_pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
