"""The champion on new data: scored on exactly the rows of a newly published version that it never trained,
validated or was tested on, beside the same baselines with the same metrics (no training).

For a series the rows it saw end at the last timestamp of its run's splits (metrics.json records each split's
first and last time, so the answer survives the version it trained on being pruned); the new windows are every
window whose inputs and target all lie after that time. For Jena the truth of a forecast arrives 24 h after it is
made, so this is the live error of the model users have been served. For text the new reviews are those whose
(word ids, label) are in no split of the version the champion trained on (its run names that version's folder).

Each judgement is a record (`new_data_record`) kept in the champion's registry entry under `new_data`, newest last
(`keep_record`: the entry is rewritten with one atomic rename under the registry's lock). tasks.publish.new_data
shows it, emits the Prefect event and draws the ratio per version; tasks.ingest.retraining's `on_decay` reads it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tasks.core import runs
from tasks.core.config import FAMILIES, TrainSettings
from tasks.core.errors import DataFormatError
from tasks.core.log import log
from tasks.core.records.metrics import Metrics
from tasks.core.records.registry import NEW_DATA, RegistryEntry, current_records
from tasks.judge.blessing import bless
from tasks.judge.metrics import binary_metrics, mae, to_celsius

LABEL = "new-data"  # how a record's sentences name the rows it was judged on


# ---------------------------------------------------------------------------------------------------------------
# Series: windows after the last row the champion saw
# ---------------------------------------------------------------------------------------------------------------
def seen_until(model_dir: Path) -> int:
    """The time (int64 seconds) of the last row any split of the run in `model_dir` held: every later row is
    new to it. Read from its metrics.json (each split's "last"), so it does not need the version it trained on.

    Raises:
        DataFormatError: if the run's metrics.json records no split times (a run from before they were kept).
    """
    splits = Metrics.read(Path(model_dir)).data.get("splits") or {}
    lasts = [f.get("last") for f in splits.values() if isinstance(f, dict) and f.get("last")]
    if not lasts:
        raise DataFormatError(f"{Path(model_dir) / runs.METRICS}: no split times recorded (an older run); cannot "
                              "tell which rows are new to it")
    return int(max(np.datetime64(t, "s").astype(np.int64) for t in lasts))


def score_series(model, s: TrainSettings, path: Path, model_dir: Path) -> dict[str, Any] | None:
    """The model, persistence and mean on every window of the record at `path` whose inputs and target all come
    after the last row the model's run saw, normalized with the model's own statistics; None when there is none.

    Returns:
        {"rows_from", "rows_to" (ISO times of the first input and last target), "windows", "model": {"mae",
        "mae_celsius"}, "baselines": {"persistence": {...}, "mean": {...}}}.
    """
    from tasks.core.records.normalization import NormalizationRecord
    from tasks.ingest import read_jena
    from tasks.judge.baselines import mean_predictions, persistence_predictions, targets
    from tasks.model import Normalizer, make_window_dataset, normalize, record_file, window_rows

    stored = NormalizationRecord.read(model_dir / runs.NORMALIZATION)  # the features it reads, its target's column
    seconds, features = read_jena(record_file(path, s), tuple(stored.features))
    after = int(np.searchsorted(seconds, seen_until(model_dir), side="right"))  # the first new row
    if after >= len(seconds):
        return None
    rows = window_rows(seconds, (after, len(seconds) - 1), s.lookback, s.delay, s.max_gap_minutes)
    if not len(rows):
        return None
    normalizer = Normalizer.from_record(stored)
    series = normalize(features, normalizer)
    target_col = int(stored.target_col)
    std = float(normalizer.std[target_col])
    ds = make_window_dataset(series, rows, lookback=s.lookback, step=s.step, delay=s.delay,
                             target_col=target_col, batch_size=s.batch_size, shuffle=False, seed=s.seed)
    truth = targets(series, rows, s.delay, target_col)
    predictions = {"model": model.predict(ds, verbose=0).ravel(),
                   "persistence": persistence_predictions(series, rows, s.step, target_col),
                   "mean": mean_predictions(rows)}  # 0: the training mean, in the model's own normalization
    scored = {name: {"mae": mae(truth, p), "mae_celsius": to_celsius(mae(truth, p), std), "windows": int(len(rows))}
              for name, p in predictions.items()}
    iso = lambda t: str(np.datetime64(int(t), "s"))  # noqa: E731
    return {"rows_from": iso(seconds[rows[0] - s.lookback]), "rows_to": iso(seconds[rows[-1] + s.delay]),
            "windows": int(len(rows)), "model": scored.pop("model"), "baselines": scored}


# ---------------------------------------------------------------------------------------------------------------
# Text: reviews in no split of the version the champion trained on
# ---------------------------------------------------------------------------------------------------------------
def review_keys(path: Path) -> tuple[list[np.ndarray], np.ndarray, list[bytes]]:
    """Every review of a published text version (train and test files): word ids, labels, and a sha256 of each
    (ids and label) that identifies it whatever file or position it is in."""
    from tasks.ingest import read_imdb_split

    reviews, labels = [], []
    for split in ("train", "test"):
        r, y = read_imdb_split(Path(path), split)
        reviews += list(r)
        labels.append(np.asarray(y))
    y = np.concatenate(labels)
    keys = [hashlib.sha256(np.asarray(r, dtype=np.int64).tobytes() + bytes([int(label)])).digest()
            for r, label in zip(reviews, y)]
    return reviews, y, keys


def score_text(model, s: TrainSettings, path: Path, model_dir: Path) -> dict[str, Any] | None:
    """The model and the majority class (of its own training reviews) on every review of the version at `path`
    that is not in the version its run trained on; None when there is none.

    Raises:
        DataFormatError: if the version the run trained on is gone (new reviews cannot be told apart).
    """
    from tasks.judge.baselines import majority_baseline
    from tasks.model import encode_reviews, in_order

    trained = Path(str((Metrics.read(Path(model_dir)).data.get("data") or {}).get("path")))
    if not trained.is_dir():
        raise DataFormatError(f"the version {Path(model_dir).name} trained on ({trained}) is gone: its reviews "
                              "cannot be told from new ones")
    _, old_y, old_keys = review_keys(trained)
    reviews, y, keys = review_keys(path)
    seen = set(old_keys)
    new = [i for i, k in enumerate(keys) if k not in seen]
    if not new:
        return None
    x = encode_reviews([reviews[i] for i in new], s.num_words, s.maxlen)
    labels = y[new]
    scores = model.predict(in_order(x, batch_size=128), verbose=0).ravel()
    return {"rows_from": None, "rows_to": None, "windows": len(new), "model": binary_metrics(labels, scores),
            "baselines": {"majority": majority_baseline(old_y, labels)}}


SCORERS: dict[str, Callable] = {"series": score_series, "text": score_text}  # kind -> how new rows are scored


# ---------------------------------------------------------------------------------------------------------------
# The record
# ---------------------------------------------------------------------------------------------------------------
def new_data_record(entry: RegistryEntry, version: Path, data_sha256: str) -> dict[str, Any] | None:
    """The champion of `entry` scored on the rows of the published `version` it never saw, against its baselines:
    a JSON-ready record, or None when the version holds no such rows.

    Returns:
        {"version", "data_sha256", "judged_at", "champion_run_id", "rows_from", "rows_to", "windows" (windows or
        reviews), "metric", "label", "model", "baselines", "baseline" (the strongest), "baseline_value", "ratio"
        (the champion's metric over the strongest baseline's), "margin", "beats" (by the blessing margin),
        "reason"}.
    """
    import keras

    model_dir = entry.model_dir
    s = runs.read_settings(model_dir)
    spec = FAMILIES[s.family]
    try:
        model = keras.models.load_model(model_dir / runs.MODEL, compile=False)
    except (OSError, ValueError) as error:
        raise DataFormatError(f"{model_dir / runs.MODEL}: cannot be loaded as a Keras model ({error})") from None
    scored = SCORERS[spec.kind](model, s, Path(version), model_dir)
    if scored is None:
        return None
    baselines = {name: b[spec.metric] for name, b in scored["baselines"].items()}
    label = f"{LABEL} {spec.label.removeprefix('val ')}"
    blessing = bless(scored["model"][spec.metric], baselines, higher_is_better=spec.higher_is_better,
                     margin=s.blessing_margin, metric=label)
    value, best = blessing["model_value"], blessing["baseline_value"]
    unit = "windows" if spec.kind == "series" else "reviews"
    sentence = (f"{label} {value:.4g} {'beats' if blessing['blessed'] else 'does not beat'} "
                f"{blessing['baseline']} {best:.4g} by {s.blessing_margin:.4g} on {scored['windows']:,} new {unit} of "
                f"version {Path(version).name} ({value / best:.2f}x {blessing['baseline']})")
    return {
        "version": Path(version).name,
        "data_sha256": data_sha256,
        "judged_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "champion_run_id": entry.run_id,
        **scored,
        "unit": unit,
        "metric": spec.metric,
        "label": label,
        "baseline": blessing["baseline"],
        "baseline_value": best,
        "ratio": value / best if best else float("nan"),
        "higher_is_better": spec.higher_is_better,
        "margin": float(s.blessing_margin),
        "beats": blessing["blessed"],
        "reason": sentence,
    }


def history(entry: RegistryEntry | dict | None) -> list[dict]:
    """The model's new-data records, of its champion and those before it (each names its own), oldest first."""
    if entry is None:
        return []
    extra = entry.extra if isinstance(entry, RegistryEntry) else entry
    return list(extra.get(NEW_DATA) or [])


def keep_record(registry_dir: Path, model: str, record: dict) -> RegistryEntry | None:
    """Append `record` to its champion's history in the registry (a record of the same data replaces the older),
    with one atomic rename under the registry's lock; None (nothing written) when the champion changed meanwhile."""
    from tasks.judge.registry import registry_lock

    with registry_lock(registry_dir, model):
        entry = RegistryEntry.read(registry_dir, model)
        if entry is None or entry.run_id != record["champion_run_id"]:
            log(f"{model}: the champion changed while it was judged on new data; record not kept")
            return None
        same = lambda r: (r.get("data_sha256"), r.get("champion_run_id")) == (record["data_sha256"], entry.run_id)  # noqa: E731
        kept = [r for r in history(entry) if not same(r)] + [record]
        updated = dataclasses.replace(entry, extra={**entry.extra, NEW_DATA: kept})
        updated.write(registry_dir)
        return updated


def judged_already(entry: RegistryEntry, data_sha256: str) -> bool:
    """Whether the champion already has a record of this data version (publishing it again judges nothing)."""
    return any(r.get("data_sha256") == data_sha256 for r in current_records(entry))
