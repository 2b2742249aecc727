"""Peak memory of the IMDB bag-of-words baseline (dense multi-hot matrices vs per-batch) and of a whole IMDB run.

    python -m bench.memory                    # ingest the real IMDB files, 2 rounds of old/new, then a whole run
    python -m bench.memory --data-dir DIR     # reuse an ingested data dir (holding processed/imdb)
    python -m bench.memory --old-tree DIR     # also the whole run from another checkout (e.g. the code before)
    python -m bench.memory --stages           # also the run's steps one at a time: where its peak comes from
    python -m bench.memory --other-seeds 1 2  # also old and new with other seeds: the spread of the accuracies
    python -m bench.memory --quick            # a smoke run: one round of the baseline cases, nothing else

Every case runs in a fresh Python process, reaped with `os.wait4`, whose `ru_maxrss` is the peak RSS of that
process and of every descendant it reaped (the largest one, not their sum); the parent also samples the summed RSS
of the child's whole process tree every 0.2 s (the Prefect temporary server of a flow run included).

- `bow-old`: the baseline as it was before per-batch inputs (a private copy below, verbatim but for names): dense
  multi-hot matrices of the training and validation reviews (20,000 and 5,000 x 10,000 float32), given to `fit`
  as arrays; prediction in chunks of 4,096 reviews.
- `bow-new`: tasks.judge.baselines.fit_bag_of_words and bag_of_words_metrics, whose rows are built per batch
  (tasks.model.encoding.multi_hot_batches).

Both fit the seed profile's baseline (bow_epochs, batch 512, its seed, op determinism on, as tasks.model.train) on the
data a seed run prepares (tasks.model.text.prepare_imdb), then score validation and test. Each reports its RSS after
each stage, seconds per epoch (a callback added to every `fit`), validation and test accuracy, and a digest of the
trained weights: the two `bow-new` runs of a round pair must agree on it (same seed, same weights). The old and
new sides alternate (old, new, new, old, ...) and the epoch-time ratio is the median of per-round ratios.

- `run`: RUN_COMMAND, a whole IMDB run with the seed settings but one epoch, on the same data; with
  `--old-tree DIR` the same command again from DIR (`git archive <commit> | tar -x -C DIR` of the code before).
- `stages` (`--stages`): the steps of that run as plain function calls (tasks.model.text's prepare_imdb,
  tasks.model.train's build_model, fit, predict, the baseline), with the process's RSS, its anonymous part and its
  mapped files after each step.

Figures to artifacts/bench/memory.json. The target (issue 9 §3): the whole run under 1.5 GiB.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import machine, write_figures

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MIRROR = ROOT.parent / "shared" / "datasets"  # the read-only real-data mirror beside the checkout
# The train flow is being refactored: if its command line changes, change these two and rerun.
INGEST_COMMAND = ["-m", "flows.ingest", "imdb", "--mirror", "{mirror}", "--data-dir", "{data_dir}"]
RUN_COMMAND = ["-m", "flows.train", "--model", "imdb_conv", "--profile", "seed", "--set", "epochs=1",
               "--data-dir", "{data_dir}", "--artifacts-dir", "{artifacts_dir}"]
TARGET_BYTES = int(1.5 * 1024**3)  # the target for the whole IMDB run
PROFILE = "seed"  # the settings the baseline is fitted with (bow_epochs, seed)
BOW_BATCH_SIZE = 512  # tasks.model.train's batch size for the baseline
OLD_PREDICT_CHUNK = 4096  # reviews multi-hot encoded at a time for prediction, the old way
SAMPLE_S = 0.2  # seconds between samples of a process tree's summed RSS


# ---------------------------------------------------------------------------------------------------------------
# The old way, kept here for the comparison: dense matrices of whole splits (tasks/evaluate.py before per-batch)
# ---------------------------------------------------------------------------------------------------------------
def old_multi_hot(sequences, num_words):
    """tasks.model.encoding.multi_hot as it was: one dense (reviews, num_words) float32 matrix, a Python loop per review."""
    import numpy as np

    out = np.zeros((len(sequences), num_words), dtype=np.float32)  # (reviews, words)
    for i, ids in enumerate(sequences):
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= num_words):
            raise SystemExit(f"review {i} holds an id outside 0..{num_words - 1}")
        out[i, ids] = 1.0
    return out


def old_fit_bag_of_words(train_reviews, train_labels, val_reviews, val_labels, *, epochs, batch_size, seed,
                         num_words):
    """fit_bag_of_words before per-batch inputs (its checks left out): dense matrices given to fit as arrays."""
    import keras
    import numpy as np

    from tasks.model.bag_of_words import build_bag_of_words

    train_labels = np.asarray(train_labels, dtype=np.float32).reshape(-1)
    val_labels = np.asarray(val_labels, dtype=np.float32).reshape(-1)
    validation_data = (old_multi_hot(val_reviews, num_words), val_labels)
    keras.utils.set_random_seed(seed)
    model = build_bag_of_words(num_words)
    model.fit(old_multi_hot(train_reviews, num_words), train_labels, epochs=epochs, batch_size=batch_size,
              validation_data=validation_data, verbose=0)
    return model


def old_bag_of_words_metrics(model, reviews, labels) -> dict:
    """bag_of_words_metrics before per-batch inputs: chunks of OLD_PREDICT_CHUNK dense rows, predict's batch 32."""
    import numpy as np

    from tasks.judge.metrics import binary_metrics

    num_words = int(model.input_shape[-1])
    probs = [model.predict(old_multi_hot(reviews[i : i + OLD_PREDICT_CHUNK], num_words), verbose=0).reshape(-1)
             for i in range(0, len(reviews), OLD_PREDICT_CHUNK)]
    return binary_metrics(labels, np.concatenate(probs))


