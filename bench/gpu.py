"""On a GPU: per-epoch seconds of each model (float32 and mixed float16), input waits, and windows gathered there.

    python -m bench.gpu                 # on a GPU machine, under 10 minutes; figures to artifacts/bench/gpu.json
    python -m bench.gpu --quick         # a smoke run of every case, a few batches each (a CPU will do)

The prepared script of the benchmarks issue for the times a GPU is at hand. It needs no dataset: speed does not
depend on the values, so it trains on random data of the real shapes. In this order (a case that would start after
`--budget-s`, or would likely end after it, is skipped and recorded as skipped; the JSON is rewritten after every
case, so a run killed at its limit still leaves what it measured):

1. `epochs`, float32: each model trained as the `seed` profile trains it (tasks.core.config PUBLISHED settings,
   tasks.model.train.build_model, tasks.model.windows pipelines, op determinism on) for `--epochs` epochs: Jena on a
   classic-size series (420,551 x 14, the book's splits: 500 training batches of 128 and every validation window,
   about 770 batches, per epoch), IMDB on 20,000 + 5,000 reviews of 500 word ids (batch 32). Seconds of every
   epoch; the last is the steady figure (the first also traces and autotunes).
2. `input_wait`: bench.input_pipeline's comparison on this device: training steps/s through the pipeline against
   the same batches already in memory; the share of a step spent waiting for input is 1 - pipeline / in-memory.
3. `device_gather`: Jena windows per second gathered on the device from the resident series (tasks.model.windows
   .window_gather under tf.device: anchors in, windows out) against the host tf.data pipeline and the book's
   generator, shuffled training windows at steps 6 and 3.
4. `epochs`, mixed float16 (TrainSettings.mixed_precision), each model again.

A case that fails (an op without a deterministic GPU kernel, say) is recorded with its error and the run goes on.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench import machine

from bench.input_pipeline import CLASSIC_ROWS, N_FEATURES, START
from bench.input_pipeline import IMDB_REVIEWS as IMDB_TRAIN  # the seed profile's 20,000 training reviews

ROOT = Path(__file__).resolve().parents[1]
IMDB_VAL = 5_000  # the seed profile's validation reviews: the last 20% of the 25,000
MODELS = ("imdb_conv", "jena_conv", "jena_conv_gru_fast", "jena_conv_gru")  # slowest last: the budget cuts there
PUBLISHED_EPOCH_SECONDS = {"imdb_conv": 20, "jena_conv": 15, "jena_conv_gru": 140}  # the book, on its GPU


class EpochClock:
    """Wall seconds of every epoch, validation included."""

    def __init__(self):
        import keras

        clock = self

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                clock.started = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                clock.seconds.append(round(time.perf_counter() - clock.started, 2))

        self.callback = Callback()
        self.seconds: list[float] = []
        self.started = 0.0


def jena_data(rows: int, s):
    """tasks.model.series.SeriesData over a random series with a complete 10-minute grid and the book's splits."""
    from tasks.core.sources import JENA_FEATURES
    from tasks.model.series import SeriesData
    from tasks.model.normalizer import Normalizer
    from tasks.model.splits import split_rows
    from tasks.model.windows import JENA_TARGET_COL, window_rows

    rng = np.random.default_rng(0)
    series = rng.standard_normal((rows, N_FEATURES), dtype=np.float32)  # (rows, features), "normalized"
    seconds = START + 600 * np.arange(rows, dtype=np.int64)
    splits = {name: [bounds] for name, bounds in split_rows(rows).items()}  # the contiguous split: one range each
    anchors = {name: window_rows(seconds, ranges, s.lookback, s.delay, s.max_gap_minutes)
               for name, ranges in splits.items()}
    normalizer = Normalizer([0.0] * N_FEATURES, [1.0] * N_FEATURES, JENA_FEATURES)
    return SeriesData(series, seconds, normalizer, splits, anchors, JENA_TARGET_COL)


