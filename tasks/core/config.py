"""Where the data comes from, what it looks like, and the settings of each stage.

Settings objects are frozen and typed; every field says its unit or why. Nothing here does work at import time.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from tasks.core.errors import SettingsError

# ---------------------------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------------------------
CANONICAL_BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"  # IMDB and the classic Jena zip
STATION_BASE_URL = "https://www.bgc-jena.mpg.de/wetter/"  # the weather station's own half-year files
MIRROR_ENV = "SEQCONV_MIRROR"  # default for every `mirror` setting: a local folder or a base URL
CHECKSUMS_FILE = "SHA256SUMS"  # on a mirror: sha256 of files whose bytes differ from the canonical ones


@dataclass(frozen=True)
class Source:
    """One downloadable file; its name is the same on the canonical site and on every mirror."""

    name: str  # file name, e.g. "imdb.npz"
    base_url: str  # canonical folder URL, ending in "/"
    sha256: str | None = None  # pinned digest of the canonical bytes; None where none is published
    md5: str | None = None  # some sources publish only an md5

    @property
    def url(self) -> str:
        return self.base_url + self.name


IMDB_NPZ = Source(
    "imdb.npz",
    CANONICAL_BASE_URL,
    sha256="69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
)
IMDB_WORD_INDEX = Source(
    "imdb_word_index.json",
    CANONICAL_BASE_URL,
    md5="bfafd718b763782e994055a2d397834f",
)
JENA_CLASSIC = Source("jena_climate_2009_2016.csv.zip", CANONICAL_BASE_URL)  # no published checksum

STATION_FILE = re.compile(r"^mpi_roof_(\d{4})([ab])\.(csv|zip)$")  # a = January-June, b = July-December


def station_source(name: str) -> Source:
    """The Source of one of the station's half-year files, e.g. `mpi_roof_2024a.csv`."""
    if not STATION_FILE.match(name):
        raise SettingsError(
            f"Jena file {name!r} is not a station half-year file: expected mpi_roof_YYYYa or mpi_roof_YYYYb "
            "with .csv or .zip (a = January-June, b = July-December)"
        )
    return Source(name, STATION_BASE_URL)


def jena_sources(files: list[str] | tuple[str, ...] | None) -> tuple[Source, ...]:
    """The classic zip by default, else the named station files."""
    if not files:
        return (JENA_CLASSIC,)
    repeated = sorted({name for name in files if list(files).count(name) > 1})
    if repeated:
        raise SettingsError(f"Jena file(s) {', '.join(repeated)} named more than once; name each file once")
    return tuple(station_source(name) for name in files)


def default_mirror() -> str | None:
    """The mirror named by $SEQCONV_MIRROR, or None for the canonical sites."""
    return os.environ.get(MIRROR_ENV) or None


JENA_FILES_ENV = "SEQCONV_JENA_FILES"  # default for `jena_files`: space-separated station file names


def default_jena_files() -> list[str] | None:
    """The station files named by $SEQCONV_JENA_FILES, or None for the classic zip."""
    return os.environ.get(JENA_FILES_ENV, "").split() or None


# ---------------------------------------------------------------------------------------------------------------
# Dataset shapes
# ---------------------------------------------------------------------------------------------------------------
IMDB_SPLITS = ("train", "test")
IMDB_REVIEWS_PER_SPLIT = 25_000  # Maas et al. 2011
IMDB_BALANCE_TOLERANCE = 0.01  # positive share may differ from 0.5 by at most this

