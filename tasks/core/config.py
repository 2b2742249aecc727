"""The settings of each stage: ingestion; training's shared settings (TrainSettings, which holds its kind's and
its architecture's own beside them), the one table of what differs per dataset family, the one table of each
choice, and the checks that refuse settings that cannot train. The built-in profiles' overrides are
tasks.core.builtin_profiles.

Each architecture's settings, published values and book result are its registration (tasks.core.architectures);
each kind of dataset's settings are in tasks.core.kinds.

Settings objects are frozen and typed; every field says its unit or why. Nothing here does work at import time.
Where the data comes from and what it looks like (sources, dataset shapes, the IMDB encoding): tasks.core.sources.
One run's settings resolved from a profile, a profile file and `--set` overrides: tasks.core.profiles.
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from collections.abc import Mapping
from typing import Any

from tasks.core.architectures import ARCHITECTURES, Architecture, BookResult
from tasks.core.builtin_profiles import PROFILES  # noqa: F401 - re-exported: the profiles' names are settings too
from tasks.core.datasets import DatasetSpec, Evaluation, Record, Text, builtin_names, dataset_spec
from tasks.core.errors import Problem, SettingsError
from tasks.core.kinds import KINDS

RECORDED = ("model", "profile", "split_reason", "labels")  # TrainSettings fields the code sets, never a profile or --set
IMDB_LEARNING_RATE = 1e-4  # the book's RMSprop(lr=1e-4) for the IMDB convnet
RMSPROP_LEARNING_RATE = 1e-3  # RMSprop's default in Keras 2 and 3, used by the book wherever it wrote RMSprop()


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
# Training: what every run shares; each architecture's own settings and published values are its registration
# (tasks.core.architectures), each kind of dataset's settings in tasks.core.kinds
# ---------------------------------------------------------------------------------------------------------------
MODELS = tuple(ARCHITECTURES)  # every registered architecture, in registration order
DEFAULT_MODELS = tuple(a.name for a in ARCHITECTURES.values() if a.default)  # what train-all trains unless
# --models names others: the book's three (jena_conv_gru_fast and the models beyond the book on request)
PUBLISHED: dict[str, dict] = {a.name: a.published for a in ARCHITECTURES.values()}  # model@dataset: its
# architecture(model).published
BOOK: dict[str, BookResult] = {a.name: a.book for a in ARCHITECTURES.values() if a.book}  # the others are ours


@dataclass(frozen=True)
class Family(Evaluation):
    """How a dataset's models are judged (its spec's [evaluation], the fields of tasks.core.datasets.Evaluation) and
    what the stages need besides from its spec: every stage reads it from FAMILIES."""

    name: str  # the dataset, and the folder data/processed/<name>
    kind: str  # its kind of dataset (tasks.core.kinds.KINDS): "text" or "series"
    files: tuple[str, ...]  # the published dataset's Parquet files
    predicts_with: str  # the model whose champion `predict` uses unless one is named
    record: Record | None = None  # series: what one row is (its features, target, unit), from the spec
    text: Text | None = None  # text: its splits and labels, from the spec
    format: str = ""  # the reader of its sources (the spec's format): a stage reading its published files asks

    @property
    def interval_minutes(self) -> int:
        """Series: the record's sampling period (named in its spec, or inferred from its data and recorded with
        its published version); 0 for text. Asked only when used: a record still awaiting its interval (not
        ingested yet) is judged, reported on and ingested before it has one."""
        return self.record.interval_minutes if self.record else 0

    @property
    def mode(self) -> str:
        """"max" or "min", as Keras callbacks say it."""
        return "max" if self.higher_is_better else "min"

    @classmethod
    def of(cls, spec: DatasetSpec) -> Family:
        judged = {f.name: getattr(spec.evaluation, f.name) for f in dataclasses.fields(Evaluation)}
        default = next((model_name(a.name, spec.name) for a in ARCHITECTURES.values()
                        if a.predicts and a.kind == spec.kind), "")  # a spec that names none: its kind's
        return cls(**judged, name=spec.name, kind=spec.kind, files=spec.published,
                   predicts_with=spec.predicts_with or default, record=spec.record, text=spec.text,
                   format=spec.format)


class Families(Mapping):
    """Every dataset's Family by name: the built-in ones (iterated), and any other a lookup names: a user's spec
    read in this process or stored with the data (tasks.core.datasets.dataset_spec)."""

    def __init__(self) -> None:
        self._rows: dict[str, tuple[DatasetSpec, Family]] = {}  # one Family per spec read

    def __getitem__(self, name: str) -> Family:
        try:
            spec = dataset_spec(name)
        except SettingsError:
            raise KeyError(name) from None
        if name not in self._rows or self._rows[name][0] is not spec:
            self._rows[name] = (spec, Family.of(spec))
        return self._rows[name][1]

    def __contains__(self, name: object) -> bool:
        try:
            dataset_spec(str(name))
        except SettingsError:
            return False
        return True

    def __iter__(self):
        return iter(dict.fromkeys([*(a.dataset for a in ARCHITECTURES.values()), *builtin_names()]))

    def __len__(self) -> int:
        return len(list(iter(self)))


@cache
def families() -> Families:
    """Every dataset's Family, by name (Families)."""
    return Families()


