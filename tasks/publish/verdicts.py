"""The first lines of a run's report: the Jena split each model was cut by and why, then every model's verdict in
the book's terms (core.config.BOOK), on validation, where the book judged them.

    Jena split `blocked` (auto: the record spans 9.6 months (< 2 years), so blocked), jena_conv and jena_conv_gru:
    train Jan-Feb, May-Jun, ... 2024; val Mar, ... 2024; test Apr, ... 2024.
    - jena_conv: 1.41x the persistence error on validation: loses to persistence, as in the book (1.55x).
    - jena_conv_gru: 0.93x the persistence error on validation: beats persistence, as in the book (0.93x).
    - imdb_conv: validation accuracy 0.861 against bag of words 0.872: loses to bag of words (the book: 0.88,
      with no bag-of-words baseline).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tasks.core.config import BOOK, family_of
from tasks.publish.kinds import KINDS, kind_of_model

SHORT_PROFILES = ("smoke",)  # too few epochs for a verdict to mean anything: said in the line


def split_lines(metrics: Sequence[Mapping]) -> list[str]:
    """One line per distinct split among the models, by their dataset's kind (a series' split: the method, why, the
    models, the months of each part; a text dataset's split is fixed and has none)."""
    return [line for kind in KINDS.values()
            for line in kind.split_lines([m for m in metrics if kind_of_model(str(m.get("model"))) is kind])]


def book_verdict(m: Mapping, profile: str = "") -> str:
    """One model's verdict in the book's terms, by its dataset's kind: its validation figure against the baseline
    the book used (a series: persistence, as a ratio of errors) or, for text, against our bag of words; then the
    book's figure and whether ours points the same way."""
    model = str(m.get("model"))
    spec = family_of(model)
    val = (m.get("validation") or {}).get(spec.metric)
    note = " Smoke profile: too short to judge." if profile in SHORT_PROFILES else ""
    if val is None:
        return f"{model}: no validation figure.{note}"
    return kind_of_model(model).verdict(model, val, m.get("baselines") or {}, spec, BOOK.get(model)) + note


def opening_lines(metrics: Sequence[Mapping], profile: str) -> list[str]:
    """The report's first lines: the split(s), then one verdict per model in the book's terms."""
    lines = split_lines(metrics)
    verdicts = [f"- {book_verdict(m, profile)}" for m in metrics]
    return [*lines, *([""] if lines else []), "In the book's terms (validation, every window or review):",
            *verdicts] if verdicts else lines