JENA_TIMESTAMP = "Date Time"  # raw column: the end of each 10-minute period
JENA_TIMESTAMP_FORMAT = "%d.%m.%Y %H:%M:%S"
JENA_FEATURES = (  # the 14 classic measurement columns, in the classic order
    "p (mbar)",
    "T (degC)",
    "Tpot (K)",
    "Tdew (degC)",
    "rh (%)",
    "VPmax (mbar)",
    "VPact (mbar)",
    "VPdef (mbar)",
    "sh (g/kg)",
    "H2OC (mmol/mol)",
    "rho (g/m**3)",
    "wv (m/s)",
    "max. wv (m/s)",
    "wd (deg)",
)
JENA_TARGET = "T (degC)"
JENA_STEP_MINUTES = 10  # the station's sampling period
JENA_SPLITS = ("contiguous", "blocked")  # TrainSettings.split (tasks.model.windows.split_ranges)
JENA_SENTINEL = -9999.0  # the station's "no reading" marker
JENA_ENCODING = "latin-1"  # headers hold 0xB2 (²) and 0xB5 (µ)


# IMDB encoding: keras.datasets.imdb.load_data's, and the book's model inputs
IMDB_MAX_FEATURES = 10_000  # vocabulary: the 10,000 most frequent words (book: max_features)
IMDB_MAXLEN = 500  # words kept per review, the last ones (book: max_len)
IMDB_LEARNING_RATE = 1e-4  # the book's RMSprop(lr=1e-4) for the IMDB convnet
RMSPROP_LEARNING_RATE = 1e-3  # RMSprop's default in Keras 2 and 3, used by the book wherever it wrote RMSprop()
# load_data's defaults: ids 0..2 are reserved, real words start at 3 + their frequency rank.
PAD_CHAR = 0  # pad_sequences' fill value
START_CHAR = 1  # prepended to every review
OOV_CHAR = 2  # any word outside the vocabulary
INDEX_FROM = 3  # added to each raw rank in imdb.npz


@dataclass(frozen=True)
class IngestSettings:
    """Where ingestion reads from and writes to."""

    data_dir: Path = Path("data")  # holds raw/, processed/ and validation/
    mirror: str | None = None  # local folder or base URL with the sources' file names; None = canonical sites
    jena_files: tuple[str, ...] = ()  # station files to combine; empty = the classic 2009-2016 zip

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def processed_dir(self) -> Path:
        return self.data_dir / "processed"

    @property
    def validation_dir(self) -> Path:
        return self.data_dir / "validation"


# ---------------------------------------------------------------------------------------------------------------
# Training: the published settings per model, and profiles that hold only their overrides
# ---------------------------------------------------------------------------------------------------------------
MODELS = ("imdb_conv", "jena_conv", "jena_conv_gru", "jena_conv_gru_fast")


@dataclass(frozen=True)
class Family:
    """What differs between the two dataset families, in one place: every stage reads it from FAMILIES."""

    name: str  # "imdb" or "jena": the dataset, and the folder data/processed/<name>
    files: tuple[str, ...]  # the published dataset's Parquet files
    metric: str  # key in metrics["validation"] and ["test"] that judges a model
    label: str  # how sentences name the validation metric
    higher_is_better: bool  # accuracy: yes; MAE: no
    monitor: str  # the Keras log key that picks the best epoch (and early stopping)
    curve: str  # the history.csv column the training-curve plot shows (plus val_<curve>)
    curve_label: str  # its axis label
    unit: str  # what evaluation counts: reviews or windows
    baselines: tuple[str, ...]  # the baselines a model is judged against, in report order
    compared: str  # key in metrics["validation"] that compares two models (champion and challenger): one that
    # means the same for both, whatever statistics each normalized its inputs with (Jena: MAE in °C)
    compared_label: str  # how sentences name it

    @property
    def mode(self) -> str:
        """"max" or "min", as Keras callbacks say it."""
        return "max" if self.higher_is_better else "min"


FAMILIES: dict[str, Family] = {
    "imdb": Family("imdb", ("train.parquet", "test.parquet"), "accuracy", "val accuracy", True, "val_accuracy",
                   "accuracy", "Accuracy", "reviews", ("majority", "bag_of_words"), "accuracy", "val accuracy"),
    "jena": Family("jena", ("jena.parquet",), "mae", "val MAE", False, "val_loss", "loss", "MAE (normalized)",
                   "windows", ("persistence", "mean"), "mae_celsius", "val MAE (°C)"),
}
MODEL_FAMILY = {"imdb_conv": "imdb", "jena_conv": "jena", "jena_conv_gru": "jena", "jena_conv_gru_fast": "jena"}


