"""Blessing: a model is blessed when it beats its strongest baseline by at least a margin.

Losing is a result (blessed False, with a reason to print), not an exception. A bad margin is a SettingsError, a
non-finite baseline a DataFormatError, no baselines at all a ValueError (a caller's bug).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from tasks.core.errors import DataFormatError, SettingsError


def strongest_baseline(baselines: Mapping[str, float], higher_is_better: bool) -> tuple[str, float]:
    """The baseline hardest to beat: the highest score or the lowest error; the first listed on a tie.

    Args:
        baselines: name -> value of the same metric, e.g. {"persistence": 0.29, "mean": 0.88}.
        higher_is_better: True for accuracy or AUC, False for MAE.

    Returns:
        (name, value).

    Raises:
        ValueError: if there are no baselines.
        DataFormatError: if a value is not a finite number.
    """
    if not baselines:
        raise ValueError("no baselines to compare with; expected at least one name -> value")
    for name, value in baselines.items():
        if not math.isfinite(value):
            raise DataFormatError(f"baseline {name!r} has value {value}; expected a finite number")
    pick = max if higher_is_better else min
    name = pick(baselines, key=lambda key: baselines[key])  # max/min keep the first of equal values
    return name, float(baselines[name])


def bless(
    model_value: float,
    baselines: Mapping[str, float],
    *,
    higher_is_better: bool,
    margin: float,
    metric: str = "score",
) -> dict:
    """Whether a model beats its strongest baseline by at least `margin`.

    Lower is better (MAE): blessed iff model <= baseline - margin. Higher is better (accuracy): blessed iff
    model >= baseline + margin. The boundary itself is blessed, up to float rounding (0.2 beats 0.3 by 0.1
    although 0.3 - 0.1 is 0.19999999999999998 in binary). A NaN model value is not blessed.

    Args:
        model_value: the model's metric on the evaluation split.
        baselines: name -> the same metric for each baseline, on the same split.
        higher_is_better: True for accuracy or AUC, False for MAE.
        margin: the least improvement that counts, in the metric's units; 0 asks only to match the baseline.
        metric: how the reason names the value, e.g. "val MAE" or "test accuracy".

    Returns:
        A JSON-ready dict: blessed, baseline (name), baseline_value, margin, model_value, higher_is_better and
        reason, a sentence such as "val MAE 0.452 does not beat persistence 0.29 by 0.005: not blessed".

    Raises:
        SettingsError: on a negative or non-finite margin.
        ValueError: if there are no baselines.
    """
    if not (math.isfinite(margin) and margin >= 0):
        raise SettingsError(f"margin {margin}: expected a finite number >= 0 in the metric's units")
    name, baseline_value = strongest_baseline(baselines, higher_is_better)
    model_value = float(model_value)
    improvement = model_value - baseline_value if higher_is_better else baseline_value - model_value
    blessed = bool(improvement >= margin or math.isclose(improvement, margin, rel_tol=1e-9, abs_tol=1e-12))
    verb = "beats" if blessed else "does not beat"
    reason = (
        f"{metric} {model_value:.4g} {verb} {name} {baseline_value:.4g} by {margin:.4g}: "
        f"{'blessed' if blessed else 'not blessed'}"
    )
    return {
        "blessed": blessed,
        "baseline": name,
        "baseline_value": baseline_value,
        "margin": float(margin),
        "model_value": model_value,
        "higher_is_better": bool(higher_is_better),
        "reason": reason,
    }
