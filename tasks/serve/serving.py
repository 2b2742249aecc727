"""A finished run's serving model: the trained model with its preprocessing inside, so that it takes what a user
has and needs neither this project's code nor its data folder.

    <run>/serving/model.keras     Keras: the serving model (loads with Keras once tasks.serve.serving_layers is
                                  imported, which registers the IMDB text layer)
    <run>/serving/saved_model/    TensorFlow SavedModel, the format TF Serving loads: tf.saved_model.load alone
    <run>/serving/serving.json    what goes in and comes out, and what the preprocessing was built from

IMDB (a string in, `probability` out): tasks.serve.serving_layers.ReviewEncoder (the text recipe and
keras.datasets.imdb's ids, over the run's own word_index.json) before the trained model. Jena (`readings` in,
`forecast_c` out): the last `lookback` 10-minute readings in file units (°C, mbar, ...; float64, the 14 features
in normalization.json's order, newest last); the rows the model reads (every `step`-th, ending at the newest, as
tasks.serve.forecasting.forecast_windows takes them), normalized by Keras' Normalization with the run's training
mean and std, the trained model, and the inverse Normalization back to °C.

Built per dataset family, not per model: any model of a family gets its serving model with no code of its own.
Keras and TensorFlow are imported inside the functions: importing this module costs no seconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import task

from tasks.core import atomic, runs
from tasks.core.cache import code_fingerprint
from tasks.core.config import TrainSettings
from tasks.core.errors import DataFormatError, SettingsError
from tasks.core.log import log
from tasks.core.records.normalization import NormalizationRecord

KERAS_FILE = "model.keras"  # in serving/: the Keras serving model
SAVED_MODEL = "saved_model"  # in serving/: the SavedModel
MANIFEST = "serving.json"  # in serving/: written last, so its presence means the export finished
SIGNATURE = "serving_default"  # the SavedModel signature TF Serving calls unless told another
CODE = ("serve.serving", "serve.serving_layers", "serve.text")  # a serving folder made by other code is made again
SIGNATURES = {  # family -> (input name, output name, what the output is)
    "imdb": ("reviews", "probability", "probability that the review is positive"),
    "jena": ("readings", "forecast_c", "temperature forecast, °C"),
}


# ---------------------------------------------------------------------------------------------------------------
# The run's own word index
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunWordIndex:
    """The word index an IMDB run was trained with, and where it was read."""

    words: dict[str, int]  # word -> rank
    path: Path  # the file read
    sha256: str
    own: bool  # the run's own copy (else the dataset version it trained on: a run from before runs kept one)
    note: str  # a sentence saying which index this is, for logs


def word_index_file(model_dir: Path) -> tuple[Path, bool] | None:
    """Where an IMDB run's word index is: (its own copy, True); for a run from before runs kept one, (the file of
    the dataset version it trained on, named by training.json, False); None when neither is there. Never whatever
    data/ holds now, which may be another vocabulary."""
    model_dir = Path(model_dir)
    if (model_dir / runs.WORD_INDEX).is_file():
        return model_dir / runs.WORD_INDEX, True
    training = atomic.read_json(model_dir / runs.TRAINING, "every finished run folder has one")
    version = str((training.get("data") or {}).get("path") or "")
    if version and (Path(version) / runs.WORD_INDEX).is_file():
        return Path(version) / runs.WORD_INDEX, False
    return None


def run_word_index(model_dir: Path) -> RunWordIndex:
    """The word index an IMDB run trained with (word_index_file), its own copy checked against word_index.sha256.

    Raises:
        DataFormatError: if the copy does not match its sha256 or is not a word index (naming the file).
        SettingsError: if the run has no copy and its dataset version's is gone, saying what to do.
    """
    from tasks.ingest import load_word_index

    model_dir = Path(model_dir)
    found = word_index_file(model_dir)
    if found is None:
        raise SettingsError(f"{model_dir} has no {runs.WORD_INDEX} (a run made before runs kept their word index, "
                            "or trained on a dataset without one) and the dataset version it trained on has none "
                            f"either: train the model again, or copy that version's word_index.json into {model_dir} "
                            "(not another version's: its vocabulary may differ)")
    path, own = found
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    recorded = model_dir / runs.WORD_INDEX_SHA256
    expected = (recorded.read_text().split() or [""])[0] if own and recorded.is_file() else None
    if expected is not None and expected != sha256:
        raise DataFormatError(f"{path}: sha256 {sha256}, but {recorded} says {expected}: the run's word index "
                              "changed since training; restore it or train the model again")
    where = ("the run's own copy" if own else
             f"the dataset version {model_dir} trained on; the run keeps no copy, made before runs did")
    return RunWordIndex(load_word_index(path), path, sha256, own, f"word index: {path} ({where}, sha256 "
                                                                     f"{sha256[:12]})")


# ---------------------------------------------------------------------------------------------------------------
# Serving models, per family
# ---------------------------------------------------------------------------------------------------------------
def build_imdb_serving(model: Any, word_index: dict[str, int], num_words: int, maxlen: int, name: str) -> Any:
    """(batch,) raw review strings -> (batch, 1) probability: ReviewEncoder, then `model`.

    Raises:
        SettingsError: if `model` does not read (batch, maxlen) word ids.
    """
    import keras

    from tasks.serve.serving_layers import ReviewEncoder

    shape = tuple(model.input_shape)
    if len(shape) != 2 or shape[1] not in (None, maxlen):
        raise SettingsError(f"{model.name} reads inputs of shape {shape}; an IMDB serving model feeds (batch, "
                            f"{maxlen}) word ids")
    texts = keras.Input(shape=(), dtype="string", name=SIGNATURES["imdb"][0])  # (batch,)
    ids = ReviewEncoder(list(word_index), list(word_index.values()), num_words, maxlen, name="encode_reviews")(texts)
    return keras.Model(texts, model(ids), name=name)  # (batch, 1)


def build_jena_serving(model: Any, normalization: NormalizationRecord, name: str) -> Any:
    """(batch, lookback, features) raw readings (float64, file units, newest last) -> (batch, 1) forecast in °C.

    The rows read are every `step`-th ending at the newest (forecast_windows' rows e - lookback + step, ..., e), in
    float64 as tasks.model.normalize computes, so the trained model gets the float32 windows of the Python path.
    """
    import keras
    import numpy as np

    lookback, step, n = normalization.lookback, normalization.step, len(normalization.features)
    readings = keras.Input(shape=(lookback, n), dtype="float64", name=SIGNATURES["jena"][0])  # (batch, lookback, n)
    # Every step-th reading ending at the newest: the last of each group of `step` (plain slicing, no arithmetic)
    x = keras.layers.Reshape((lookback // step, step, n), dtype="float64", name="groups_of_step")(readings)
    x = keras.layers.Cropping2D(((0, 0), (step - 1, 0)), dtype="float64", name="last_of_each")(x)
    x = keras.layers.Reshape((lookback // step, n), dtype="float64", name="every_step")(x)  # (batch, lookback//step, n)
    normalize = keras.layers.Normalization(dtype="float64", name="normalize")
    x = normalize(x)
    x = keras.layers.Identity(dtype="float32", name="as_float32")(x)  # the float32 windows training fed the model
    denormalize = keras.layers.Normalization(invert=True, dtype="float64", name="to_celsius")
    out = denormalize(model(x))  # (batch, 1) °C
    # Weights, not constructor arguments: Keras writes the latter to its config as JSON numbers read back as
    # float32, which would move the pressure's mean by 1e-5 mbar.
    for layer, mean, std in ((normalize, normalization.mean, normalization.std),
                             (denormalize, [normalization.target_mean], [normalization.target_std])):
        layer.adapt_mean.assign(np.asarray(mean, dtype=np.float64))
        layer.adapt_variance.assign(np.square(np.asarray(std, dtype=np.float64)))
        layer.finalize_state()
    return keras.Model(readings, out, name=name)


def build_serving_model(model_dir: Path, settings: TrainSettings | None = None) -> tuple[Any, dict[str, Any]]:
    """The serving model of a finished run folder, and what it was built from (for serving.json).

    Raises:
        SettingsError, DataFormatError, PredictInputError: from the run's files (missing, or not what they say).
    """
    from tasks.serve.common import load_model
    from tasks.serve.forecasting import read_normalization

    model_dir = Path(model_dir)
    settings = settings or runs.read_settings(model_dir)
    model = load_model(model_dir / runs.MODEL)
    name = f"{settings.model}_serving"
    if settings.family == "imdb":
        index = run_word_index(model_dir)
        log(index.note)
        built = build_imdb_serving(model, index.words, settings.num_words, settings.maxlen, name)
        return built, {"word_index": {"file": str(index.path), "sha256": index.sha256, "words": len(index.words)},
                       "num_words": settings.num_words, "maxlen": settings.maxlen}
    if settings.family == "jena":
        normalization = read_normalization(model_dir / runs.NORMALIZATION)
        return build_jena_serving(model, normalization, name), {"normalization": normalization.to_json()}
    raise SettingsError(f"no serving model for the {settings.family!r} family; known: {', '.join(SIGNATURES)}")


def input_spec(family: str, built: Any) -> Any:
    """The SavedModel signature's input: its name, dtype and shape (batch first)."""
    import tensorflow as tf

    name = SIGNATURES[family][0]
    if family == "imdb":
        return tf.TensorSpec([None], tf.string, name=name)
    return tf.TensorSpec([None, *built.input_shape[1:]], tf.float64, name=name)


def export_saved_model(built: Any, family: str, path: Path) -> None:
    """`built` as a SavedModel at `path` with one signature, SIGNATURE: {input name: ...} -> {output name: (batch,)}.

    keras.export.ExportArchive is what `model.export` runs; used directly, it names the output too.
    """
    import keras
    import tensorflow as tf

    _, output, _ = SIGNATURES[family]
    archive = keras.export.ExportArchive()
    archive.track(built)

    def serve(x):
        return {output: tf.reshape(built(x, training=False), [-1])}  # (batch,)

    archive.add_endpoint(SIGNATURE, serve, input_signature=[input_spec(family, built)])
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
        The serving folder; None for an IMDB run without a word index (trained on a dataset that has none), which
        cannot read raw text.

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
    if settings.family == "imdb" and word_index_file(model_dir) is None:
        log(f"no serving model for {model_dir}: no word index to read raw text with (trained on a dataset without "
            "word_index.json)", logging.WARNING)
        return None
    tmp = model_dir / f"{runs.SERVING}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        built, made_from = build_serving_model(model_dir, settings)
        built.save(tmp / KERAS_FILE)
        export_saved_model(built, settings.family, tmp / SAVED_MODEL)
        name, output, meaning = SIGNATURES[settings.family]
        spec = input_spec(settings.family, built)
        atomic.write_json(tmp / MANIFEST, {
            "model": settings.model,
            "family": settings.family,
            "run_dir": str(model_dir.resolve()),
            "keras": KERAS_FILE,
            "saved_model": SAVED_MODEL,
            "signature": SIGNATURE,
            "input": {"name": name, "dtype": spec.dtype.name, "shape": list(spec.shape.as_list())},
            "output": {"name": output, "dtype": "float32" if settings.family == "imdb" else "float64",
                       "shape": [None], "meaning": meaning},
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