def family(model: str) -> str:
    """"imdb" or "jena": which dataset a model trains on."""
    try:
        return MODEL_FAMILY[model]
    except KeyError:
        raise SettingsError(f"unknown model {model!r}; allowed: {', '.join(MODELS)}") from None


def family_of(model: str) -> Family:
    """The Family row of a model."""
    return FAMILIES[family(model)]


@dataclass(frozen=True)
class TrainSettings:
    """Every knob of one model's training run. Defaults are generic; `PUBLISHED` sets the book's values."""

    model: str = "imdb_conv"  # one of MODELS
    profile: str = "seed"  # the profile these settings were resolved from (recorded, not a knob)
    epochs: int = 10  # passes (IMDB) or epochs of `steps_per_epoch` batches (Jena)
    batch_size: int = 128  # samples per gradient step
    learning_rate: float = 1e-3  # the optimizer's (peak) learning rate
    optimizer: str = "rmsprop"  # one of OPTIMIZERS: the book's RMSprop, or Adam
    weight_decay: float = 0.0  # decoupled weight decay per step, as a fraction of the learning rate (0 = the book)
    lr_schedule: str = "constant"  # one of LR_SCHEDULES: "constant" (the book), or "cosine": from learning_rate
    # down to 0 over `epochs` by a half cosine, set at the start of each epoch (so a resumed run is on schedule)
    weight_averaging: float = 0.0  # momentum of an exponential moving average of the weights, per step (Polyak
    # averaging, Keras' use_ema): validation judges, and the run keeps, the averaged weights. 0 = off (the book);
    # 0.99 averages about the last 100 steps. Same parameters; the average of nearby checkpoints, not a new model
    seed: int = 1337  # keras.utils.set_random_seed: weights, shuffling, dropout
    deterministic: bool = True  # tf op determinism: same machine, same settings -> same metrics
    early_stopping_patience: int = 0  # epochs without a better validation metric before stopping; 0 = off
    mixed_precision: bool = False  # float16 compute on a GPU (ignored on a CPU, where it is slower)
    tensorboard: bool = True  # write TensorBoard logs beside the run
    blessing_margin: float = 0.0  # how much the model must beat its strongest baseline by (metric units)
    # IMDB
    num_words: int = 10_000  # vocabulary: the most frequent words; rarer ones become the OOV index
    maxlen: int = 500  # words kept per review (the last ones, as pad_sequences truncates "pre")
    validation_split: float = 0.2  # the last 20% of the (seed-113 shuffled) training set, as Keras fit does
    dropout: float = 0.0  # dropout before the output layer, any model (0 = as published); adds no parameters
    embedding_dropout: float = 0.0  # imdb_conv: SpatialDropout1D on the word vectors (0 = as published)
    output_layer: str = "sigmoid"  # imdb_conv: "sigmoid", or "published": the book's plain Dense(1) under
    # binary cross-entropy (tasks.model.architectures.build_imdb_conv says why we changed it)
    max_train_samples: int = 0  # subsample the training set (0 = all 25,000); for smoke runs
    max_test_samples: int = 0  # subsample the test set (0 = all 25,000); for smoke runs
    bow_epochs: int = 4  # bag-of-words baseline epochs
    # Jena
    lookback: int = 1440  # rows of history per window (10 days at 10 minutes a row)
    step: int = 6  # rows between the samples of a window (6 = one per hour)
    delay: int = 144  # rows between the window's end and its target (24 hours)
    steps_per_epoch: int = 500  # training batches per epoch, drawn from the shuffled, repeated windows
    validation_steps: int = 0  # validation batches watched per epoch while training (0 = every window); the
    # final judgement (tasks.judge.evaluate) always uses every validation and test window
    max_gap_minutes: int = 360  # no window spans a hole in the 10-minute grid longer than this
    split: str = "contiguous"  # one of JENA_SPLITS: "contiguous" = the book's train, val, test one after the other;
    # "blocked" = calendar blocks of block_days dealt as block_pattern, so a short record has every season in
    # every split (tasks.model.windows explains both, and the windows the block boundaries cost)
    block_days: int = 28  # whole days per block (blocked only); longer than a window's lookback + delay (11 days)
    block_pattern: str = "train,train,val,test"  # splits dealt to consecutive blocks, repeating (blocked only):
    # 50/25/25 of the rows, each split's blocks together, so three split boundaries per 16 weeks, the fewest
    recurrent_dropout: float = 0.5  # GRU recurrent dropout (0 makes it eligible for the cuDNN kernel)
    gru_dropout: float = 0.1  # dropout on the GRU's inputs (the book's 0.1)
    input_noise: float = 0.0  # Jena: stddev of Gaussian noise on the normalized inputs while training (0 = none)

    @property
    def family(self) -> str:
        return family(self.model)

    @property
    def spec(self) -> Family:
        """The model family's row of FAMILIES."""
        return FAMILIES[self.family]


