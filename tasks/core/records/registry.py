"""A champion registry entry: `artifacts/registry/<model>.json`, which run of a model is the one to use."""

from __future__ import annotations

import json
import math
from pathlib import Path

from tasks.core.config import FAMILIES, MODELS, family
from tasks.core.errors import DataFormatError


ENTRY_FIELDS = ("model", "run_id", "metrics", "data_sha256", "code_commit", "model_path", "promoted_at",
                "previous_run_id")


def registry_path(registry_dir: Path, model: str) -> Path:
    """Where the champion of `model` is recorded: <registry_dir>/<model>.json."""
    return Path(registry_dir) / f"{model}.json"


def validation_metric(metrics: dict) -> tuple[str, str, bool]:
    """(key in metrics["validation"], label for sentences, higher is better) of a metrics.json or registry entry.

    The model family decides; metrics["monitor"] (val_accuracy / val_loss) must agree where it is present.
    """
    model = metrics.get("model")
    if not isinstance(model, str) or model not in MODELS:
        raise DataFormatError(f"metrics name no known model (got {model!r}); expected a metrics.json of a finished run")
    spec = FAMILIES[family(model)]
    monitor = metrics.get("monitor")
    if monitor is not None and monitor != spec.monitor:
        raise DataFormatError(f"{model}: monitor {monitor!r} does not match the {spec.name} family's {spec.monitor!r}")
    return spec.metric, spec.label, spec.higher_is_better


def validation_value(metrics: dict) -> float:
    """The validation metric a champion is judged on (accuracy or MAE) of a metrics.json or registry entry."""
    key, _, _ = validation_metric(metrics)
    try:
        return float(metrics["validation"][key])
    except (KeyError, TypeError, ValueError):
        raise DataFormatError(
            f"{metrics.get('model')} run {metrics.get('run_id')!r} has no number at validation.{key}"
        ) from None


def read_champion(registry_dir: Path, model: str) -> dict | None:
    """The registry entry of `model`'s champion, or None if it has none yet.

    Raises:
        DataFormatError: if the file is not a JSON object with the registry's fields (naming file and field).
    """
    path = registry_path(registry_dir, model)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        entry = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataFormatError(f"champion registry {path} is not valid JSON: {error}; fix or delete it") from None
    if not isinstance(entry, dict):
        raise DataFormatError(f"champion registry {path} holds a {type(entry).__name__}; expected a JSON object")
    missing = [name for name in ENTRY_FIELDS if name not in entry]
    if missing:
        raise DataFormatError(
            f"champion registry {path} lacks {', '.join(missing)}; expected {', '.join(ENTRY_FIELDS)}"
        )
    if entry["model"] != model:
        raise DataFormatError(f"champion registry {path} names model {entry['model']!r}; expected {model!r}")
    try:
        value = validation_value(entry["metrics"])
    except DataFormatError as error:
        raise DataFormatError(f"champion registry {path}: {error}") from None
    if not math.isfinite(value):
        raise DataFormatError(f"champion registry {path}: validation metric {value}; expected a finite number")
    return entry
