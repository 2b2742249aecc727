"""Average the forecasts (Jena) or scores (IMDB) of runs of one model, e.g. the same settings over three seeds,
and judge the average on the same windows or reviews as each run: what "averaging seeds" buys.

    python -m bench.ensemble artifacts/runs/<run-a>/jena_conv_gru artifacts/runs/<run-b>/jena_conv_gru ...
        [--by-month]   # Jena: the average forecast against persistence per month of the target

Reads each run's evaluation.npz (written by tasks.judge.evaluate; numbers only, read without pickle). An average of N
models is N times the parameters at prediction time: RESULTS.md reports it apart from the single models.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from tasks.core.errors import SeqconvError
from tasks.core.runs import resolve_run_dir

SPLITS = ("val", "test")


def _load(run_dir: Path) -> dict[str, np.ndarray]:
    path = resolve_run_dir(Path(run_dir)) / "evaluation.npz"
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def load_runs(run_dirs: list[Path]) -> list[dict[str, np.ndarray]]:
    """Each run's evaluation.npz, checked to be judged on the same windows or reviews.

    Raises:
        ValueError: fewer than two runs, runs of different families, or runs judged on different windows or
            reviews (other timestamps, truths or labels), naming the run.
    """
    if len(run_dirs) < 2:
        raise ValueError("give at least two run folders to average")
    runs = [_load(d) for d in run_dirs]
    jena = "val_predictions" in runs[0]
    reference = ("val_seconds", "val_truth", "test_seconds", "test_truth") if jena else ("val_labels", "test_labels")
    for run_dir, run in zip(run_dirs, runs):
        for key in reference:
            if key not in run or run[key].shape != runs[0][key].shape or not np.array_equal(run[key], runs[0][key]):
                raise ValueError(f"{run_dir}: {key} differs from {run_dirs[0]}'s: not the same model family, split "
                                 "or data, so the runs cannot be averaged window by window")
    return runs


def ensemble(run_dirs: list[Path], runs: list[dict[str, np.ndarray]] | None = None) -> dict:
    """Each run's figure and the average's, per split: Jena MAE in °C (and persistence), IMDB accuracy.
    `runs`: load_runs(run_dirs) if already read. Raises ValueError as load_runs does."""
    runs = runs if runs is not None else load_runs(run_dirs)
    jena = "val_predictions" in runs[0]
    out = {"runs": [str(d) for d in run_dirs], "family": "jena" if jena else "imdb"}
    for split in SPLITS:
        if jena:
            truth = runs[0][f"{split}_truth"]
            each = [float(np.mean(np.abs(r[f"{split}_predictions"] - truth))) for r in runs]
            mean = np.mean([r[f"{split}_predictions"] for r in runs], axis=0)
            persistence = float(np.mean(np.abs(runs[0][f"{split}_persistence"] - truth)))
            out[split] = {"each": each, "average": float(np.mean(np.abs(mean - truth))), "persistence": persistence}
        else:
            labels = runs[0][f"{split}_labels"]
            each = [float(np.mean((r[f"{split}_scores"] > 0.5) == labels)) for r in runs]
            mean = np.mean([r[f"{split}_scores"] for r in runs], axis=0)
            out[split] = {"each": each, "average": float(np.mean((mean > 0.5) == labels))}
    return out


def by_month(run_dirs: list[Path], runs: list[dict[str, np.ndarray]] | None = None) -> dict[str, list[dict]]:
    """Jena: per split and calendar month of the target, the windows, the average forecast's MAE (°C) and
    persistence's, so a reader sees in which weeks a model wins or loses."""
    runs = runs if runs is not None else load_runs(run_dirs)
    out = {}
    for split in SPLITS:
        months = np.array(runs[0][f"{split}_seconds"], dtype="datetime64[s]").astype("datetime64[M]")
        truth = runs[0][f"{split}_truth"]
        error = np.abs(np.mean([r[f"{split}_predictions"] for r in runs], axis=0) - truth)
        persistence = np.abs(runs[0][f"{split}_persistence"] - truth)
        out[split] = [{"month": str(m), "windows": int((months == m).sum()),
                       "average": float(error[months == m].mean()),
                       "persistence": float(persistence[months == m].mean())} for m in np.unique(months)]
    return out


def describe(result: dict) -> str:
    lines = []
    for split in SPLITS:
        s = result[split]
        if result["family"] == "jena":
            ratio = lambda v: f"{v:.3f} °C ({v / s['persistence']:.3f}x persistence)"  # noqa: E731
            lines.append(f"{split}: each {', '.join(ratio(v) for v in s['each'])}; mean of the runs "
                         f"{ratio(float(np.mean(s['each'])))}; average forecast {ratio(s['average'])}; "
                         f"persistence {s['persistence']:.3f} °C")
        else:
            lines.append(f"{split}: each {', '.join(f'{v:.4f}' for v in s['each'])}; mean of the runs "
                         f"{np.mean(s['each']):.4f}; averaged scores {s['average']:.4f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+", type=Path, help="artifacts/runs/<run-id>/<model> folders")
    parser.add_argument("--by-month", action="store_true", help="Jena: the average forecast per month of the target")
    args = parser.parse_args(argv)
    try:
        runs = load_runs(args.run_dirs)  # read once for both tables
        result = ensemble(args.run_dirs, runs)
        print(describe(result))
        if args.by_month and result["family"] == "jena":
            for split, rows in by_month(args.run_dirs, runs).items():
                print(f"\n| {split} month | windows | average forecast (°C) | persistence (°C) | ratio |\n|---|---|---|---|---|")
                for r in rows:
                    print(f"| {r['month']} | {r['windows']:,} | {r['average']:.3f} | {r['persistence']:.3f} | "
                          f"{r['average'] / r['persistence']:.3f} |")
    except (ValueError, OSError, SeqconvError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