PUBLISHED: dict[str, dict] = {  # Deep Learning with Python, 1st ed., §6.4
    "imdb_conv": dict(epochs=10, batch_size=32, learning_rate=1e-4, blessing_margin=0.005),
    "jena_conv": dict(epochs=20, steps_per_epoch=500, batch_size=128, step=6, learning_rate=1e-3,
                      blessing_margin=0.005),
    "jena_conv_gru": dict(epochs=20, steps_per_epoch=500, batch_size=128, step=3, learning_rate=1e-3,
                          blessing_margin=0.005),
    # Not in the book: recurrent_dropout=0 lets the GRU run on cuDNN; reported apart from the published model.
    "jena_conv_gru_fast": dict(epochs=20, steps_per_epoch=500, batch_size=128, step=3, learning_rate=1e-3,
                               recurrent_dropout=0.0, blessing_margin=0.005),
}

PROFILES: dict[str, dict[str, dict]] = {  # overrides on top of PUBLISHED, by dataset family
    "seed": {"imdb": {}, "jena": {}},  # the published settings
    "quick": {  # a few minutes per model on 2 CPU cores
        "imdb": dict(epochs=3, bow_epochs=2),
        "jena": dict(epochs=6, steps_per_epoch=60, validation_steps=40),
    },
    "tuned": {  # the same architectures, tuned on the validation splits of the real data (RESULTS.md, 2026-11-28)
        # IMDB: 10x the book's step size overfits after 4-5 epochs; dropout 0.5 before the output and early
        # stopping on val accuracy (the best epoch's weights are kept) make up for it. Best of 4 settings.
        "imdb": dict(learning_rate=1e-3, dropout=0.5, early_stopping_patience=2, epochs=12),
        # Jena: smaller steps and batches; the 2024 splits shift seasons, so the best epoch comes early (3) and
        # early stopping saves the other 13-17 epochs. Best of 5 settings of jena_conv_gru.
        "jena": dict(learning_rate=3e-4, batch_size=32, early_stopping_patience=4),
    },
    "smoke": {  # seconds, for tests: tiny subsets, short windows
        # lr 1e-3: two epochs at the book's 1e-4 learn next to nothing
        "imdb": dict(epochs=2, max_train_samples=1500, max_test_samples=500, bow_epochs=1, learning_rate=1e-3,
                     tensorboard=False),
        "jena": dict(epochs=2, steps_per_epoch=3, validation_steps=2, lookback=288, batch_size=32,
                     tensorboard=False),
    },
}


PROFILES_DIR = Path(__file__).resolve().parents[2] / "profiles"  # profile files named on the command line
PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # a profile file's name: profiles/<name>.json
PROFILE_FILE_KEYS = ("base", "description", "models", "created_by")  # what a profile file may hold


