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
from tasks.core.tables import describe_months

SHORT_PROFILES = ("smoke",)  # too few epochs for a verdict to mean anything: said in the line


def split_lines(metrics: Sequence[Mapping]) -> list[str]:
    """One line per distinct split among the Jena models: the method, why, the models, the months of each part."""
    groups: dict[tuple, list[str]] = {}
    for m in metrics:
        if family_of(str(m.get("model"))).name != "jena" or not m.get("splits"):
            continue
        s = m.get("settings") or {}
        parts = tuple((name, tuple(f.get("months") or ())) for name, f in m["splits"].items())
        groups.setdefault((s.get("split"), s.get("split_reason") or "", parts), []).append(m["model"])
    lines = []
    for (split, reason, parts), models in groups.items():
        why = f" ({reason})" if reason else ""
        months = "; ".join(f"{name} {describe_months(list(ms))}" for name, ms in parts if ms)
        lines.append(f"Jena split `{split}`{why}, {' and '.join(models)}: {months}.")
    return lines


def book_verdict(m: Mapping, profile: str = "") -> str:
    """One model's verdict in the book's terms: its validation figure against the baseline the book used (Jena:
    persistence, as a ratio of errors) or, for IMDB, against our bag of words; then the book's figure and whether
    ours points the same way."""
    model = str(m.get("model"))
    spec = family_of(model)
    val = (m.get("validation") or {}).get(spec.metric)
    baselines = m.get("baselines") or {}
    book = BOOK.get(model)
    note = " Smoke profile: too short to judge." if profile in SHORT_PROFILES else ""
    if val is None:
        return f"{model}: no validation figure.{note}"
    if spec.name == "jena":
        base = (baselines.get("persistence") or {}).get("val", {}).get(spec.metric)
        if not base:
            return f"{model}: validation MAE {val:.3g} (no persistence baseline recorded).{note}"
        ratio = val / base
        ours = "beats persistence" if ratio < 1 else "loses to persistence"
        head = f"{model}: {ratio:.2f}x the persistence error on validation: {ours}"
        if book is None or book.ratio is None:
            return f"{head} (not in the book).{note}"
        if (ratio < 1) == (book.ratio < 1):
            return f"{head}, as in the book ({book.ratio:.2f}x).{note}"
        theirs = "beats it" if book.ratio < 1 else "loses"
        return f"{head}, unlike the book ({book.ratio:.2f}x, {theirs}).{note}"
    bow = (baselines.get("bag_of_words") or {}).get("val", {}).get(spec.metric)
    head = f"{model}: validation accuracy {val:.3f}"
    if bow is not None:
        head += f" against bag of words {bow:.3f}: " + ("beats bag of words" if val > bow else "loses to bag of words")
    published = f"the book: {book.val:.2f}, with no bag-of-words baseline" if book else "not in the book"
    return f"{head} ({published}).{note}"


def opening_lines(metrics: Sequence[Mapping], profile: str) -> list[str]:
    """The report's first lines: the split(s), then one verdict per model in the book's terms."""
    lines = split_lines(metrics)
    verdicts = [f"- {book_verdict(m, profile)}" for m in metrics]
    return [*lines, *([""] if lines else []), "In the book's terms (validation, every window or review):",
            *verdicts] if verdicts else lines