def __getattr__(name: str) -> Any:
    """FAMILIES and MODEL_FAMILY, read from the spec files when first asked (PEP 562): importing this module reads
    no file."""
    if name == "FAMILIES":
        return families()
    if name == "MODEL_FAMILY":  # the registered models; a model@dataset's family is family(model)
        return {a.name: a.dataset for a in ARCHITECTURES.values()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


ON = "@"  # a model on another dataset than its architecture's registered one: <architecture>@<dataset>


def architecture(model: str) -> Architecture:
    """The registration of a model: `<architecture>` on its registered dataset, or `<architecture>@<dataset>` on
    any dataset of its kind (named, and with published values, as that model); an unknown one is a SettingsError
    naming the registered ones."""
    base, on, dataset = str(model).partition(ON)
    try:
        registration = ARCHITECTURES[base]
    except KeyError:
        raise SettingsError(f"unknown model {model!r}; allowed: {', '.join(MODELS)}, or <architecture>@<dataset> "
                            "for a dataset of its kind") from None
    if not on:
        return registration
    if dataset == registration.dataset:
        raise SettingsError(f"model {model!r}: {base} is registered on {dataset}; name it {base}")
    spec = dataset_spec(dataset)  # an unknown dataset names the known ones
    if spec.kind != registration.kind:
        raise SettingsError(f"model {model!r}: {base} reads {registration.kind} datasets, and {dataset} is "
                            f"{spec.kind}")
    kind_settings = set(_names(KINDS[registration.kind]))  # the registered dataset's windows are not this one's
    published = {k: v for k, v in registration.published.items() if k not in kind_settings}
    return dataclasses.replace(registration, name=model, dataset=dataset, published=published, book=None,
                               default=False)


def model_name(architecture_name: str, dataset: str) -> str:
    """The model of an architecture on a dataset: its plain name on its registered dataset, else name@dataset."""
    registration = architecture(architecture_name)
    return registration.name if registration.dataset == dataset else f"{registration.name}{ON}{dataset}"


def models_for(dataset: str, architectures: list[str] | tuple[str, ...] | None = None) -> list[str]:
    """The models train-all trains on one dataset: the architectures named (each on that dataset), else the
    default architectures of its kind."""
    kind = dataset_spec(dataset).kind
    names = architectures or [a.name for a in ARCHITECTURES.values() if a.default and a.kind == kind]
    return [model_name(name.partition(ON)[0], dataset) for name in names]


def is_model(model: str) -> bool:
    """Whether `model` names a model: a registered architecture, or one on a dataset of its kind."""
    try:
        architecture(model)
    except SettingsError:
        return False
    return True


def family(model: str) -> str:
    """Which dataset a model trains on (its registration's)."""
    return architecture(model).dataset


def family_of(model: str) -> Family:
    """The Family row of a model."""
    return families()[family(model)]


@dataclass(frozen=True, init=False)
class TrainSettings:
    """One run's settings: what every run shares (the fields here), its kind of dataset's (`data`,
    tasks.core.kinds) and its architecture's own (`arch`, tasks.core.architectures).

    Built from flat values, as profiles and `--set` give them: `TrainSettings(model="jena_tcn", lookback=288,
    filters=16)` puts each where it belongs, and a setting the model does not read is a SettingsError naming those
    it reads. Read flat too: `s.lookback`, `s.filters`. Defaults are generic; the registration's `published`
    values are the book's (tasks.core.profiles.resolve_settings layers them).
    """

    model: str = "imdb_conv"  # one of MODELS
    profile: str = "seed"  # the profile these settings were resolved from (recorded, not a knob)
    epochs: int = 10  # passes (text) or epochs of `steps_per_epoch` batches (series)
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
    data: Any = None  # the kind's settings (TextSettings or SeriesSettings); its defaults when not given
    arch: Any = None  # the architecture's own settings (its registration's class); its defaults when not given

    def __init__(self, model: str = "imdb_conv", data: Any = None, arch: Any = None, **values: Any) -> None:
        registration = architecture(model)
        kind_class, arch_class = KINDS[registration.kind], registration.settings
        if data is not None and not isinstance(data, kind_class) or arch is not None and not isinstance(arch, arch_class):
            raise SettingsError(f"settings of another model given for {model}")
        own = {f.name: values.pop(f.name, f.default) for f in dataclasses.fields(self) if f.name not in NESTED}
        for_data = {k: values.pop(k) for k in list(values) if k in _names(kind_class)}
        for_arch = {k: values.pop(k) for k in list(values) if k in _names(arch_class)}
        if values:
            raise SettingsError(f"{model} does not read the setting(s) {', '.join(sorted(values))}; it reads: "
                                f"{', '.join(n for n in settings_names(model) if n not in RECORDED)}")
        own["model"] = model
        own["data"] = dataclasses.replace(data or kind_class(**dataset_spec(registration.dataset).run_defaults()),
                                          **for_data)
        own["arch"] = dataclasses.replace(arch or arch_class(), **for_arch)
        for name, value in own.items():
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        """A setting of the kind or the architecture, read flat (s.lookback); only called when the normal lookup
        fails, so the shared fields never come here."""
        if name.startswith("__") or name in NESTED:
            raise AttributeError(name)
        for part in (self.__dict__.get("data"), self.__dict__.get("arch")):
            if part is not None and name in _names(type(part)):
                return getattr(part, name)
        raise AttributeError(f"{self.__dict__.get('model')} does not read the setting {name!r}")

    @property
    def family(self) -> str:
        return family(self.model)

    @property
    def spec(self) -> Family:
        """The model family's row of FAMILIES."""
        return families()[self.family]

    def as_record(self) -> dict[str, Any]:
        """Every setting the run reads, flat, as settings.json holds them: the shared ones, the kind's, its own."""
        shared = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in NESTED}
        return {**shared, **dataclasses.asdict(self.data), **dataclasses.asdict(self.arch)}