def resolve_settings(model: str, profile: str, overrides: dict[str, str] | None = None) -> TrainSettings:
    """The settings of one run: TrainSettings defaults < PUBLISHED[model] < PROFILES[base] < the profile file's
    values for the model < overrides.

    `profile` is a built-in profile (PROFILES; then it is its own base and there is no file), or a profile file
    (profile_file: `profiles/<name>.json`, or a path ending in .json). Overrides come as strings (from
    `--set key=value`) and are converted to each field's type. Unknown models, profiles or keys, and values that
    make no sense, raise SettingsError saying what is allowed. The profile is recorded as given.
    """
    import dataclasses

    if model not in MODELS:
        raise SettingsError(f"unknown model {model!r}; allowed: {', '.join(MODELS)}")
    base, from_file = profile_layers(profile, model)
    values: dict = {**PUBLISHED[model], **PROFILES[base][family(model)], **from_file,
                    "model": model, "profile": profile}
    values.update(typed_settings(overrides or {}))
    settings = dataclasses.replace(TrainSettings(), **values)
    check_settings(settings)
    return settings


OPTIMIZERS = ("rmsprop", "adam")  # TrainSettings.optimizer (tasks.model.architectures.OPTIMIZERS builds them)
LR_SCHEDULES = ("constant", "cosine")  # TrainSettings.lr_schedule (tasks.model.train.learning_rate_at)
OUTPUT_LAYERS = ("sigmoid", "published")  # TrainSettings.output_layer (tasks.model.architectures.OUTPUT_LAYERS)


def typed_settings(values: dict, where: str = "") -> dict:
    """Setting values converted to each TrainSettings field's type, as `--set` converts them.

    Strings are parsed (`"3e-4"` -> 3e-4, `"no"` -> False); JSON numbers and booleans go through the same
    conversion as their text, so `1.5` is refused for an int field. `where` prefixes every error (a file's name).
    """
    import typing

    types = typing.get_type_hints(TrainSettings)
    allowed = ", ".join(k for k in types if k not in ("model", "profile"))
    out = {}
    for key, raw in values.items():
        if key not in types or key in ("model", "profile"):
            raise SettingsError(f"{where}unknown setting {key!r}; allowed: {allowed}")
        try:
            out[key] = _parse(key, setting_text(key, raw), types[key])
        except SettingsError as error:
            raise SettingsError(f"{where}{error}") from None
    return out