def train_epochs(model_name: str, *, mixed: bool, epochs: int, quick: bool, rows: int) -> dict:
    """Per-epoch seconds of one model trained as the seed profile trains it, on random data."""
    import keras
    import tensorflow as tf

    from tasks.core.profiles import resolve_settings
    from tasks.model.series import jena_dataset
    from tasks.model.train import build_model, describe_device

    s = replace(resolve_settings(model_name, "seed"), mixed_precision=mixed, epochs=epochs)
    if quick:
        s = replace(s, steps_per_epoch=3, validation_steps=2)
    keras.utils.set_random_seed(s.seed)
    tf.config.experimental.enable_op_determinism()  # as TrainSettings.deterministic does in training
    device = describe_device()
    clock = EpochClock()
    if s.family == "imdb":
        rng = np.random.default_rng(0)
        n_train, n_val = (64, 32) if quick else (IMDB_TRAIN, IMDB_VAL)
        x = rng.integers(0, s.num_words, (n_train + n_val, s.maxlen), dtype=np.int32)  # (reviews, maxlen)
        y = rng.integers(0, 2, n_train + n_val).astype(np.float32)
        fit_args = dict(x=x[:n_train], y=y[:n_train], validation_data=(x[n_train:], y[n_train:]),
                        batch_size=s.batch_size)
        shape = {"train_reviews": n_train, "val_reviews": n_val, "batch_size": s.batch_size}
        n_features = 0
    else:
        data = jena_data(rows, s)
        _, train_ds = jena_dataset(data, "train", s, shuffle=True)
        val_rows, val_ds = jena_dataset(data, "val", s, shuffle=False, limit_batches=s.validation_steps)
        fit_args = dict(x=train_ds.repeat(), validation_data=val_ds, steps_per_epoch=s.steps_per_epoch,
                        shuffle=False)
        shape = {"rows": rows, "steps_per_epoch": s.steps_per_epoch, "step": s.step,
                 "val_batches": -(-len(val_rows) // s.batch_size), "batch_size": s.batch_size}
        n_features = N_FEATURES
    model = build_model(s, device.strategy, n_features, on_gpu=device.gpus > 0 or (mixed and quick))
    model.fit(epochs=s.epochs, callbacks=[clock.callback], verbose=0, **fit_args)
    return {"device": device.name, "policy": model.dtype_policy.name, "epoch_seconds": clock.seconds,
            "steady_epoch_seconds": clock.seconds[-1], "data": shape,
            "published_epoch_seconds": PUBLISHED_EPOCH_SECONDS.get(model_name)}


def input_wait(model_name: str, *, quick: bool, rows: int) -> dict:
    """bench.input_pipeline on this device: the share of a training step spent waiting for the input."""
    from bench.input_pipeline import run_model

    steps, rounds = (3, 1) if quick else (60, 3)  # a GPU step takes milliseconds: more steps per measurement
    r = run_model(model_name, steps, warmup=2 if quick else 5, rounds=rounds, rows=rows)
    return {"pipeline_steps_per_s": r["pipeline"]["steps_per_s"], "in_memory_steps_per_s":
            r["in-memory"]["steps_per_s"], "ratio": r["ratio"], "ratios": r["ratios"],
            "wait_fraction": max(0.0, 1.0 - r["ratio"])}


def device_gather(step: int, *, quick: bool, rows: int) -> dict:
    """Shuffled training windows per second: gathered on the device, through tf.data on the host, by the book."""
    import tensorflow as tf

    from tasks.model.windows import JENA_TARGET_COL, make_window_dataset, window_gather, window_rows
    from tests.support.book import generator

    lookback, delay, batch_size = 1440, 144, 128
    batches = 5 if quick else 200
    rng = np.random.default_rng(0)
    series = rng.standard_normal((rows, N_FEATURES), dtype=np.float32)
    seconds = START + 600 * np.arange(rows, dtype=np.int64)
    last_train = min(200_000, rows - 1)
    anchors = window_rows(seconds, (0, last_train), lookback, delay, max_gap_minutes=360)
    shuffled = rng.permutation(anchors)[: (batches + 1) * batch_size].reshape(batches + 1, batch_size)
    device = "/GPU:0" if tf.config.list_logical_devices("GPU") else "/CPU:0"

    with tf.device(device):
        gather = tf.function(window_gather(series, lookback=lookback, step=step, delay=delay,
                                           target_col=JENA_TARGET_COL))
        anchor_batches = [tf.constant(b) for b in shuffled]  # resident, like the series
        windows, _ = gather(anchor_batches[0])  # traces; not timed
        float(windows[0, 0, 0])
        started = time.perf_counter()
        for b in anchor_batches[1:]:
            windows, _ = gather(b)
        float(windows[0, 0, 0])  # waits for the device to finish the queued gathers
        device_s = (time.perf_counter() - started) / batches

    host = iter(make_window_dataset(series, anchors, lookback=lookback, step=step, delay=delay,
                                    target_col=JENA_TARGET_COL, batch_size=batch_size, shuffle=True, seed=0))
    next(host)
    started = time.perf_counter()
    for _ in range(batches):
        next(host)
    host_s = (time.perf_counter() - started) / batches

    book = generator(series, lookback, delay, 0, last_train, shuffle=True, batch_size=batch_size, step=step)
    next(book)
    book_batches = max(3, batches // 20)  # ~10-20 ms a batch: a few are enough
    started = time.perf_counter()
    for _ in range(book_batches):
        next(book)
    book_s = (time.perf_counter() - started) / book_batches
    return {"device": device, "batches": batches, "ms_per_batch": {"device_gather": 1e3 * device_s,
            "host_pipeline": 1e3 * host_s, "book": 1e3 * book_s},
            "device_over_book": book_s / device_s, "device_over_host": host_s / device_s}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: a few batches per case")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per model and precision (default 2)")
    parser.add_argument("--budget-s", type=float, default=540, help="start no case after this many seconds")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--rows", type=int, default=CLASSIC_ROWS, help="rows of the random Jena series")
    parser.add_argument("--out", help="figures as JSON (default artifacts/bench/gpu.json, gpu-quick.json with --quick)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    out = Path(args.out or ROOT / "artifacts" / "bench" / ("gpu-quick.json" if args.quick else "gpu.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    from tasks.model.device import build_lines, tensorflow_build

    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    build = tensorflow_build()
    document = {
        "units": {"epoch_seconds": "wall seconds per epoch, validation included", "wait_fraction":
                  "share of a training step waiting for input (1 - pipeline / in-memory steps/s)",
                  "ms_per_batch": "milliseconds per batch of 128 windows"},
        "machine": {"gpus": gpus, **machine()},
        "tensorflow_build": build,  # seqconv doctor's view: CUDA build, the NVIDIA wheels (gpu extra), GPUs seen
        "settings": {"epochs": args.epochs, "quick": args.quick, "budget_s": args.budget_s, "rows": args.rows},
        "epochs": {}, "input_wait": {}, "device_gather": {}, "skipped": [], "errors": {},
    }
    print(f"devices: {gpus or 'no GPU: CPU only'}; budget {args.budget_s:.0f} s", flush=True)
    print("\n".join(build_lines(build)), flush=True)
    began = time.perf_counter()
    spent: dict[str, float] = {}  # seconds each float32 case took: the estimate for its mixed-precision twin

    def run(section: str, key: str, work, estimate: float = 0.0) -> None:
        elapsed = time.perf_counter() - began
        if elapsed + estimate > args.budget_s:
            document["skipped"].append(f"{section}/{key}")
            print(f"  skipped {section}/{key}: {elapsed:.0f} s spent, about {estimate:.0f} s more needed", flush=True)
            return
        started = time.perf_counter()
        try:
            document[section][key] = work()
        except Exception as e:  # noqa: BLE001 - a failing case is a finding; record it and go on
            document["errors"][f"{section}/{key}"] = f"{type(e).__name__}: {e}"
            traceback.print_exc()
        seconds = time.perf_counter() - started
        spent[key] = seconds
        print(f"  {section}/{key}: {seconds:.0f} s -> {json.dumps(document[section].get(key))[:300]}", flush=True)
        out.write_text(json.dumps(document, indent=2) + "\n")

    for name in args.models:
        run("epochs", f"{name}/float32",
            lambda: train_epochs(name, mixed=False, epochs=args.epochs, quick=args.quick, rows=args.rows))
    for name in args.models:
        run("input_wait", name, lambda: input_wait(name, quick=args.quick, rows=args.rows))
    for step in (6, 3):
        run("device_gather", f"step{step}", lambda: device_gather(step, quick=args.quick, rows=args.rows))
    for name in args.models:
        run("epochs", f"{name}/mixed_float16",
            lambda: train_epochs(name, mixed=True, epochs=args.epochs, quick=args.quick, rows=args.rows),
            estimate=spent.get(f"{name}/float32", 0.0))

    document["seconds"] = round(time.perf_counter() - began, 1)
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\n{'model':20s} {'precision':14s} {'s/epoch (steady)':>16s} {'published s/epoch':>18s}")
    for key, r in document["epochs"].items():
        name, policy = key.split("/")
        published = r["published_epoch_seconds"]
        print(f"{name:20s} {policy:14s} {r['steady_epoch_seconds']:16.2f} {published if published else '-':>18}")
    for name, r in document["input_wait"].items():
        print(f"input wait {name:20s} {100 * r['wait_fraction']:5.1f}% (pipeline / in-memory {r['ratio']:.3f})")
    for key, r in document["device_gather"].items():
        ms = r["ms_per_batch"]
        print(f"windows {key}: on {r['device']} {ms['device_gather']:.3f} ms/batch, host pipeline "
              f"{ms['host_pipeline']:.3f}, book {ms['book']:.2f}: {r['device_over_book']:.0f}x the book")
    print(f"figures in {out}; skipped: {document['skipped'] or 'none'}; errors: {list(document['errors']) or 'none'}")
    return 1 if document["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