# ---------------------------------------------------------------------------------------------------------------
# One baseline case, in its own process
# ---------------------------------------------------------------------------------------------------------------
def memory_now() -> dict[str, int]:
    """This process's current and peak RSS in bytes (Linux /proc), and the current RSS's anonymous part and
    pages of mapped files (shared libraries: `import tensorflow` alone maps about 550 MB of them)."""
    names = {"VmRSS": "rss_bytes", "VmHWM": "peak_rss_bytes", "RssAnon": "anon_bytes", "RssFile": "file_bytes"}
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in names:
            fields[names[key]] = int(value.split()[0]) * 1024
    return fields


def time_every_fit() -> list[tuple[float, float]]:
    """Add an epoch timer to every keras Model.fit of this process; returns the list that (wall, CPU) seconds of
    each epoch go to."""
    import keras

    seconds: list[tuple[float, float]] = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):  # validation included, as train.py's EpochLog
            seconds.append((time.perf_counter() - self.started[0], time.process_time() - self.started[1]))

    fit = keras.Model.fit

    def timed_fit(self, *args, callbacks=None, **kwargs):
        return fit(self, *args, callbacks=[*(callbacks or []), EpochTimer()], **kwargs)

    keras.Model.fit = timed_fit
    return seconds


def run_bow_case(way: str, data_dir: Path, seed: int | None = None) -> dict:
    """Fit and score the baseline the `way` ("old" or "new"), with the profile's seed unless given one."""
    stages = {}
    clock = time.perf_counter()
    import keras
    import numpy as np
    import tensorflow as tf

    from tasks.core.profiles import resolve_settings
    from tasks.judge.baselines import bag_of_words_metrics, fit_bag_of_words
    from tasks.model.dataset import dataset_path
    from tasks.model.text import prepare_imdb

    stages["imports"] = {**memory_now(), "seconds": round(time.perf_counter() - clock, 2)}
    s = resolve_settings("imdb_conv", PROFILE, None if seed is None else {"seed": str(seed)})
    keras.utils.set_random_seed(s.seed)
    if s.deterministic:
        tf.config.experimental.enable_op_determinism()  # as tasks.model.train.train_model
    clock = time.perf_counter()
    data = prepare_imdb(dataset_path(data_dir, "imdb"), s)
    stages["data"] = {**memory_now(), "seconds": round(time.perf_counter() - clock, 2)}
    epoch_seconds = time_every_fit()

    fit, metrics = ((old_fit_bag_of_words, old_bag_of_words_metrics) if way == "old"
                    else (fit_bag_of_words, bag_of_words_metrics))
    clock = time.perf_counter()
    model = fit(data.offset["train"], data.y["train"], data.offset["val"], data.y["val"], epochs=s.bow_epochs,
                batch_size=BOW_BATCH_SIZE, seed=s.seed, num_words=s.num_words)
    stages["fit"] = {**memory_now(), "seconds": round(time.perf_counter() - clock, 2)}
    clock = time.perf_counter()
    scores = {split: metrics(model, data.offset[split], data.y[split]) for split in ("val", "test")}
    stages["evaluate"] = {**memory_now(), "seconds": round(time.perf_counter() - clock, 2)}

    digest = hashlib.sha256()
    for weights in model.get_weights():
        digest.update(np.ascontiguousarray(weights).tobytes())
    return {
        "case": f"bow-{way}",
        "self_peak_rss_bytes": memory_now()["peak_rss_bytes"],
        "stages": stages,  # RSS and peak RSS after each stage, and its seconds
        "epoch_seconds": [round(wall, 3) for wall, _ in epoch_seconds],
        "epoch_cpu_seconds": [round(cpu, 3) for _, cpu in epoch_seconds],  # the whole process, all its threads
        "history": {k: [round(float(v), 5) for v in vs] for k, vs in model.history.history.items()},
        "val": {k: scores["val"][k] for k in ("accuracy", "roc_auc", "reviews")},
        "test": {k: scores["test"][k] for k in ("accuracy", "roc_auc", "reviews")},
        "weights_sha256": digest.hexdigest(),
        "settings": {"bow_epochs": s.bow_epochs, "batch_size": BOW_BATCH_SIZE, "seed": s.seed,
                     "num_words": s.num_words, "deterministic": s.deterministic,
                     "train_reviews": len(data.offset["train"]), "val_reviews": len(data.offset["val"]),
                     "test_reviews": len(data.offset["test"])},
    }


