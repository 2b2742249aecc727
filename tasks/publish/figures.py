"""Every figure of a run or an evaluation folder, drawn from the files the train and evaluate stages wrote: the
training curves (tasks.publish.curves) and the figures of the dataset's kind (tasks.publish.kinds; drawn by
tasks.publish.plots).
"""

from __future__ import annotations

from pathlib import Path

from tasks.core.records.metrics import Metrics
from tasks.publish.curves import plot_training_curves
from tasks.publish.kinds import kind_of


def plot_evaluation(out_dir: Path, history_dir: Path | None = None) -> list[Path]:
    """Every figure of an evaluated model folder: the training curves (from history.csv in `history_dir`, the run
    folder, when there is one) and the kind's figures from evaluation.npz and metrics.json.

    Args:
        out_dir: a run or evaluation folder holding metrics.json and evaluation.npz; the PNGs go there.
        history_dir: the folder with the run's history.csv; default out_dir.

    Returns:
        The PNGs written.
    """
    from tasks.core.config import family_of
    from tasks.judge import load_arrays

    out_dir = Path(out_dir)
    metrics = Metrics.read(out_dir).data
    spec = family_of(metrics["model"])
    written = []
    history = Path(history_dir or out_dir) / "history.csv"
    if history.is_file():
        written.append(plot_training_curves(history, out_dir / "curves.png", title=f"{metrics['model']}: training curves",
                                            metric=spec.curve, metric_label=spec.curve_label,
                                            higher_is_better=spec.higher_is_better))
    arrays = load_arrays(out_dir / "evaluation.npz")
    return written + kind_of(spec.name).plot_test_split(arrays, metrics, out_dir)