NESTED = ("data", "arch")  # TrainSettings' fields that hold the kind's and the architecture's settings


def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def settings_names(model: str) -> tuple[str, ...]:
    """Every setting a model reads: the shared ones, its kind's and its architecture's own (RECORDED included)."""
    registration = architecture(model)
    shared = tuple(f.name for f in dataclasses.fields(TrainSettings) if f.name not in NESTED)
    return shared + _names(KINDS[registration.kind]) + _names(registration.settings)


def settings_types(model: str) -> dict[str, type]:
    """The type of every setting a model reads, by name (what `--set` converts a value to)."""
    registration = architecture(model)
    types = {}
    for cls in (TrainSettings, KINDS[registration.kind], registration.settings):
        types.update({k: v for k, v in typing.get_type_hints(cls).items() if k not in NESTED})
    return types


PROFILES_DIR = Path(__file__).resolve().parents[2] / "profiles"  # profile files named on the command line
PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # a profile file's name: profiles/<name>.json

OPTIMIZERS = {"rmsprop": "RMSprop", "adam": "Adam"}  # TrainSettings.optimizer -> its keras.optimizers class
# (tasks.model.architectures.make_optimizer builds it): the book's RMSprop, or Adam
LR_SCHEDULES = ("constant", "cosine")  # TrainSettings.lr_schedule (tasks.model.train.learning_rate_at)