def setting_text(key: str, value) -> str:
    """A setting's value as `--set` would give it: strings as they are, JSON numbers and booleans as text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    raise SettingsError(f"setting {key}={value!r}: expected a string, number or boolean, "
                        f"not a {type(value).__name__}")


def profile_file(profile: str) -> Path | None:
    """The file a profile names: None for a built-in profile, else `profiles/<name>.json` of the checkout, or
    the path itself when it ends in .json."""
    if profile in PROFILES:
        return None
    if profile.endswith(".json"):
        return Path(profile)
    if PROFILE_NAME.match(profile) and (PROFILES_DIR / f"{profile}.json").is_file():
        return PROFILES_DIR / f"{profile}.json"
    raise SettingsError(f"unknown profile {profile!r}; allowed: {', '.join(PROFILES)}, a profile file "
                        f"{PROFILES_DIR}/<name>.json named by its name, or the path of a .json profile file")


def read_profile_file(path: Path | str) -> dict:
    """A profile file, checked whole: {"base": a built-in profile, "description": text, "models": {model:
    {setting: value}}, "created_by": provenance}. Every model's values are typed (typed_settings).

    The file is untrusted input: JSON only, and nothing in it is run. Errors name the file and the field.
    """
    import json

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"profile file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SettingsError(f"profile file {path} cannot be read as JSON: {error}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"profile file {path} holds a {type(data).__name__}; expected a JSON object "
                            f"with {', '.join(PROFILE_FILE_KEYS)}")
    unknown = sorted(set(data) - set(PROFILE_FILE_KEYS))
    if unknown:
        raise SettingsError(f"profile file {path}: unknown field(s) {', '.join(unknown)}; "
                            f"allowed: {', '.join(PROFILE_FILE_KEYS)}")
    if data.get("base") not in PROFILES:
        raise SettingsError(f"profile file {path}: field base={data.get('base')!r}; expected one of "
                            f"{', '.join(PROFILES)}")
    models = data.get("models", {})
    if not isinstance(models, dict):
        raise SettingsError(f"profile file {path}: field models holds a {type(models).__name__}; expected "
                            "an object of model -> {setting: value}")
    typed = {}
    for model, values in models.items():
        if model not in MODELS:
            raise SettingsError(f"profile file {path}: field models.{model}: unknown model; "
                                f"allowed: {', '.join(MODELS)}")
        if not isinstance(values, dict):
            raise SettingsError(f"profile file {path}: field models.{model} holds a {type(values).__name__}; "
                                "expected an object of setting -> value")
        typed[model] = typed_settings(values, f"profile file {path}: field models.{model}: ")
    return {**data, "models": typed}


def profile_layers(profile: str, model: str) -> tuple[str, dict]:
    """(the built-in base profile, the typed values a profile file sets for `model`) of a profile; a built-in
    profile is its own base with nothing on top, a model the file does not name gets the base alone."""
    path = profile_file(profile)
    if path is None:
        return profile, {}
    data = read_profile_file(path)
    return data["base"], data["models"].get(model, {})


TRAIN_ON = ("local", "gpu-pool")  # where train-all trains: in its own process, or on the gpu pool's workers
# When train-all trains a model: "on_change" when its data, code or settings changed (else the earlier run is
# reused); "always" trains again regardless (force); "on_drift" only when its dataset's drift report flags a
# feature of the published version, or the model has no champion yet (tasks.ingest.drift.retraining_plan).
RETRAIN = ("on_change", "always", "on_drift")


def check_run(profile: str, models: list[str] | tuple[str, ...], overrides: dict[str, str] | None = None,
              train_on: str = "local", retrain: str = "on_change") -> list[TrainSettings]:
    """Resolve every model's settings of a train-all run, so a bad one fails before anything is downloaded."""
    if train_on not in TRAIN_ON:
        raise SettingsError(f"train_on={train_on!r}; allowed: {', '.join(TRAIN_ON)}")
    if retrain not in RETRAIN:
        raise SettingsError(f"retrain={retrain!r}; allowed: {', '.join(RETRAIN)}")
    if not models:
        raise SettingsError(f"no models named; allowed: {', '.join(MODELS)}")
    return [resolve_settings(model, profile, overrides) for model in models]


