"""A finished run's serving model: the trained model with its preprocessing inside, so that it takes what a user
has and needs neither this project's code nor its data folder.

    <run>/serving/model.keras     Keras: the serving model (loads with Keras once tasks.serve.serving_layers is
                                  imported, which registers the IMDB text layer)
    <run>/serving/saved_model/    TensorFlow SavedModel, the format TF Serving loads: tf.saved_model.load alone
    <run>/serving/serving.json    what goes in and comes out, and what the preprocessing was built from

Each kind of dataset builds its own (tasks.serve.kinds). Text (a string in, `probability` out; tasks.serve.text):
tasks.serve.serving_layers.ReviewEncoder (the text recipe and keras.datasets.imdb's ids, over the run's own
word_index.json) before the trained model. Series (`readings` in, `forecast_c` out; tasks.serve.series): the last
`lookback` 10-minute readings in file units (°C, mbar, ...; float64, the features in normalization.json's order,
newest last); the rows the model reads (every `step`-th, ending at the newest, as
tasks.serve.series.forecast_windows takes them), normalized by Keras' Normalization with the run's training mean
and std, the trained model, and the inverse Normalization back to °C.

Built per kind of dataset, not per model: any model of a kind gets its serving model with no code of its own.
Keras and TensorFlow are imported inside the functions: importing this module costs no seconds.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from prefect import task

from tasks.core import atomic, runs
from tasks.core.cache import code_fingerprint
from tasks.core.config import TrainSettings
from tasks.core.errors import DataFormatError
from tasks.core.log import log
from tasks.serve.kinds import KINDS, kind_of

KERAS_FILE = "model.keras"  # in serving/: the Keras serving model
SAVED_MODEL = "saved_model"  # in serving/: the SavedModel
MANIFEST = "serving.json"  # in serving/: written last, so its presence means the export finished
SIGNATURE = "serving_default"  # the SavedModel signature TF Serving calls unless told another
CODE = tuple(sorted({"serve.serving", "serve.kinds", *(m for k in KINDS.values() for m in k.SERVING_CODE)}))  # the
# code a serving folder is made by, every kind's (each names its own): a folder made by other code is made again


# ---------------------------------------------------------------------------------------------------------------
# The serving model, by the run's kind
# ---------------------------------------------------------------------------------------------------------------
def build_serving_model(model_dir: Path, settings: TrainSettings | None = None) -> tuple[Any, dict[str, Any]]:
    """The serving model of a finished run folder, built by its dataset's kind, and what it was built from (for
    serving.json).

    Raises:
        SettingsError, DataFormatError, PredictInputError: from the run's files (missing, or not what they say).
    """
    from tasks.serve.common import load_model

    model_dir = Path(model_dir)
    settings = settings or runs.read_settings(model_dir)
    model = load_model(model_dir / runs.MODEL)
    return kind_of(settings.family).build_serving(model, model_dir, settings, f"{settings.model}_serving".replace("@", "-on-"))  # Keras names take no @


def export_saved_model(built: Any, family: str, path: Path) -> None:
    """`built` as a SavedModel at `path` with one signature, SIGNATURE: {input name: ...} -> {output name: (batch,)}.

    keras.export.ExportArchive is what `model.export` runs; used directly, it names the output too.
    """
    import keras
    import tensorflow as tf

    kind = kind_of(family)
    _, output, _ = kind.SIGNATURE
    archive = keras.export.ExportArchive()
    archive.track(built)

    def serve(x):
        y = built(x, training=False)
        return {output: tf.reshape(y, [-1]) if y.shape[-1] == 1 else y}  # (batch,), or (batch, labels) past two

    archive.add_endpoint(SIGNATURE, serve, input_signature=[kind.input_spec(built)])
    archive.write_out(str(path), verbose=False)


# ---------------------------------------------------------------------------------------------------------------
# The serving folder
# ---------------------------------------------------------------------------------------------------------------
def serving_code() -> str:
    """The fingerprint of the code a serving folder is made by: another fingerprint means make it again."""
    return code_fingerprint(CODE)


def serving_is_current(folder: Path) -> bool:
    """Whether `folder` is a finished serving folder made by this code."""
    try:
        return atomic.read_json(Path(folder) / MANIFEST, "written last by export_serving").get("code") == serving_code()
    except DataFormatError:
        return False


def export_serving(model_dir: Path) -> Path | None:
    """Make `<run>/serving/` for a finished run: the Keras serving model, its SavedModel and serving.json.

    Idempotent: a serving folder made by this code is kept as it is. Built in `serving.tmp-<pid>` beside it and
    renamed into place when whole, so a failed export leaves the earlier folder (or none), never half of one.

    Returns:
        The serving folder; None for a run its kind cannot serve (a text run without a word index, trained on a
        dataset that has none, cannot read raw text), said in the log.

    Raises:
        SettingsError, DataFormatError, PredictInputError: if the run folder cannot be served (what is missing).
    """
    import keras
    import tensorflow as tf

    model_dir = runs.check_model_dir(model_dir)
    target = model_dir / runs.SERVING
    if serving_is_current(target):
        return target
    settings = runs.read_settings(model_dir)
    kind = kind_of(settings.family)
    why_not = kind.unservable(model_dir)
    if why_not:
        log(f"no serving model for {model_dir}: {why_not}", logging.WARNING)
        return None
    tmp = model_dir / f"{runs.SERVING}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        built, made_from = build_serving_model(model_dir, settings)
        built.save(tmp / KERAS_FILE)
        export_saved_model(built, settings.family, tmp / SAVED_MODEL)
        name, output, meaning = kind.SIGNATURE
        spec = kind.input_spec(built)
        atomic.write_json(tmp / MANIFEST, {
            "model": settings.model,
            "family": settings.family,
            "run_dir": str(model_dir.resolve()),
            "keras": KERAS_FILE,
            "saved_model": SAVED_MODEL,
            "signature": SIGNATURE,
            "input": {"name": name, "dtype": spec.dtype.name, "shape": list(spec.shape.as_list())},
            "output": {"name": output, "dtype": kind.OUTPUT_DTYPE, "meaning": meaning,
                       "shape": [None] if built.output_shape[-1] == 1 else [None, built.output_shape[-1]]},
            **made_from,
            "code": serving_code(),
            "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        })
        old = model_dir / f"{runs.SERVING}.old-{os.getpid()}"
        if target.exists():  # one made by other code: set aside, then dropped once the new one is in place
            os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log(f"serving model of {settings.model}: {target} ({SIGNATURE}: {name} -> {output})")
    return target


# ---------------------------------------------------------------------------------------------------------------
# The Prefect task
# ---------------------------------------------------------------------------------------------------------------
@task(task_run_name="export serving model of {model_dir.name}")
def export_serving_task(model_dir: Path) -> str | None:
    """Make the run's serving/ folder (its model with the preprocessing inside, as Keras and as a SavedModel)."""
    folder = export_serving(Path(model_dir))
    return str(folder) if folder else None
