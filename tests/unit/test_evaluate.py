"""Baselines, metrics and blessing on tiny hand-checked inputs."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.core.errors import DataFormatError, SettingsError
from tasks.judge.baselines import (
    bag_of_words_metrics,
    fit_bag_of_words,
    jena_baselines,
    majority_baseline,
    mean_predictions,
    persistence_predictions,
    targets,
)
from tasks.judge.blessing import bless, strongest_baseline
from tasks.judge.metrics import binary_metrics, mae, roc_auc, roc_curve, to_celsius
from tasks.model.encoding import multi_hot, offset_reviews

pytestmark = pytest.mark.unit

LOOKBACK, STEP, DELAY, TARGET_COL = 12, 3, 6, 1


def ramp(rows: int = 100, slope: float = 0.5) -> np.ndarray:
    """(rows, 2): column 1 rises by `slope` a row; column 0 is noise the baselines must ignore."""
    rng = np.random.default_rng(0)
    return np.column_stack([rng.normal(size=rows), slope * np.arange(rows)]).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------------
# Jena
# ---------------------------------------------------------------------------------------------------------------
def test_persistence_reads_the_last_row_of_the_window_and_target_the_delayed_row():
    series = np.arange(40, dtype=np.float32).reshape(20, 2)  # column 1 holds 1, 3, 5, ... = 2 * row + 1
    rows = np.array([12, 13])
    # Window rows 12 - LOOKBACK .. 12 - STEP: its last reading is row 9; the target is row 12 + 6 = 18.
    np.testing.assert_array_equal(persistence_predictions(series, rows, STEP, TARGET_COL), [19.0, 21.0])
    np.testing.assert_array_equal(targets(series, rows, DELAY, TARGET_COL), [37.0, 39.0])


def test_persistence_mae_on_a_ramp_is_slope_times_horizon():
    slope = 0.5
    series = ramp(slope=slope)
    rows = np.arange(LOOKBACK, 100 - DELAY)
    error = mae(targets(series, rows, DELAY, TARGET_COL), persistence_predictions(series, rows, STEP, TARGET_COL))
    # The forecast reaches from row r - step to row r + delay.
    assert error == pytest.approx(slope * (DELAY + STEP))


def test_mean_baseline_predicts_the_training_mean():
    np.testing.assert_array_equal(mean_predictions(np.arange(3)), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(mean_predictions(np.arange(2), train_mean=1.5), [1.5, 1.5])
    assert mae(np.array([1.0, -3.0]), mean_predictions(np.arange(2))) == 2.0


def test_to_celsius_scales_by_the_training_std():
    assert to_celsius(0.29, 8.5) == pytest.approx(2.465)


def test_jena_baselines_report_val_and_test_in_both_units():
    series = ramp(slope=0.5)
    rows = {"train": np.arange(12, 40), "val": np.arange(50, 60), "test": np.arange(70, 94)}
    out = jena_baselines(series, rows, step=STEP, delay=DELAY, target_col=TARGET_COL, target_std=2.0)
    assert set(out) == {"persistence", "mean"} and set(out["mean"]) == {"val", "test"}
    assert out["persistence"]["val"]["windows"] == 10 and out["mean"]["test"]["windows"] == 24
    assert out["persistence"]["val"]["mae"] == pytest.approx(4.5)
    assert out["persistence"]["val"]["mae_celsius"] == pytest.approx(9.0)
    # Mean of |0.5 * (r + 6)| for r in 50..59.
    assert out["mean"]["val"]["mae"] == pytest.approx(0.5 * (54.5 + 6))
    assert out["mean"]["test"]["mae_celsius"] == pytest.approx(2 * 0.5 * (81.5 + 6))


def test_jena_baselines_refuse_a_missing_split_and_windows_outside_the_series():
    series = ramp()
    with pytest.raises(ValueError, match="'test'"):
        jena_baselines(series, {"val": np.arange(20, 30)}, step=STEP, delay=DELAY, target_col=1, target_std=1.0)
    with pytest.raises(ValueError, match="outside"):
        targets(series, np.array([95]), DELAY, TARGET_COL)
    with pytest.raises(DataFormatError, match="target_std"):
        to_celsius(0.3, 0.0)


# ---------------------------------------------------------------------------------------------------------------
# IMDB metrics
# ---------------------------------------------------------------------------------------------------------------
LABELS = np.array([0, 0, 1, 1, 0, 1])
SCORES = np.array([0.1, 0.4, 0.4, 0.8, 0.8, 0.9])


def test_roc_auc_counts_ties_as_half():
    # Positives 0.4, 0.8, 0.9 against negatives 0.1, 0.4, 0.8: 1.5 + 2.5 + 3 of 9 pairs.
    assert roc_auc(LABELS, SCORES) == pytest.approx(7 / 9)
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert roc_auc([0, 1, 0, 1], [0.7, 0.7, 0.7, 0.7]) == 0.5
    assert roc_auc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4]) == 0.0


def test_roc_curve_steps_through_distinct_scores_and_its_area_is_the_auc():
    fpr, tpr, thresholds = roc_curve(LABELS, SCORES)
    np.testing.assert_allclose(thresholds, [np.inf, 0.9, 0.8, 0.4, 0.1])
    np.testing.assert_allclose(fpr, [0, 0, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(tpr, [0, 1 / 3, 2 / 3, 1, 1])
    assert np.trapezoid(tpr, fpr) == pytest.approx(7 / 9)


def test_binary_metrics_threshold_is_strict_as_in_keras():
    out = binary_metrics(LABELS, SCORES.reshape(-1, 1))
    assert out["confusion_matrix"] == [[2, 1], [1, 2]]
    assert out["accuracy"] == pytest.approx(4 / 6)
    assert out["roc_auc"] == pytest.approx(7 / 9)
    # Exactly 0.5 is a negative prediction (keras.metrics.binary_accuracy uses >).
    assert binary_metrics([0, 1], [0.5, 0.9])["confusion_matrix"] == [[1, 0], [0, 1]]


def test_majority_baseline_predicts_the_training_majority():
    out = majority_baseline([1, 1, 0], [0, 1, 1, 1])
    assert out["predicted_class"] == 1
    assert out["accuracy"] == 0.75 and out["roc_auc"] == 0.5
    assert out["confusion_matrix"] == [[0, 1], [0, 3]]
    assert majority_baseline([0, 1], [0, 1])["predicted_class"] == 0  # tie: the negative class


def test_binary_metrics_refuse_one_class_bad_labels_and_nan_scores():
    with pytest.raises(DataFormatError, match="one of each class"):
        binary_metrics([1, 1], [0.2, 0.9])
    with pytest.raises(DataFormatError, match="label 2"):
        binary_metrics([0, 2], [0.2, 0.9])
    with pytest.raises(DataFormatError, match="review 1"):
        binary_metrics([0, 1], [0.2, np.nan])


def separable_reviews(count: int = 200) -> tuple[list[np.ndarray], np.ndarray]:
    """Offset reviews whose label is one word: raw ranks 10..59 are noise; positives also hold rank 5 (id 8)."""
    rng = np.random.default_rng(0)
    labels = np.arange(count) % 2
    raw = [np.r_[rng.integers(10, 60, size=20), [5] * int(label)] for label in labels]
    return offset_reviews(raw, num_words=100), labels


def test_bag_of_words_learns_a_separable_word():
    reviews, labels = separable_reviews()
    model = fit_bag_of_words(
        reviews[:150], labels[:150], reviews[150:], labels[150:],
        epochs=15, batch_size=16, seed=1, num_words=100, learning_rate=1e-2,
    )  # fmt: skip
    history = model.history.history
    assert set(history) >= {"accuracy", "val_accuracy", "loss", "val_loss"}
    assert len(history["loss"]) == 15 and history["loss"][-1] < 0.5 * history["loss"][0]
    out = bag_of_words_metrics(model, reviews[150:], labels[150:])
    assert out["accuracy"] > 0.9 and out["roc_auc"] > 0.9 and out["reviews"] == 50
    assert out["accuracy"] == pytest.approx(history["val_accuracy"][-1])  # the same 50 reviews, per batch both


def test_fit_bag_of_words_same_seed_same_weights():
    reviews, labels = separable_reviews(60)
    fit = dict(epochs=2, batch_size=8, num_words=100, learning_rate=1e-2)  # 8 batches an epoch, reshuffled
    first, second, other = (fit_bag_of_words(reviews, labels, None, None, seed=seed, **fit) for seed in (3, 3, 4))
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(first.get_weights(), other.get_weights()))


def test_bag_of_words_metrics_score_the_rows_multi_hot_builds():
    reviews, labels = separable_reviews(1100)  # three batches of prediction, the last one partial
    model = fit_bag_of_words(reviews[:100], labels[:100], None, None, epochs=1, batch_size=32, seed=0,
                             num_words=100)
    out = bag_of_words_metrics(model, reviews, labels)
    dense = binary_metrics(labels, model.predict(multi_hot(reviews, num_words=100), verbose=0))
    assert out["reviews"] == 1100 and out["confusion_matrix"] == dense["confusion_matrix"]
    assert out["roc_auc"] == pytest.approx(dense["roc_auc"], abs=1e-6)


def test_fit_bag_of_words_refuses_mismatched_labels():
    with pytest.raises(SettingsError, match="3 training reviews and 2 labels"):
        fit_bag_of_words([np.array([1])] * 3, [0, 1], None, None, epochs=1, batch_size=2, seed=0, num_words=10)


def test_bag_of_words_refuses_ids_outside_the_vocabulary_naming_the_review():
    reviews = [np.array([1, 2]), np.array([1, 10])]
    with pytest.raises(SettingsError, match="review 1 holds id 10"):
        fit_bag_of_words(reviews, [0, 1], None, None, epochs=1, batch_size=2, seed=0, num_words=10)
    with pytest.raises(SettingsError, match="review 1 holds id 10"):
        fit_bag_of_words(reviews[:1], [0], reviews, [0, 1], epochs=1, batch_size=2, seed=0, num_words=10)
    model = fit_bag_of_words(reviews[:1] * 2, [0, 1], None, None, epochs=1, batch_size=2, seed=0, num_words=10)
    with pytest.raises(SettingsError, match="review 1 holds id 10"):
        bag_of_words_metrics(model, reviews, [0, 1])


# ---------------------------------------------------------------------------------------------------------------
# Blessing
# ---------------------------------------------------------------------------------------------------------------
def test_strongest_baseline_depends_on_the_direction():
    baselines = {"persistence": 0.29, "mean": 0.88}
    assert strongest_baseline(baselines, higher_is_better=False) == ("persistence", 0.29)
    assert strongest_baseline(baselines, higher_is_better=True) == ("mean", 0.88)


def test_bless_lower_is_better_with_the_boundary_blessed():
    baselines = {"persistence": 0.3, "mean": 0.9}
    assert bless(0.2, baselines, higher_is_better=False, margin=0.1)["blessed"]  # exactly 0.1 better
    assert not bless(0.2001, baselines, higher_is_better=False, margin=0.1)["blessed"]
    out = bless(0.452, {"persistence": 0.29, "mean": 0.88}, higher_is_better=False, margin=0.005, metric="val MAE")
    assert out == {
        "blessed": False,
        "baseline": "persistence",
        "baseline_value": 0.29,
        "margin": 0.005,
        "model_value": 0.452,
        "higher_is_better": False,
        "reason": "val MAE 0.452 does not beat persistence 0.29 by 0.005: not blessed",
    }


def test_bless_higher_is_better_with_the_boundary_blessed():
    baselines = {"majority": 0.5, "bag_of_words": 0.87}
    out = bless(0.89, baselines, higher_is_better=True, margin=0.02, metric="test accuracy")
    assert out["blessed"] and out["baseline"] == "bag_of_words"
    assert out["reason"] == "test accuracy 0.89 beats bag_of_words 0.87 by 0.02: blessed"
    assert not bless(0.8899, baselines, higher_is_better=True, margin=0.02)["blessed"]
    assert not bless(float("nan"), baselines, higher_is_better=True, margin=0.0)["blessed"]


def test_bless_refuses_a_negative_margin_and_no_baselines():
    with pytest.raises(SettingsError, match="margin -0.1"):
        bless(0.2, {"persistence": 0.3}, higher_is_better=False, margin=-0.1)
    with pytest.raises(ValueError, match="no baselines"):
        bless(0.2, {}, higher_is_better=False, margin=0.0)
