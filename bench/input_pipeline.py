"""Training steps per second through the project's input pipeline against the same batches already in memory.

    python -m bench.input_pipeline            # the four models, figures to artifacts/bench/input_pipeline.json
    python -m bench.input_pipeline --quick    # a smoke run (under a minute)
    python -m bench.input_pipeline --models jena_conv imdb_conv

For each model (tasks.model.architectures builders, the published settings of tasks.core.config), in one process:

- `pipeline`: `model.fit` fed as tasks/train.py feeds it: for the Jena models make_window_dataset over the
  training anchors of a classic-size random series (420,551 x 14 float32, a complete 10-minute grid),
  shuffled and `.repeat()`ed, lookback 1440, delay 144, batch 128, step 6 (jena_conv) or 3 (conv-GRUs); for
  imdb_conv the numpy arrays themselves (`fit(x, y, batch_size=32)`, Keras' own shuffling and slicing) of
  20,000 reviews of random word ids, 500 a review;
- `in-memory`: `model.fit` on batches taken beforehand from that same pipeline and stacked into one resident
  tensor per part, one dataset element per batch (`Dataset.from_tensor_slices` of (batches, batch, ...) arrays,
  `.repeat()`): no gather, no shuffle, no batching left to do.

Both sides train the same compiled model, so its traced train step is shared. Steps are timed inside `fit` by a
callback, from the end of the `--warmup`th batch to the end of the last, so fit's set-up (iterator, array
conversion) is not counted. The sides alternate for `--rounds` rounds (order reversed every other round); the
judged figure is the median over rounds of the per-round ratio pipeline / in-memory steps/s (target >= 0.95:
the input pipeline never starves the model), beside the median absolute rates. Op determinism is on, as in the
project's training (TrainSettings.deterministic).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from bench import machine, write_figures

ROOT = Path(__file__).resolve().parents[1]
CLASSIC_ROWS = 420_551  # rows of jena_climate_2009_2016.csv
N_FEATURES = 14  # the classic file's measurements
TRAIN_ROWS = (0, 200_000)  # the book's training rows, inclusive
START = 1_230_768_600  # 2009-01-01 00:10:00 UTC, the classic file's first reading
IMDB_REVIEWS = 20_000  # the seed profile's training reviews (25,000 less the 20% validation split)
TARGET_RATIO = 0.95  # the target: pipeline steps/s at least 95% of in-memory steps/s
MODELS = ("jena_conv", "jena_conv_gru", "jena_conv_gru_fast", "imdb_conv")
# Timed steps per measurement: about 2 s each, so that many short alternating rounds (pairs close in time, on a
# machine shared with other work: one burst of load spoils one ratio, not the median) fit in about 6 minutes on
# 2 cores, fit's ~1-2 s of set-up per measurement included; a conv-GRU step takes ~5x a jena_conv step.
STEPS = {"jena_conv": 40, "jena_conv_gru": 12, "jena_conv_gru_fast": 12, "imdb_conv": 16}


class StepClock:
    """Timestamps (wall, process CPU) at the end of every training batch."""

    def __init__(self):
        import keras

        class Callback(keras.callbacks.Callback):
            def on_train_batch_end(cb, batch, logs=None):  # noqa: N805 - the clock is the outer self
                self.marks.append((time.perf_counter(), time.process_time()))

        self.callback = Callback()
        self.marks: list[tuple[float, float]] = []


def timed_fit(model, clock: StepClock, steps: int, warmup: int, **fit_args) -> dict[str, float]:
    """One `fit` of warmup + steps batches; the rate over the last `steps` (from the end of batch `warmup`)."""
    clock.marks = []
    model.fit(epochs=1, steps_per_epoch=warmup + steps, verbose=0, callbacks=[clock.callback], **fit_args)
    (wall_0, cpu_0), (wall_1, cpu_1) = clock.marks[warmup - 1], clock.marks[-1]
    return {"steps_per_s": steps / (wall_1 - wall_0), "ms_per_step": 1e3 * (wall_1 - wall_0) / steps,
            "cpu_ms_per_step": 1e3 * (cpu_1 - cpu_0) / steps}


def in_memory(dataset_or_arrays, batches: int):
    """`batches` batches of a dataset (or of arrays, in order, as fit would cut them) as one resident dataset."""
    import tensorflow as tf

    if isinstance(dataset_or_arrays, tf.data.Dataset):
        taken = [(x.numpy(), y.numpy()) for x, y in dataset_or_arrays.take(batches)]
        x, y = np.stack([b[0] for b in taken]), np.stack([b[1] for b in taken])  # (batches, batch, ...)
    else:
        (x, y), size = dataset_or_arrays
        x = x[: batches * size].reshape(batches, size, *x.shape[1:])
        y = y[: batches * size].reshape(batches, size)
    def any_batch_size(x, y):
        # The pipeline's batch dimension is unknown (None); erase the static 128 here too, so both sides feed
        # the same element spec and run the same traced train step.
        return (tf.raw_ops.PlaceholderWithDefault(input=x, shape=[None, *x.shape[1:]]),
                tf.raw_ops.PlaceholderWithDefault(input=y, shape=[None]))

    # One element per batch, already in memory: slicing it out is all the work left.
    return tf.data.Dataset.from_tensor_slices((x, y)).map(any_batch_size).repeat()


def make_inputs(model_name: str, batches: int, rows: int) -> tuple[dict, dict, dict]:
    """fit arguments of both sides, and what they were built from."""
    from tasks.core.config import PUBLISHED, TrainSettings
    from tasks.model.windows import JENA_TARGET_COL, make_window_dataset, window_rows

    s = TrainSettings(model=model_name, **PUBLISHED[model_name])
    rng = np.random.default_rng(0)
    if s.family == "imdb":
        x = rng.integers(0, s.num_words, (IMDB_REVIEWS, s.maxlen), dtype=np.int32)  # (reviews, maxlen) ids
        y = rng.integers(0, 2, IMDB_REVIEWS).astype(np.int64)  # (reviews,) 0/1
        pipeline = dict(x=x, y=y, batch_size=s.batch_size)  # as train.py: Keras slices and shuffles the arrays
        described = {"reviews": IMDB_REVIEWS, "maxlen": s.maxlen, "num_words": s.num_words}
        memory = dict(x=in_memory(((x, y), s.batch_size), batches), shuffle=False)
        return pipeline, memory, {**described, "batch_size": s.batch_size}
    series = rng.standard_normal((rows, N_FEATURES), dtype=np.float32)  # (rows, features), already "normalized"
    seconds = START + 600 * np.arange(rows, dtype=np.int64)
    anchors = window_rows(seconds, TRAIN_ROWS, s.lookback, s.delay, s.max_gap_minutes)

    def windows():
        return make_window_dataset(series, anchors, lookback=s.lookback, step=s.step, delay=s.delay,
                                   target_col=JENA_TARGET_COL, batch_size=s.batch_size, shuffle=True, seed=s.seed)

    pipeline = dict(x=windows().repeat(), shuffle=False)  # as train.py: the dataset shuffles itself
    described = {"rows": rows, "windows": int(len(anchors)), "lookback": s.lookback, "step": s.step,
                 "delay": s.delay, "batch_size": s.batch_size}
    return pipeline, dict(x=in_memory(windows(), batches), shuffle=False), described


def run_model(model_name: str, steps: int, warmup: int, rounds: int, rows: int) -> dict:
    """Alternate pipeline and in-memory fits of one model; per side the per-round figures and their medians."""
    import keras

    from tasks.core.profiles import resolve_settings
    from tasks.model.architectures import build_model

    keras.utils.set_random_seed(1337)
    pipeline, memory, described = make_inputs(model_name, warmup + steps, rows)
    model = build_model(resolve_settings(model_name, "seed"))
    clock = StepClock()
    sides = {"pipeline": pipeline, "in-memory": memory}
    for args in sides.values():  # traces the train step for each input signature; not timed
        model.fit(epochs=1, steps_per_epoch=2, verbose=0, **args)
    per_round: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
    order = list(sides)
    for r in range(rounds):
        for name in order if r % 2 == 0 else order[::-1]:
            per_round[name].append(timed_fit(model, clock, steps, warmup, **sides[name]))
    result: dict = {"inputs": described, "steps_per_measurement": steps, "warmup_steps": warmup}
    for name, figures in per_round.items():
        result[name] = {key: float(np.median([f[key] for f in figures])) for key in figures[0]}
        result[name]["rounds"] = figures
    ratios = [p["steps_per_s"] / m["steps_per_s"] for p, m in zip(per_round["pipeline"], per_round["in-memory"])]
    result["ratio"] = float(np.median(ratios))  # pipeline steps/s over in-memory steps/s, same round
    result["ratios"] = ratios
    # The same with CPU time: how much work the pipeline adds per step, whatever the other jobs do to wall time.
    result["cpu_ratio"] = float(np.median([m["cpu_ms_per_step"] / p["cpu_ms_per_step"]
                                           for p, m in zip(per_round["pipeline"], per_round["in-memory"])]))
    result["pass"] = result["ratio"] >= TARGET_RATIO
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.input_pipeline", description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS), help="which models to run")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round of a few steps per model")
    parser.add_argument("--rounds", type=int, default=11, help="rounds of alternating measurements per model")
    parser.add_argument("--steps", type=int, help="timed steps per measurement (default: per model, see STEPS)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps at the start of each fit")
    parser.add_argument("--rows", type=int, default=CLASSIC_ROWS, help="rows of the random Jena series")
    parser.add_argument("--out", help="figures as JSON (default artifacts/bench/input_pipeline.json, "
                        "input_pipeline-quick.json with --quick)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.warmup = 1, 2

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()  # as train_model does with TrainSettings.deterministic
    load_before = os.getloadavg()
    print(f"{args.rounds} rounds per model, {args.warmup} warm-up steps per fit; {os.cpu_count()} CPUs, "
          f"load average {load_before[0]:.1f}", flush=True)
    results = {}
    for name in args.models:
        steps = args.steps or (3 if args.quick else STEPS[name])
        started = time.perf_counter()
        results[name] = run_model(name, steps, args.warmup, args.rounds, args.rows)
        results[name]["seconds"] = round(time.perf_counter() - started, 1)
        r = results[name]
        print(f"  {name:19s} {r['pipeline']['steps_per_s']:7.2f} steps/s pipeline, "
              f"{r['in-memory']['steps_per_s']:7.2f} in memory ({r['seconds']:.0f} s)", flush=True)

    print(f"\nmedians over rounds ({'quick: ' if args.quick else ''}steps timed per fit in brackets)")
    print(f"  {'model':23s} {'pipeline':>9s} {'in memory':>10s} {'pipeline':>9s} {'in memory':>10s} "
          f"{'pipeline':>9s} {'in memory':>10s} {'ratio':>11s} {'CPU ratio':>9s}   ratio per round")
    print(f"  {'':23s} {'steps/s':>9s} {'steps/s':>10s} {'ms/step':>9s} {'ms/step':>10s} "
          f"{'CPU ms':>9s} {'CPU ms':>10s} {f'>= {TARGET_RATIO}':>11s}")
    for name, r in results.items():
        p, m = r["pipeline"], r["in-memory"]
        label = f"{name} [{r['steps_per_measurement']}]"
        print(f"  {label:23s} {p['steps_per_s']:9.2f} {m['steps_per_s']:10.2f} "
              f"{p['ms_per_step']:9.1f} {m['ms_per_step']:10.1f} {p['cpu_ms_per_step']:9.1f} "
              f"{m['cpu_ms_per_step']:10.1f} {r['ratio']:6.3f} {'PASS' if r['pass'] else 'FAIL'} "
              f"{r['cpu_ratio']:9.3f}   "
              f"{', '.join(f'{x:.2f}' for x in r['ratios'])}")

    all_pass = all(r["pass"] for r in results.values())
    document = {
        "target": {"pipeline_over_in_memory_steps_per_s": TARGET_RATIO},
        "units": {"steps_per_s": "training steps per second (wall clock)", "ms_per_step": "milliseconds (wall)",
                  "cpu_ms_per_step": "CPU milliseconds of the whole process per step",
                  "ratio": "x, median over rounds of pipeline steps/s / in-memory steps/s in the same round",
                  "cpu_ratio": "x, median over rounds of in-memory CPU ms per step / pipeline CPU ms per step",
                  "seconds": "seconds (wall) for the model's whole measurement"},
        "machine": machine(load_before),
        "settings": {"rounds": args.rounds, "warmup_steps": args.warmup, "quick": args.quick,
                     "op_determinism": True},
        "models": results,
        "all_pass": all_pass,
    }
    out = write_figures("input_pipeline", document, quick=args.quick, out=args.out)
    smoke = " (quick: a smoke run, too few batches for a verdict)" if args.quick else ""
    print(f"{'PASS' if all_pass else 'FAIL'}: figures in {out}{smoke}")
    return 0 if all_pass else 1


if __name__ == "__main__":
    sys.exit(main())
