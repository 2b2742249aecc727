"""The report's first lines: the Jena split and why, and each model's verdict in the book's terms."""

from __future__ import annotations

import pytest

from tasks.publish.report import report_markdown
from tasks.publish.verdicts import book_verdict, opening_lines, split_lines

pytestmark = pytest.mark.unit

SPLITS = {"train": {"months": ["2024-01", "2024-02", "2024-05"]}, "val": {"months": ["2024-03"]},
          "test": {"months": ["2024-04"]}}
AUTO = {"split": "blocked", "split_reason": "auto: the record spans 9.6 months (< 2 years), so blocked"}


def jena(model: str, val: float, persistence: float, settings=AUTO) -> dict:
    return {"model": model, "validation": {"mae": val, "mae_celsius": val * 9}, "test": {"mae": val, "mae_celsius": val * 9, "windows": 400},
            "baselines": {"persistence": {"val": {"mae": persistence}, "test": {"mae": persistence}}},
            "settings": dict(settings), "splits": SPLITS, "blessed": val < persistence}


def imdb(val: float, bow: float) -> dict:
    return {"model": "imdb_conv", "validation": {"accuracy": val}, "test": {"accuracy": val, "reviews": 500},
            "baselines": {"bag_of_words": {"val": {"accuracy": bow}}, "majority": {"val": {"accuracy": 0.5}}}}


def test_jena_verdicts_give_the_ratio_and_whether_the_book_agrees():
    assert book_verdict(jena("jena_conv", 0.45, 0.30)) == (
        "jena_conv: 1.50x the persistence error on validation: loses to persistence, as in the book (1.55x).")
    assert book_verdict(jena("jena_conv_gru", 0.27, 0.30)) == (
        "jena_conv_gru: 0.90x the persistence error on validation: beats persistence, as in the book (0.93x).")
    assert book_verdict(jena("jena_conv_gru", 0.33, 0.30)).endswith("unlike the book (0.93x, beats it).")
    assert book_verdict(jena("jena_conv_gru_fast", 0.27, 0.30)).endswith("beats persistence (not in the book).")


def test_imdb_verdict_compares_with_bag_of_words():
    assert book_verdict(imdb(0.861, 0.872)) == ("imdb_conv: validation accuracy 0.861 against bag of words 0.872: "
                                               "loses to bag of words (the book: 0.88, with no bag-of-words "
                                               "baseline).")
    assert "beats bag of words" in book_verdict(imdb(0.89, 0.872))


def test_smoke_runs_say_they_are_too_short():
    assert book_verdict(jena("jena_conv", 0.45, 0.30), "smoke").endswith("Smoke profile: too short to judge.")


def test_split_line_names_the_split_why_and_months_once_for_models_that_share_it():
    lines = split_lines([jena("jena_conv", 0.45, 0.3), jena("jena_conv_gru", 0.27, 0.3), imdb(0.86, 0.87)])
    assert lines == ["Jena split `blocked` (auto: the record spans 9.6 months (< 2 years), so blocked), jena_conv "
                     "and jena_conv_gru: train Jan-Feb, May 2024; val Mar 2024; test Apr 2024."]
    named = {"split": "contiguous", "split_reason": "named in the settings"}
    assert len(split_lines([jena("jena_conv", 0.45, 0.3), jena("jena_conv_gru", 0.27, 0.3, named)])) == 2


def test_the_report_opens_with_its_headline_the_split_and_the_verdicts():
    results = [{"metrics": m, "promotion": None} for m in (jena("jena_conv", 0.45, 0.3), imdb(0.86, 0.87))]
    report = report_markdown(results, "r1", "quick").splitlines()
    assert report[0] == "# Training run r1"
    assert report[2].startswith("Run id `r1`, profile `quick`: ")
    assert report[4].startswith("Jena split `blocked` (auto:")
    verdicts = report[report.index("In the book's terms (validation, every window or review):") + 1:][:2]
    assert verdicts == opening_lines([r["metrics"] for r in results], "quick")[-2:]
    assert verdicts[0].startswith("- jena_conv: 1.50x") and verdicts[1].startswith("- imdb_conv: validation")
