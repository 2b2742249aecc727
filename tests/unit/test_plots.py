"""Every plot writes a readable PNG; the training curves read Keras histories and mark the right epoch."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from tasks.errors import DataFormatError
from tasks.plots import (
    _training_curves_figure,
    best_epoch,
    plot_confusion_matrix,
    plot_jena_predictions,
    plot_roc,
    plot_training_curves,
    read_history,
)

pytestmark = pytest.mark.unit

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HISTORY = {
    "accuracy": [0.70, 0.80, 0.90, 0.95],
    "val_accuracy": [0.72, 0.85, 0.84, 0.80],  # best at epoch 2
    "loss": [0.60, 0.45, 0.30, 0.20],
    "val_loss": [0.58, 0.40, 0.42, 0.50],
}
CSV_LOG = """epoch,accuracy,loss,val_accuracy,val_loss
0,0.70,0.60,0.72,0.58
1,0.80,0.45,0.85,0.40
2,0.90,0.30,0.84,0.42
3,0.95,0.20,0.80,0.50
"""


def assert_png(path: Path, min_width: int = 300) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    height, width, _ = matplotlib.image.imread(path).shape
    assert width >= min_width and height >= 300
    assert not list(path.parent.glob(f".{path.name}.*"))  # no temporary file left beside it


def test_training_curves_from_a_history_dict(tmp_path):
    out = plot_training_curves(
        HISTORY, tmp_path / "curves.png", title="IMDB conv", metric="accuracy", metric_label="Accuracy"
    )
    assert out == tmp_path / "curves.png"
    assert_png(out, min_width=1000)  # two panels


def test_training_curves_from_a_csvlogger_file_count_epochs_from_one(tmp_path):
    log = tmp_path / "history.csv"
    log.write_text(CSV_LOG)
    columns = read_history(log)
    np.testing.assert_allclose(columns["val_accuracy"], HISTORY["val_accuracy"])
    assert best_epoch(log, "accuracy", higher_is_better=True) == 2
    assert best_epoch(log, "loss", higher_is_better=False) == 2
    assert best_epoch(HISTORY, "accuracy", higher_is_better=False) == 1
    assert_png(plot_training_curves(log, tmp_path / "c.png", title="t", metric="accuracy", metric_label="Accuracy"))


def test_the_best_epoch_marker_sits_on_the_best_validation_point():
    fig = _training_curves_figure(
        HISTORY, title="t", metric="accuracy", metric_label="Accuracy", higher_is_better=True, loss_label="Loss"
    )
    metric_panel, loss_panel = fig.axes[:2]
    for ax in (metric_panel, loss_panel):
        (line,) = [line for line in ax.get_lines() if line.get_label() == "best epoch 2"]
        assert list(line.get_xdata()) == [2, 2]
    (star,) = [line for line in metric_panel.get_lines() if line.get_label().startswith("best validation")]
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (2, 0.85)


def test_jena_loss_only_history_draws_one_panel(tmp_path):
    history = {"loss": [0.5, 0.4, 0.35], "val_loss": [0.45, 0.30, 0.33]}
    fig = _training_curves_figure(
        history, title="t", metric="loss", metric_label="MAE", higher_is_better=False, loss_label="MAE"
    )
    assert len(fig.axes) == 1 and fig.axes[0].get_ylabel() == "MAE"
    assert_png(plot_training_curves(history, tmp_path / "j.png", title="t", metric="loss", metric_label="MAE",
                                    higher_is_better=False))  # fmt: skip


def test_training_curves_name_a_missing_validation_column(tmp_path):
    log = tmp_path / "history.csv"
    log.write_text("epoch,accuracy,loss\n0,0.7,0.6\n")
    with pytest.raises(DataFormatError, match=r"history.csv has no column 'val_accuracy', 'val_loss'"):
        plot_training_curves(log, tmp_path / "c.png", title="t", metric="accuracy", metric_label="Accuracy")
    assert not (tmp_path / "c.png").exists()


def test_jena_predictions_take_dates_or_seconds(tmp_path):
    hours = np.arange(48)
    truth = 5 + 4 * np.sin(hours * 2 * np.pi / 24)
    seconds = 1_420_070_400 + 3600 * hours  # 2015-01-01 UTC, hourly
    assert_png(plot_jena_predictions(seconds, truth, truth + 0.5, np.roll(truth, 24), tmp_path / "s.png",
                                     title="Jena test", model_name="jena_conv"), min_width=1000)  # fmt: skip
    dates = seconds.astype("datetime64[s]")
    assert_png(plot_jena_predictions(dates, truth, (truth + 0.5)[:, None], truth, tmp_path / "d.png",
                                     title="Jena test", model_name="jena_conv"), min_width=1000)  # fmt: skip
    with pytest.raises(ValueError, match=r"\[48, 48, 47, 48\]"):
        plot_jena_predictions(dates, truth, truth[:-1], truth, tmp_path / "x.png", title="t", model_name="m")


def test_roc_and_confusion_matrix(tmp_path):
    assert_png(plot_roc([0, 0, 0.5, 1], [0, 0.5, 1, 1], 0.875, tmp_path / "roc.png", title="ROC"))
    assert_png(plot_confusion_matrix([[40, 10], [5, 45]], tmp_path / "cm.png", title="Confusion"))
    with pytest.raises(ValueError, match="tn, fp"):
        plot_confusion_matrix([[1, 2, 3]], tmp_path / "bad.png", title="t")