def settings_from_json(data: dict) -> TrainSettings:
    """The TrainSettings of a run's settings.json; unknown keys (from a newer or older version) are an error."""
    import dataclasses

    known = {f.name for f in dataclasses.fields(TrainSettings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SettingsError(f"settings.json holds unknown setting(s) {', '.join(unknown)}; expected only {', '.join(sorted(known))}")
    settings = TrainSettings(**data)
    check_settings(settings)
    return settings


def parse_overrides(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`--set key=value` pairs as a dict of strings (resolve_settings converts them to each field's type)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SettingsError(f"--set {pair!r}: expected key=value, e.g. --set epochs=3")
        out[key.strip()] = value.strip()
    return out


def _parse(key: str, raw, kind):
    if not isinstance(raw, str):
        return raw
    try:
        if kind is bool:
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("true", "1", "yes")
        return kind(raw)
    except ValueError:
        raise SettingsError(f"setting {key}={raw!r}: expected a value of type {kind.__name__}") from None


def check_settings(s: TrainSettings) -> None:
    """Refuse settings that cannot train, before any data is read."""
    problems = []
    if s.epochs < 1:
        problems.append(f"epochs={s.epochs}: must be at least 1")
    if s.batch_size < 1:
        problems.append(f"batch_size={s.batch_size}: must be at least 1")
    if s.model not in MODELS:
        problems.append(f"model={s.model!r}: must be one of {', '.join(MODELS)}")
    if not (math.isfinite(s.learning_rate) and s.learning_rate > 0):
        problems.append(f"learning_rate={s.learning_rate}: must be a finite positive number")
    for name in ("dropout", "embedding_dropout", "gru_dropout", "weight_averaging"):
        if not 0 <= getattr(s, name) < 1:  # NaN fails this too
            problems.append(f"{name}={getattr(s, name)}: must be in [0, 1)")
    for name in ("weight_decay", "input_noise"):
        if not (math.isfinite(getattr(s, name)) and getattr(s, name) >= 0):
            problems.append(f"{name}={getattr(s, name)}: must be a finite number >= 0")
    for name, allowed in (("optimizer", OPTIMIZERS), ("lr_schedule", LR_SCHEDULES), ("output_layer", OUTPUT_LAYERS)):
        if getattr(s, name) not in allowed:
            problems.append(f"{name}={getattr(s, name)!r}: must be one of {', '.join(allowed)}")
    if not (math.isfinite(s.blessing_margin) and s.blessing_margin >= 0):
        problems.append(f"blessing_margin={s.blessing_margin}: must be a finite number >= 0")
    if s.early_stopping_patience < 0:
        problems.append(f"early_stopping_patience={s.early_stopping_patience}: must be >= 0 (0 = off)")
    if s.family == "imdb":
        if not 0 < s.validation_split < 1:
            problems.append(f"validation_split={s.validation_split}: must be between 0 and 1")
        if s.num_words < 4 or s.maxlen < 13:  # below 13 words the two Conv1D(7) layers have nothing to slide on
            problems.append(f"num_words={s.num_words}, maxlen={s.maxlen}: need num_words >= 4 and maxlen >= 13")
        if s.max_train_samples < 0 or s.max_test_samples < 0 or s.bow_epochs < 1:
            problems.append("max_train_samples and max_test_samples must be >= 0 and bow_epochs >= 1")
    else:
        if s.step < 1 or s.lookback < s.step:
            problems.append(f"lookback={s.lookback}, step={s.step}: lookback must be at least the step (>= 1)")
        elif s.lookback % s.step:
            problems.append(f"lookback={s.lookback} must be a multiple of step={s.step}")
        elif s.lookback // s.step < 22:  # Conv(5) -> Pool(3) -> Conv(5) -> Pool(2) needs 22 timesteps
            problems.append(f"lookback/step = {s.lookback // s.step} timesteps: the Jena models need at least 22")
        if s.delay < 1:
            problems.append(f"delay={s.delay}: must be at least 1 row")
        if s.steps_per_epoch < 1 or s.validation_steps < 0:
            problems.append("steps_per_epoch must be >= 1; validation_steps >= 0 (0 = all)")
        if s.max_gap_minutes < JENA_STEP_MINUTES:
            problems.append(f"max_gap_minutes={s.max_gap_minutes}: must be at least {JENA_STEP_MINUTES}")
        if not 0 <= s.recurrent_dropout < 1:
            problems.append(f"recurrent_dropout={s.recurrent_dropout}: must be in [0, 1)")
        if s.split not in JENA_SPLITS:
            problems.append(f"split={s.split!r}: must be one of {', '.join(JENA_SPLITS)}")
        elif s.split == "blocked":
            window_rows = s.lookback + s.delay + 1  # rows r - lookback .. r + delay
            rows_per_day = 24 * 60 // JENA_STEP_MINUTES
            if s.block_days * rows_per_day < window_rows:
                problems.append(
                    f"block_days={s.block_days}: a block must be longer than a window (lookback + delay = "
                    f"{s.lookback + s.delay} rows, {(s.lookback + s.delay) / rows_per_day:.3g} days); "
                    f"need block_days >= {-(-window_rows // rows_per_day)}")
            names = [n.strip() for n in s.block_pattern.split(",")]
            splits = ("train", "val", "test")
            if any(n not in splits for n in names) or any(n not in names for n in splits):
                problems.append(f"block_pattern={s.block_pattern!r}: must be comma-separated names from "
                                f"{', '.join(splits)}, each at least once (e.g. train,train,val,test)")
    if problems:
        raise SettingsError(f"bad settings for {s.model}: " + "; ".join(problems))
