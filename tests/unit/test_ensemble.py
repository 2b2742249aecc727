"""bench.ensemble: averaging runs' forecasts or scores window by window, and refusing runs that do not match."""

from __future__ import annotations

import numpy as np
import pytest

from bench.ensemble import by_month, ensemble, main

pytestmark = pytest.mark.unit


def jena_run(folder, predictions, seconds=(0, 600, 1200)):
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text("{}")  # a finished run folder
    truth = np.array([1.0, 2.0, 3.0])
    arrays = {}
    for split in ("val", "test"):
        arrays.update({f"{split}_seconds": np.array(seconds), f"{split}_truth": truth,
                       f"{split}_predictions": np.array(predictions, dtype=float),
                       f"{split}_persistence": truth + 1.0})
    np.savez(folder / "evaluation.npz", **arrays)
    return folder


def test_the_average_forecast_is_judged_on_the_same_windows(tmp_path):
    a = jena_run(tmp_path / "a", [2.0, 2.0, 2.0])  # errors 1, 0, 1
    b = jena_run(tmp_path / "b", [0.0, 2.0, 4.0])  # errors 1, 0, 1; the average 1, 2, 3 is exact
    result = ensemble([a, b])
    assert result["val"]["each"] == pytest.approx([2 / 3, 2 / 3])
    assert result["val"]["average"] == pytest.approx(0.0) and result["test"]["persistence"] == pytest.approx(1.0)


def test_imdb_scores_are_averaged_before_the_threshold(tmp_path):
    runs = []
    for name, scores in (("a", [0.9, 0.4, 0.2]), ("b", [0.2, 0.8, 0.45])):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "metrics.json").write_text("{}")
        np.savez(folder / "evaluation.npz", val_scores=np.array(scores), val_labels=np.array([1.0, 1.0, 0.0]),
                 test_scores=np.array(scores), test_labels=np.array([1.0, 1.0, 0.0]))
        runs.append(folder)
    result = ensemble(runs)
    assert result["val"]["each"] == pytest.approx([2 / 3, 2 / 3]) and result["val"]["average"] == pytest.approx(1.0)


def test_runs_on_other_windows_are_refused_naming_the_run(tmp_path, capsys):
    a = jena_run(tmp_path / "a", [2.0, 2.0, 2.0])
    b = jena_run(tmp_path / "b", [2.0, 2.0, 2.0], seconds=(0, 600, 1800))
    with pytest.raises(ValueError, match=r"/b: val_seconds differs"):
        ensemble([a, b])
    assert main([str(a), str(b)]) == 2
    assert capsys.readouterr().err.startswith("error: ") and main([str(a)]) == 2


def test_by_month_splits_the_windows_by_the_month_of_their_target(tmp_path):
    seconds = (1706745000, 1709251200, 1709251800)  # 2024-01-31 23:50, 2024-03-01 00:00 and 00:10
    a = jena_run(tmp_path / "a", [2.0, 2.0, 2.0], seconds)
    b = jena_run(tmp_path / "b", [0.0, 2.0, 5.0], seconds)  # the average 1, 2, 3.5
    months = by_month([a, b])["test"]
    assert [(m["month"], m["windows"]) for m in months] == [("2024-01", 1), ("2024-03", 2)]
    assert months[1]["average"] == pytest.approx(0.25) and months[1]["persistence"] == pytest.approx(1.0)