def nbytes_of(value) -> int:
    """Bytes of the numpy arrays in a dict or list of them, nested (their data only, not Python's overhead)."""
    if isinstance(value, dict):
        return sum(nbytes_of(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(nbytes_of(v) for v in value)
    return int(getattr(value, "nbytes", 0))


def run_stages_case(data_dir: Path, epochs: int) -> dict:
    """The steps of an IMDB seed run (tasks.model.train.train_model and tasks.judge.text.evaluate_text), one at a
    time, with this process's memory after each: where the whole run's peak comes from. Not the flow: no Prefect, no
    files."""
    stages = {}
    clock = time.perf_counter()

    def stage(name: str, **extra) -> None:
        stages[name] = {**memory_now(), "seconds": round(time.perf_counter() - clock, 2), **extra}
        print(f"  {name:22s} RSS {stages[name]['rss_bytes'] / 2**20:6.0f} MiB (anonymous "
              f"{stages[name]['anon_bytes'] / 2**20:5.0f}, files {stages[name]['file_bytes'] / 2**20:4.0f}), peak "
              f"{stages[name]['peak_rss_bytes'] / 2**20:6.0f} MiB", flush=True)

    import keras
    import tensorflow as tf

    stage("import tensorflow")
    from tasks.core.profiles import resolve_settings
    from tasks.judge.baselines import bag_of_words_metrics, fit_bag_of_words
    from tasks.judge.metrics import binary_metrics
    from tasks.model.dataset import dataset_path
    from tasks.model.text import prepare_imdb
    from tasks.model.train import build_model, describe_device

    stage("import the project")
    s = resolve_settings("imdb_conv", PROFILE, {"epochs": str(epochs)})
    keras.utils.set_random_seed(s.seed)
    if s.deterministic:
        tf.config.experimental.enable_op_determinism()
    data = prepare_imdb(dataset_path(data_dir, "imdb"), s)
    stage("prepare_imdb", arrays_bytes={"x": nbytes_of(data.x), "y": nbytes_of(data.y),
                                        "offset": nbytes_of(data.offset)})
    device = describe_device()
    model = build_model(s, device.strategy, 0, on_gpu=False)
    model.fit(data.x["train"], data.y["train"], validation_data=(data.x["val"], data.y["val"]),
              batch_size=s.batch_size, epochs=s.epochs, verbose=0)
    stage(f"fit imdb_conv ({epochs} ep.)")
    scores = {split: model.predict(data.x[split], batch_size=512, verbose=0).ravel() for split in ("val", "test")}
    results = {split: binary_metrics(data.y[split], scores[split]) for split in ("val", "test")}
    stage("predict imdb_conv")
    bow = fit_bag_of_words(data.offset["train"], data.y["train"], data.offset["val"], data.y["val"],
                           epochs=s.bow_epochs, batch_size=BOW_BATCH_SIZE, seed=s.seed, num_words=s.num_words)
    stage("fit bag of words")
    baseline = {split: bag_of_words_metrics(bow, data.offset[split], data.y[split]) for split in ("val", "test")}
    stage("bag-of-words metrics")
    return {"case": "stages", "stages": stages, "epochs": epochs,
            "imdb_conv_val_accuracy": results["val"]["accuracy"],
            "bag_of_words": {split: baseline[split]["accuracy"] for split in ("val", "test")}}


# ---------------------------------------------------------------------------------------------------------------
# The parent: run each case in a fresh process, watch its tree's memory
# ---------------------------------------------------------------------------------------------------------------
def tree_rss(pid: int) -> dict[str, int]:
    """Summed RSS in bytes of `pid` and all its descendants (Linux /proc), and its parts: anonymous memory and
    pages of mapped files (shared libraries: clean, shared with other processes, reclaimable); {} once gone."""
    total, todo = {}, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                    total[key] = total.get(key, 0) + int(value.split()[0]) * 1024
            for children in Path(f"/proc/{p}/task").glob("*/children"):
                todo.extend(int(c) for c in children.read_text().split())
        except OSError:
            continue
    return total


def spawn(command: list[str], log: Path, cwd: Path, env: dict[str, str]) -> dict:
    """Run `command` to its end: wall seconds, wait4's peak RSS, the peak of the sampled tree RSS with its parts,
    and the samples (seconds since the start, tree RSS, anonymous part) to match against the log."""
    peak_tree, samples, done = [{}], [], threading.Event()
    started = time.perf_counter()
    with open(log, "wb") as out:
        child = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)

        def watch() -> None:
            while not done.wait(SAMPLE_S):
                now = tree_rss(child.pid)
                if now:
                    samples.append([round(time.perf_counter() - started, 1), now["VmRSS"], now.get("RssAnon", 0)])
                if now.get("VmRSS", 0) > peak_tree[0].get("VmRSS", 0):
                    peak_tree[0] = now

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not the running max of all children
        done.set()
        watcher.join()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{' '.join(command)} failed (exit {code}); log {log}:\n{tail}")
    return {"process_wall_s": round(time.perf_counter() - started, 2),
            "started_utc": time.strftime("%H:%M:%S", time.gmtime(time.time() - (time.perf_counter() - started))),
            "peak_rss_bytes": usage.ru_maxrss * 1024,  # KiB on Linux; the largest of the process and descendants
            # sampled: a peak shorter than SAMPLE_S can be missed
            "peak_tree_rss_bytes": peak_tree[0].get("VmRSS", 0),
            "at_peak_tree_anon_bytes": peak_tree[0].get("RssAnon", 0),
            "at_peak_tree_file_bytes": peak_tree[0].get("RssFile", 0),
            "samples_s_rss_anon": samples}


def child_env(work: Path) -> dict[str, str]:
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    env["PREFECT_HOME"] = str(work / "prefect-home")  # a throwaway database for the temporary server
    return env


def spawn_child(case: str, data_dir: Path, work: Path, index: int, seed: int | None = None) -> dict:
    """One case of this script ("old", "new" or "stages") in a fresh process."""
    result, log = work / f"{case}-{index}.json", work / f"{case}-{index}.log"
    result.unlink(missing_ok=True)
    command = [sys.executable, "-m", "bench.memory", "--child", case, "--data-dir", str(data_dir),
               "--result", str(result)] + ([] if seed is None else ["--seed", str(seed)])
    figures = spawn(command, log, ROOT, child_env(work))
    return {**json.loads(result.read_text()), **figures, "log": str(log)}


def spawn_run(tree: Path, data_dir: Path, work: Path, label: str) -> dict:
    artifacts = Path(tempfile.mkdtemp(prefix=f"artifacts-{label}-", dir=work))
    command = [sys.executable, *(a.format(data_dir=data_dir, artifacts_dir=artifacts) for a in RUN_COMMAND)]
    log = work / f"run-{label}.log"
    figures = spawn(command, log, tree, child_env(work))
    from tasks.core.records.metrics import Metrics

    metrics = next(artifacts.glob("runs/*/imdb_conv/metrics.json"), None)
    if metrics is not None:
        m = Metrics.read(metrics.parent).data
        bow = m["baselines"]["bag_of_words"]
        figures["bag_of_words"] = {split: bow[split]["accuracy"] for split in ("val", "test")}
        figures["seconds_per_epoch"] = m.get("seconds_per_epoch")
    shutil.rmtree(artifacts, ignore_errors=True)
    return {"case": f"run-{label}", "tree": str(tree), "command": " ".join(command), **figures, "log": str(log)}


def gib(n: float) -> str:
    return f"{n / 2**30:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n")[0])
    parser.add_argument("--mirror", default=str(DEFAULT_MIRROR), help="folder with the real imdb.npz and word index")
    parser.add_argument("--data-dir", help="an ingested data dir to reuse (default: ingest into the work folder)")
    parser.add_argument("--quick", action="store_true", help="smoke run: one round of the baseline cases only")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of old/new baseline cases (order alternates)")
    parser.add_argument("--no-run", action="store_true", help="leave out the whole run")
    parser.add_argument("--old-tree", help="also the whole run from this checkout (its own code, same data)")
    parser.add_argument("--work", default=str(ROOT / "artifacts" / "bench" / "memory-work"),
                        help="scratch folder: data dir, logs, throwaway artifacts")
    parser.add_argument("--out", help="figures as JSON (default artifacts/bench/memory.json, memory-quick.json "
                        "with --quick)")
    parser.add_argument("--other-seeds", type=int, nargs="*", default=[],
                        help="also fit old and new once with each of these seeds: the spread of the accuracies")
    parser.add_argument("--stages", action="store_true", help="also the steps of a whole IMDB run, one at a time, "
                        "with the memory after each (in one fresh process)")
    parser.add_argument("--child", choices=("old", "new", "stages"), help=argparse.SUPPRESS)  # internal: one case
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        figures = (run_stages_case(Path(args.data_dir), epochs=1) if args.child == "stages"
                   else run_bow_case(args.child, Path(args.data_dir), args.seed))
        Path(args.result).write_text(json.dumps(figures))
        return 0

    if args.quick:
        args.rounds, args.no_run, args.stages, args.other_seeds, args.old_tree = 1, True, False, [], None
    import numpy as np

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    data_dir = Path(args.data_dir) if args.data_dir else work / "data"
    ingest_s = None
    if not (data_dir / "processed" / "imdb" / "train.parquet").is_file():
        print(f"ingesting IMDB from {args.mirror} into {data_dir} ...", flush=True)
        command = [sys.executable, *(a.format(mirror=args.mirror, data_dir=data_dir) for a in INGEST_COMMAND)]
        ingest_s = spawn(command, work / "ingest.log", ROOT, child_env(work))["process_wall_s"]

    bow: dict[str, list[dict]] = {"old": [], "new": []}
    for r in range(args.rounds):
        for way in ("old", "new") if r % 2 == 0 else ("new", "old"):
            f = spawn_child(way, data_dir, work, r)
            bow[way].append(f)
            print(f"  bow-{way} round {r}: peak RSS {gib(f['peak_rss_bytes'])} GiB, epochs "
                  f"{', '.join(f'{x:.1f}' for x in f['epoch_seconds'])} s, val {f['val']['accuracy']:.4f}, "
                  f"test {f['test']['accuracy']:.4f}, weights {f['weights_sha256'][:12]}", flush=True)
    def new_over_old(key: str, skip: int) -> float:
        """Median over rounds of the new side's mean epoch seconds over the old side's, first `skip` left out."""
        return float(np.median([np.mean(n[key][skip:]) / np.mean(o[key][skip:])
                                for o, n in zip(bow["old"], bow["new"])]))

    ratios = {f"{key}{suffix}": new_over_old(key, skip) for key in ("epoch_seconds", "epoch_cpu_seconds")
              for suffix, skip in (("", 0), ("_after_first", 1))}
    same_weights = {way: len({f["weights_sha256"] for f in runs}) == 1 for way, runs in bow.items()}

    other_seeds: dict[str, list[dict]] = {"old": [], "new": []}
    for seed in args.other_seeds:
        for way in ("old", "new"):
            f = spawn_child(way, data_dir, work, 100 + seed, seed)
            other_seeds[way].append({"seed": seed, "val": f["val"], "test": f["test"],
                                     "peak_rss_bytes": f["peak_rss_bytes"], "epoch_seconds": f["epoch_seconds"]})
            print(f"  bow-{way} seed {seed}: val {f['val']['accuracy']:.4f}, test {f['test']['accuracy']:.4f}",
                  flush=True)

    stages = None
    if args.stages:
        print("the steps of a whole IMDB run (1 epoch), one at a time ...", flush=True)
        stages = spawn_child("stages", data_dir, work, 0)
        for name, f in stages["stages"].items():
            print(f"  {name:22s} RSS {gib(f['rss_bytes'])} GiB (anonymous {gib(f['anon_bytes'])}, mapped files "
                  f"{gib(f['file_bytes'])}), peak so far {gib(f['peak_rss_bytes'])} GiB", flush=True)

    runs = []
    if not args.no_run:
        trees = [("new", ROOT)] + ([("old", Path(args.old_tree))] if args.old_tree else [])
        for label, tree in trees:
            print(f"whole run ({label}, {tree}) ...", flush=True)
            runs.append(spawn_run(tree, data_dir, work, label))
            f = runs[-1]
            print(f"  run-{label}: peak RSS {gib(f['peak_rss_bytes'])} GiB (largest process), process tree "
                  f"{gib(f['peak_tree_rss_bytes'])} GiB (sampled), {f['process_wall_s']:.0f} s", flush=True)

    print(f"\n{'case':10s} {'peak RSS GiB':>13s} {'tree GiB':>9s} {'s/epoch':>8s} {'val acc':>8s} {'test acc':>9s}")
    for way, cases in bow.items():
        for f in cases:
            print(f"bow-{way:6s} {gib(f['peak_rss_bytes']):>13s} {gib(f['peak_tree_rss_bytes']):>9s} "
                  f"{np.mean(f['epoch_seconds']):8.2f} {f['val']['accuracy']:8.4f} {f['test']['accuracy']:9.4f}")
    for f in runs:
        bow_acc = f.get("bag_of_words", {})
        print(f"{f['case']:10s} {gib(f['peak_rss_bytes']):>13s} {gib(f['peak_tree_rss_bytes']):>9s} "
              f"{f.get('seconds_per_epoch') or float('nan'):8.1f} {bow_acc.get('val', float('nan')):8.4f} "
              f"{bow_acc.get('test', float('nan')):9.4f}")
    old_peak = float(np.median([f["peak_rss_bytes"] for f in bow["old"]]))
    new_peak = float(np.median([f["peak_rss_bytes"] for f in bow["new"]]))
    print(f"\nbaseline peak RSS new / old: {new_peak / old_peak:.2f} ({gib(new_peak)} vs {gib(old_peak)} GiB); "
          f"same weights from the same seed: {same_weights}")
    print("epoch seconds new / old (median of per-round ratios): "
          + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
    run_new = next((f for f in runs if f["case"] == "run-new"), None)
    verdict = None
    if run_new is not None:
        verdict = run_new["peak_tree_rss_bytes"] <= TARGET_BYTES and run_new["peak_rss_bytes"] <= TARGET_BYTES
        print(f"whole run: {gib(run_new['peak_rss_bytes'])} GiB largest process, {gib(run_new['peak_tree_rss_bytes'])}"
              f" GiB process tree: {'PASS' if verdict else 'FAIL'} <= {gib(TARGET_BYTES)} GiB")

    document = {
        "target": {"whole_run_peak_rss_bytes": TARGET_BYTES},
        "units": {"peak_rss_bytes": "bytes, wait4's ru_maxrss: the largest of the process and its descendants",
                  "peak_tree_rss_bytes": f"bytes, the summed RSS of the process tree, sampled every {SAMPLE_S} s",
                  "epoch_seconds": "seconds per epoch of fit, validation included (wall clock)"},
        "machine": machine(load_before),
        "commands": {"ingest": " ".join(INGEST_COMMAND), "run": " ".join(RUN_COMMAND)},
        "ingest_s": ingest_s,
        "bow": bow,
        "bow_other_seeds": other_seeds,
        "bow_peak_rss_new_over_old": new_peak / old_peak,
        "bow_new_over_old": ratios,  # median over rounds of per-round ratios of mean epoch (CPU) seconds
        "bow_same_weights_from_same_seed": same_weights,
        "stages": stages,
        "runs": runs,
        "whole_run_pass": verdict,
    }
    out = write_figures("memory", document, quick=args.quick, out=args.out)
    print(f"\nfigures in {out}")
    return 0 if verdict in (None, True) else 1


if __name__ == "__main__":
    sys.exit(main())
