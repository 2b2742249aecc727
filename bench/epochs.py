"""Seconds per training epoch of the Jena models side by side, in one process, at their seed settings.

    python -m bench.epochs --data-dir data     # jena_conv_gru, jena_tcn, jena_conv: 3 timed epochs each
    python -m bench.epochs --quick             # a smoke run: 20 batches an epoch, 1 timed epoch each
    python -m bench.epochs --models jena_tcn jena_conv_gru --epochs 5

Each model trains as tasks/model/train.py trains it: its `seed` settings (tasks.core.profiles.resolve_settings;
jena_conv_gru at the book's step 3, jena_conv and jena_tcn at step 6), except that every epoch is the book's 500
batches of 128 (jena_tcn's chosen settings train 125 a epoch: the same work per batch, a quarter of it per epoch,
which this comparison leaves out), the published
Jena dataset in --data-dir split as a run would split it (`auto`), the training windows through the project's
input pipeline (shuffled, repeated), op determinism on, validation on every window once per epoch as in a run.
The epochs alternate between the models (round r trains one epoch of each, the order reversed every other round),
so a burst of load from other work spoils one epoch of each rather than all of one model's; the first epoch of
each model (tracing, first pass of the pipeline) is trained before the timed rounds and not counted.

The judged figures: per model the median epoch (training and validation), and the median over rounds of the
per-round ratio jena_conv_gru's epoch / the model's, by wall clock and by process CPU seconds (the issue's target
for jena_tcn: at least 3x). Figures to artifacts/bench/epochs.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from bench import machine, write_figures

MODELS = ("jena_conv_gru", "jena_tcn", "jena_conv")
REFERENCE = "jena_conv_gru"  # the ratios are its epoch over each other model's
BOOK_STEPS, BOOK_BATCH = 500, 128  # the book's epoch: steps_per_epoch=500 of batch_size=128
TARGET_RATIO = 3.0  # the issue's: jena_tcn's epochs at least 3x faster than jena_conv_gru's


def prepare(name: str, data_dir: Path, steps: int):
    """A built model of the seed settings and its fit arguments (tasks.model.train's Jena path, minus the files)."""
    import dataclasses

    import keras

    from tasks.core.profiles import resolve_settings
    from tasks.model.architectures import build_model
    from tasks.model.dataset import dataset_path
    from tasks.model.series import jena_dataset, prepare_jena

    s = resolve_settings(name, "seed")
    s = dataclasses.replace(s, steps_per_epoch=steps, batch_size=BOOK_BATCH)
    data = prepare_jena(dataset_path(data_dir, "jena"), s)
    keras.utils.set_random_seed(s.seed)
    model = build_model(s, data.series.shape[1])
    _, train_ds = jena_dataset(data, "train", s, shuffle=True)
    _, val_ds = jena_dataset(data, "val", s, shuffle=False, limit_batches=s.validation_steps)
    fit_args = dict(x=train_ds.repeat(), validation_data=val_ds, steps_per_epoch=s.steps_per_epoch, shuffle=False,
                    verbose=0)
    described = {"step": s.step, "timesteps": s.lookback // s.step, "batch_size": s.batch_size,
                 "steps_per_epoch": s.steps_per_epoch, "parameters": int(model.count_params()),
                 "split": data.split, "train_windows": int(len(data.rows["train"])),
                 "val_windows": int(len(data.rows["val"]))}
    return model, fit_args, described


def timed_epoch(model, fit_args: dict, epoch: int) -> dict[str, float]:
    """One epoch (training, then validation), continuing from `epoch`: its wall and process CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(initial_epoch=epoch, epochs=epoch + 1, **fit_args)
    return {"seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.epochs", description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS), help="which models to run")
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="holds processed/jena (ingested)")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per model, after one untimed")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20 batches an epoch, 1 timed epoch")
    parser.add_argument("--out", help="figures as JSON (default artifacts/bench/epochs.json, epochs-quick.json "
                        "with --quick)")
    args = parser.parse_args(argv)
    steps = 20 if args.quick else BOOK_STEPS
    epochs = 1 if args.quick else args.epochs

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    from tasks.core.errors import SeqconvError

    tf.config.experimental.enable_op_determinism()  # as train_model does with TrainSettings.deterministic
    load_before = os.getloadavg()
    print(f"{epochs} timed epoch(s) per model after 1 untimed; {os.cpu_count()} CPUs, load average "
          f"{load_before[0]:.1f}", flush=True)
    try:
        runs = {name: prepare(name, args.data_dir, steps) for name in args.models}
    except SeqconvError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    results: dict[str, dict] = {}
    for name, (model, fit_args, described) in runs.items():
        first = timed_epoch(model, fit_args, 0)
        results[name] = {"inputs": described, "first_epoch": first, "epochs": []}
        print(f"  {name:14s} first epoch {first['seconds']:6.1f} s (untimed: tracing)", flush=True)
    order = list(runs)
    for r in range(epochs):
        for name in order if r % 2 == 0 else order[::-1]:
            model, fit_args, _ = runs[name]
            results[name]["epochs"].append(timed_epoch(model, fit_args, r + 1))
    for result in results.values():
        for key in ("seconds", "cpu_seconds"):
            result[key] = float(np.median([e[key] for e in result["epochs"]]))
    reference = results.get(REFERENCE)
    print(f"\nmedian epoch over {epochs} timed epoch(s){' (quick: 20 batches)' if args.quick else ''}; "
          f"{REFERENCE}'s epoch / the model's, median of the rounds' ratios")
    print(f"  {'model':14s} {'params':>7s} {'step':>4s} {'s/epoch':>8s} {'CPU s':>7s} {'ratio':>7s} {'CPU ratio':>9s}"
          f"   ratio per round")
    for name, result in results.items():
        if reference:
            result["ratios"] = [r["seconds"] / e["seconds"] for r, e in zip(reference["epochs"], result["epochs"])]
            result["speedup"] = float(np.median(result["ratios"]))
            result["cpu_speedup"] = float(np.median([r["cpu_seconds"] / e["cpu_seconds"]
                                                     for r, e in zip(reference["epochs"], result["epochs"])]))
        ratio, cpu_ratio = ((f"{result['speedup']:.2f}x", f"{result['cpu_speedup']:.2f}x") if reference
                            else ("-", "-"))
        print(f"  {name:14s} {result['inputs']['parameters']:7,d} {result['inputs']['step']:4d} "
              f"{result['seconds']:8.1f} {result['cpu_seconds']:7.1f} {ratio:>7s} {cpu_ratio:>9s}   "
              + ", ".join(f"{x:.2f}" for x in result.get("ratios", [])))
    if reference and "jena_tcn" in results:
        tcn = results["jena_tcn"]
        tcn["pass"] = min(tcn["speedup"], tcn["cpu_speedup"]) >= TARGET_RATIO
        print(f"jena_tcn: epochs {tcn['speedup']:.2f}x faster than {REFERENCE}'s ({tcn['cpu_speedup']:.2f}x in CPU "
              f"seconds): {'PASS' if tcn['pass'] else 'FAIL'} (target >= {TARGET_RATIO:g}x, both)")
    path = write_figures("epochs", {"machine": machine(load_before), "timed_epochs": epochs, "results": results},
                         quick=args.quick, out=args.out)
    print(f"figures: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
