"""The text-classification kind in a person's terms: its figures (ROC curve and confusion matrix of the test
split, drawn by tasks.publish.plots), its terminal summaries, its predictions artifact and its verdict line;
looked up by kind through tasks.publish.kinds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from tasks.core.architectures import BookResult
from tasks.core.config import Family, family_of
from tasks.core.records.metrics import label_names
from tasks.core.tables import format_table
from tasks.publish.plots import plot_confusion_matrix, plot_roc
from tasks.publish.predictions import read_prediction_rows

PREDICTIONS_ARTIFACT = "predictions"  # the predictions artifact's key: "predictions-<dataset>"
MAX_TABLE_ROWS = 1_000  # rows of a predictions table artifact; the CSV in the predictions folder has them all


# ---------------------------------------------------------------------------------------------------------------
# The figures of an evaluation
# ---------------------------------------------------------------------------------------------------------------
def plot_test_split(arrays: Mapping[str, np.ndarray], metrics: Mapping, out_dir: Path) -> list[Path]:
    """roc.png and confusion.png of the test split (two labels); confusion.png alone for more (a ROC curve is
    of one label against the other)."""
    from tasks.judge import roc_curve

    model, test = metrics["model"], metrics["test"]
    unit = family_of(model).unit  # what the dataset's texts are called: IMDB's reviews, a user's texts
    labels = label_names(metrics, len(test["confusion_matrix"]))  # as the data names them
    if len(labels) > 2:
        return [plot_confusion_matrix(test["confusion_matrix"], out_dir / "confusion.png", labels=labels,
                                      title=f"{model}: test confusion matrix (macro-F1 {test['macro_f1']:.3f})",
                                      unit=unit)]
    fpr, tpr, _ = roc_curve(arrays["test_labels"], arrays["test_scores"])
    return [
        plot_roc(fpr, tpr, test["roc_auc"], out_dir / "roc.png",
                 title=f"{model}: ROC on the test set ({test['reviews']:,} {unit})", labels=labels),
        plot_confusion_matrix(test["confusion_matrix"], out_dir / "confusion.png", labels=labels,
                              title=f"{model}: test confusion matrix (threshold 0.5)", unit=unit),
    ]


# ---------------------------------------------------------------------------------------------------------------
# Terminal summaries and the predictions artifact
# ---------------------------------------------------------------------------------------------------------------
def ingest_summary(spec: Family, path: Path) -> str:
    """One line: the rows of each published file (the dataset's row of FAMILIES names them), e.g.
    "imdb: 25,000 train + 25,000 test reviews -> data/processed/imdb"."""
    from tasks.ingest import read_provenance

    parts = []
    for name in (n for n in spec.files if n.endswith(".parquet")):  # a user's texts: their vocabulary.json too
        provenance = read_provenance(path / name)
        splits = provenance.get("splits")  # one table of every split (tasks.ingest.text_files)
        parts += ([f"{n:,} {split}" for split, n in splits.items() if n] if splits else
                  [f"{provenance['rows']:,} {Path(name).stem}"])
    return f"{spec.name}: {' + '.join(parts)} {spec.unit} -> {path}"


def prediction_summary(out_dir: Path, limit: int) -> str:
    """The predictions' table: one row per review."""
    rows = read_prediction_rows(out_dir)
    columns = ["row", "label", "probability", "known_words", "flag", "excerpt"]
    if rows and "warning" in rows[0]:  # a baseline beats the champion on the newest data (tasks.serve.predict)
        columns += ["baseline_answer", "warning"]
    return format_table(rows, limit=limit, columns=columns, max_width=60 if "warning" in columns else 40)


def publish_predictions(out_dir: Path, key: str, spec: Family) -> None:
    """The predictions as a table artifact under `key` (the first MAX_TABLE_ROWS rows); call inside a Prefect run."""
    from prefect.artifacts import create_table_artifact

    rows = read_prediction_rows(out_dir)
    create_table_artifact(table=rows[:MAX_TABLE_ROWS], key=key, _sync=True,
                          description=f"{len(rows):,} {spec.unit}: the predicted label, its probability, known "
                                      f"words ({Path(out_dir) / 'predictions.csv'})")


# ---------------------------------------------------------------------------------------------------------------
# The report's lines
# ---------------------------------------------------------------------------------------------------------------
def split_lines(metrics: Sequence[Mapping]) -> list[str]:
    """None: a text dataset's split is fixed (its train and test files, the last part of train for validation)."""
    return []


def verdict(model: str, val: float, baselines: Mapping, spec: Family, book: BookResult | None) -> str:
    """A model's validation figure against our bag of words (the book had no such baseline), then the book's
    figure: "imdb_conv: validation accuracy 0.861 against bag of words 0.872: loses to bag of words (the book:
    0.88, with no bag-of-words baseline)."."""
    bow = (baselines.get("bag_of_words") or {}).get("val", {}).get(spec.metric)
    head = f"{model}: validation accuracy {val:.3f}"
    if bow is not None:
        head += f" against bag of words {bow:.3f}: " + ("beats bag of words" if val > bow else "loses to bag of words")
    published = f"the book: {book.val:.2f}, with no bag-of-words baseline" if book else "not in the book"
    return f"{head} ({published})."
