"""The champion on new data (docs/retraining.md): each model trained on the mirror's first station file, then
judged on the rows of the second it never saw, beside persistence; and what `on_decay` decides.

    python -m bench.champion_new_data --mirror /work/shared/datasets --out /tmp/new-data [--profile quick]
        [--models jena_conv jena_conv_gru] [--seeds 1 2 3]

Per seed: `seqconv train-all` on mpi_roof_2024a.csv (its own artifacts folder); a run that is not promoted (not
blessed) is recorded as champion anyway through the registry's own API, so that every model gets a figure; then
`seqconv ingest jena` with both files judges the champions on the new rows (tasks.publish.new_data), and the
retraining plan under on_decay is read. Prints one row per model and seed, then the mean ratio per model.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

OLD, NEW = "mpi_roof_2024a.csv", "mpi_roof_2024b.csv"


def seqconv(*args: str) -> None:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"seqconv {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    print(f"  seqconv {args[0]} ({time.perf_counter() - started:.0f} s)", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--models", nargs="+", default=["jena_conv", "jena_conv_gru"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    args = parser.parse_args(argv)

    from tasks.core import runs
    from tasks.core.records.registry import RegistryEntry
    from tasks.ingest.retraining import retraining_plan
    from tasks.judge.new_data import history
    from tasks.judge.registry import promote

    rows = []
    for seed in args.seeds:
        data, artifacts = args.out / f"seed{seed}" / "data", args.out / f"seed{seed}" / "artifacts"
        print(f"seed {seed}", flush=True)
        seqconv("train-all", "--profile", args.profile, "--mirror", args.mirror, "--jena-files", OLD,
                "--models", *args.models, "--set", f"seed={seed}", "--data-dir", str(data),
                "--artifacts-dir", str(artifacts))
        registry = runs.registry_dir(artifacts)
        (run_id,) = [p.name for p in (artifacts / "runs").iterdir() if p.is_dir()]
        blessed = {}
        for model in args.models:
            run_dir = artifacts / "runs" / run_id / model
            metrics = json.loads((run_dir / runs.METRICS).read_text())
            blessed[model] = metrics["blessed"]
            if RegistryEntry.read(registry, model) is None:  # not blessed: recorded anyway, to be judged
                promote(registry, model, metrics, run_dir)
        seqconv("ingest", "jena", "--mirror", args.mirror, "--files", OLD, NEW, "--data-dir", str(data),
                "--artifacts-dir", str(artifacts))
        plan = retraining_plan("on_decay", args.models, data, registry)
        for model in args.models:
            (record,) = history(RegistryEntry.read(registry, model))
            rows.append({"seed": seed, "model": model, "blessed_on_val": blessed[model], "windows": record["windows"],
                         "model_c": record["model"]["mae_celsius"],
                         "persistence_c": record["baselines"]["persistence"]["mae_celsius"],
                         "ratio_to_persistence": record["model"]["mae"] / record["baselines"]["persistence"]["mae"],
                         "strongest": record["baseline"], "beats": record["beats"],
                         "on_decay": "retrain" if plan[model]["train"] else "keep", "reason": plan[model]["reason"]})
            print("  " + json.dumps(rows[-1]), flush=True)
    print("\nmodel, seed, new windows, champion MAE °C, persistence MAE °C, ratio, on_decay")
    for r in rows:
        print(f"{r['model']}, {r['seed']}, {r['windows']}, {r['model_c']:.2f}, {r['persistence_c']:.2f}, "
              f"{r['ratio_to_persistence']:.2f}x, {r['on_decay']}")
    for model in args.models:
        ratios = [r["ratio_to_persistence"] for r in rows if r["model"] == model]
        print(f"{model}: mean ratio {statistics.mean(ratios):.2f}x persistence over {len(ratios)} seed(s) "
              f"({', '.join(f'{x:.2f}' for x in ratios)})")
    (args.out / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
