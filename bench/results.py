"""The results tables of RESULTS.md from a train-all run folder, and its plots as small PNGs under docs/results/.

    python -m bench.results artifacts/runs/<run-id> [--out docs/results]

Reads each model's metrics.json and history.csv (following reused.json to an earlier run where training was
cached), prints markdown tables, and draws IMDB validation accuracy per epoch against the published final value.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from tasks.core.records.metrics import Metrics
from tasks.core.runs import resolve_run_dir
from tasks.publish.curves import read_history

PUBLISHED = {  # Deep Learning with Python, 1st ed., §6.4 (validation, normalized MAE for Jena)
    "imdb_conv": {"val_accuracy": 0.879},
    "jena_conv": {"val_mae": 0.45},
    "jena_conv_gru": {"val_mae": 0.27},
    "persistence": {"val_mae": 0.29, "val_mae_celsius": 2.57},
}


def load(run: Path) -> dict[str, dict]:
    out = {}
    for folder in sorted(p for p in run.iterdir() if p.is_dir()):
        try:
            model_dir = resolve_run_dir(folder)
        except FileNotFoundError:
            continue
        out[folder.name] = {"dir": model_dir, "metrics": Metrics.read(model_dir).data}
    return out


def imdb_table(m: dict) -> str:
    b = m["baselines"]
    rows = [
        ("imdb_conv (ours)", m["validation"]["accuracy"], m["test"]["accuracy"], m["test"]["roc_auc"]),
        ("bag of words", b["bag_of_words"]["val"]["accuracy"], b["bag_of_words"]["test"]["accuracy"],
         b["bag_of_words"]["test"]["roc_auc"]),
        ("majority class", b["majority"]["val"]["accuracy"], b["majority"]["test"]["accuracy"],
         b["majority"]["test"]["roc_auc"]),
    ]
    lines = ["| model | val accuracy | test accuracy | test ROC AUC |", "|---|---|---|---|"]
    lines += [f"| {name} | {v:.4f} | {t:.4f} | {a:.4f} |" for name, v, t, a in rows]
    lines.append(f"| published imdb_conv | {PUBLISHED['imdb_conv']['val_accuracy']} | - | - |")
    lines.append("")
    lines.append(f"Best epoch {m['best_epoch']} of {m['epochs_run']}; {m['seconds_per_epoch']} s per epoch on "
                 f"{m['device']}; blessed: {m['blessed']} ({m['blessing']['reason']}).")
    return "\n".join(lines)


def jena_table(models: dict[str, dict]) -> str:
    lines = ["| model | step | val MAE (norm.) | val MAE (°C) | test MAE (°C) | persistence val (°C) | "
             "persistence test (°C) | mean val (°C) | blessed |", "|---|---|---|---|---|---|---|---|---|"]
    for name, entry in models.items():
        m = entry["metrics"]
        p, mean = m["baselines"]["persistence"], m["baselines"]["mean"]
        lines.append(
            f"| {name} | {m['settings']['step']} | {m['validation']['mae']:.3f} | {m['validation']['mae_celsius']:.2f} "
            f"| {m['test']['mae_celsius']:.2f} | {p['val']['mae_celsius']:.2f} | {p['test']['mae_celsius']:.2f} "
            f"| {mean['val']['mae_celsius']:.2f} | {'yes' if m['blessed'] else 'no'} |"
        )
    lines.append("| published jena_conv / jena_conv_gru / persistence (2009-2016) | 6 / 3 / - | 0.45 / 0.27 / 0.29 | "
                 "- / - / 2.57 | | | | | |")
    return "\n".join(lines)


def plot_imdb_curve(entry: dict, out: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    history = read_history(entry["dir"] / "history.csv")
    epochs = list(range(1, len(history["val_accuracy"]) + 1))
    fig = Figure(figsize=(6, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(epochs, history["accuracy"], "o-", label="training (ours)")
    ax.plot(epochs, history["val_accuracy"], "s-", label="validation (ours)")
    ax.axhline(PUBLISHED["imdb_conv"]["val_accuracy"], color="grey", linestyle="--",
               label=f"published final validation {PUBLISHED['imdb_conv']['val_accuracy']}")
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Accuracy")
    ax.set_title(f"imdb_conv, {entry['metrics']['profile']} profile: accuracy per epoch")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/results"))
    args = parser.parse_args()
    models = load(args.run)
    args.out.mkdir(parents=True, exist_ok=True)
    if "imdb_conv" in models:
        print("### IMDB\n")
        print(imdb_table(models["imdb_conv"]["metrics"]))
        plot_imdb_curve(models["imdb_conv"], args.out / "imdb_conv_accuracy.png")
        for plot in ("roc", "confusion"):
            shutil.copyfile(models["imdb_conv"]["dir"] / f"{plot}.png", args.out / f"imdb_conv_{plot}.png")
    jena = {k: v for k, v in models.items() if k.startswith("jena")}
    if jena:
        print("\n### Jena\n")
        print(jena_table(jena))
        for name, entry in jena.items():
            for plot in ("predictions", "curves"):
                shutil.copyfile(entry["dir"] / f"{plot}.png", args.out / f"{name}_{plot}.png")
    print(f"\nplots: {args.out}")


if __name__ == "__main__":
    main()
