"""Every plot writes a readable PNG; the training curves read Keras histories and mark the right epoch."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from tasks.core.errors import DataFormatError
from tasks.publish.curves import _training_curves_figure, best_epoch, plot_training_curves, read_history
from tasks.publish.plots import (
    plot_confusion_matrix,
    plot_jena_predictions,
    plot_jena_stretches,
    plot_roc,
)
from tasks.publish.series import plot_test_split as plot_series_test_split, season_stretches

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


def test_one_stretch_per_season_of_the_test_targets_in_time_order():
    day = 86_400
    start = 1_725_148_800  # 2024-09-01 00:00 UTC
    # hourly targets: 20 days of September, a hole, then 30 days from 2024-12-15 (December and January)
    seconds = np.r_[start + 3600 * np.arange(1, 20 * 24 + 1), start + 105 * day + 3600 * np.arange(30 * 24)]
    stretches = season_stretches(seconds, "end", days=10)
    assert [season for season, _ in stretches] == ["SON", "DJF"]
    son, djf = (mask for _, mask in stretches)
    assert son.sum() == djf.sum() == 10 * 24  # the first 10 days of each
    assert seconds[son][0] == seconds[0] and seconds[djf][0] == start + 105 * day


def test_the_forecast_plot_has_a_panel_per_season_each_titled_with_its_own_mae(tmp_path):
    seconds = 1_704_067_200 + 3600 * np.arange(1, 24 * 366)  # hourly targets through 2024
    truth = 10 - 8 * np.cos(2 * np.pi * np.arange(seconds.size) / (24 * 366))
    predictions = truth + np.where(seconds < 1_711_929_600, 1.0, 3.0)  # 1 °C off until April, 3 °C after
    arrays = {"test_seconds": seconds, "test_truth": truth, "test_predictions": predictions,
              "test_persistence": truth + 2.0}
    metrics = {"model": "jena_conv", "test": {"mae_celsius": 2.5, "windows": seconds.size}}
    [out] = plot_series_test_split(arrays, metrics, tmp_path)
    assert_png(out, min_width=1000)
    fig = plot_jena_stretches([("A", seconds[:48], truth[:48], predictions[:48], truth[:48] + 2.0)],
                              tmp_path / "one.png", title="t", model_name="m")
    assert_png(fig)
    with pytest.raises(ValueError, match="no stretches"):
        plot_jena_stretches([], tmp_path / "none.png", title="t", model_name="m")


def test_season_panel_titles_give_the_mae_of_what_they_draw(monkeypatch, tmp_path):
    import tasks.publish.plots as plots

    drawn = {}

    def keep(fig, out):
        drawn["fig"] = fig
        return out

    monkeypatch.setattr(plots, "_save", keep)
    seconds = 1_704_067_200 + 3600 * np.arange(1, 24 * 366)
    truth = np.zeros(seconds.size)
    predictions = np.where(seconds < 1_711_929_600, 1.0, 3.0)  # winter and March 1 °C off, then 3 °C
    arrays = {"test_seconds": seconds, "test_truth": truth, "test_predictions": predictions,
              "test_persistence": truth + 2.0}
    plot_series_test_split(arrays, {"model": "jena_conv", "test": {"mae_celsius": 2.5, "windows": seconds.size}},
                           tmp_path)  # the unit is its dataset's (jena: °C)
    titles = [ax.get_title() for ax in drawn["fig"].axes]
    assert [title.split(",")[0] for title in titles] == ["Winter (DJF)", "Spring (MAM)", "Summer (JJA)",
                                                         "Autumn (SON)"]
    assert "jena_conv MAE 1.00 °C, persistence 2.00 °C on 240 windows" in titles[0]  # 1-10 January, 240 hours
    assert "jena_conv MAE 1.00 °C" in titles[1] and "jena_conv MAE 3.00 °C" in titles[2]
    assert "2.50 °C on all 8,783 windows" in drawn["fig"].get_suptitle()


@pytest.mark.parametrize("quantity, unit, label", [
    ("T (degC)", "°C", "T (degC)"),  # Jena's column names its unit already
    ("power [kW]", "kW", "power [kW]"),
    ("temp_°C", "°C", "temp_°C"),
    ("temperature", "°C", "temperature (°C)"),
    ("humidity", "", "humidity"),
])
def test_the_y_axis_shows_the_unit_once(quantity, unit, label):
    from tasks.publish.canvas import new_figure
    from tasks.publish.plots import _draw_forecast

    ax = new_figure((4, 3)).subplots()
    when = np.array(["2024-01-01T00:00", "2024-01-01T01:00"], dtype="datetime64[s]")
    _draw_forecast(ax, when, np.zeros(2), np.ones(2), np.ones(2), "m", "persistence", unit, quantity)
    assert ax.get_ylabel() == label