# Where train-all and tune train: in their own process, or on a deployment's workers (flows.dispatch): the process
# pool `gpu` (prefect.yaml) or the container pool `docker-gpu` (prefect.docker.yaml).
TRAIN_ON = {"local": None, "gpu-pool": "train-model/gpu", "docker-pool": "train-model/docker-gpu"}
# When train-all trains a model: "on_change" when its data, code or settings changed (else the earlier run is
# reused); "always" trains again regardless (force); "on_drift" only when its dataset's drift report flags a
# feature of the published version, or the model has no champion yet; "on_decay" only when its champion, judged on
# the rows of a newer version it never saw, no longer beats its strongest baseline there by the blessing margin
# (tasks.judge.new_data), or it has no champion yet (tasks.ingest.retraining.retraining_plan).
RETRAIN = ("on_change", "always", "on_drift", "on_decay")


def settings_from_json(data: dict) -> TrainSettings:
    """The TrainSettings of a run's settings.json. Unknown keys (from a newer or older version) are an error; a
    setting of another model, in a record written before each model had its own, was never read and is left out."""
    model = data.get("model", TrainSettings.__dataclass_fields__["model"].default)
    known = {name for m in (*MODELS, *([model] if is_model(str(model)) else [])) for name in settings_names(m)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SettingsError(f"settings.json holds unknown setting(s) {', '.join(unknown)}; expected only {', '.join(sorted(known))}")
    model = data.get("model", TrainSettings.__dataclass_fields__["model"].default)
    reads = settings_names(model)
    values = {k: v for k, v in data.items() if k in reads}
    if "split" in reads and "split" not in data:  # written before the split setting existed: the book's split
        values["split"] = "contiguous"
    settings = TrainSettings(**values)
    check_settings(settings)
    return settings


def settings_problems(s: TrainSettings) -> list[Problem]:
    """Every value that cannot train, each with the settings it is about, before any data is read: the shared
    ones here, the kind's and the architecture's by their own `check`."""
    problems = []
    if s.epochs < 1:
        problems.append(Problem(f"epochs={s.epochs}: must be at least 1", ("epochs",)))
    if s.batch_size < 1:
        problems.append(Problem(f"batch_size={s.batch_size}: must be at least 1", ("batch_size",)))
    if not (math.isfinite(s.learning_rate) and s.learning_rate > 0):
        problems.append(Problem(f"learning_rate={s.learning_rate}: must be a finite positive number",
                                ("learning_rate",)))
    if not 0 <= s.weight_averaging < 1:  # NaN fails this too
        problems.append(Problem(f"weight_averaging={s.weight_averaging}: must be in [0, 1)", ("weight_averaging",)))
    if not (math.isfinite(s.weight_decay) and s.weight_decay >= 0):
        problems.append(Problem(f"weight_decay={s.weight_decay}: must be a finite number >= 0", ("weight_decay",)))
    for name, allowed in (("optimizer", OPTIMIZERS), ("lr_schedule", LR_SCHEDULES)):
        if getattr(s, name) not in allowed:
            problems.append(Problem(f"{name}={getattr(s, name)!r}: must be one of {', '.join(allowed)}", (name,)))
    if not (math.isfinite(s.blessing_margin) and s.blessing_margin >= 0):
        problems.append(Problem(f"blessing_margin={s.blessing_margin}: must be a finite number >= 0",
                                ("blessing_margin",)))
    if s.early_stopping_patience < 0:
        problems.append(Problem(f"early_stopping_patience={s.early_stopping_patience}: must be >= 0 (0 = off)",
                                ("early_stopping_patience",)))
    return problems + s.arch.check(s) + s.data.check(s)


def settings_message(s: TrainSettings, problems: list[Problem]) -> str:
    """The one line that refuses `problems`."""
    return f"bad settings for {s.model}: " + "; ".join(p.text for p in problems)


def check_settings(s: TrainSettings) -> None:
    """Refuse settings that cannot train, before any data is read (settings_problems)."""
    problems = settings_problems(s)
    if problems:
        raise SettingsError(settings_message(s, problems))
