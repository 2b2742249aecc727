"""A dataset is a spec file: what it is, where its sources are, what its records look like, the defaults of its runs
and how its models are judged. The built-in specs are `datasets/<name>.toml` in the repository; a user's spec is any TOML file, named where a
dataset is taken by its path, and stored with the data (`<data_dir>/specs/<name>.toml`) once a version of it is
published, so every process sharing the data dir finds it by name (dataset_spec).

A spec is untrusted input: TOML only, nothing in it is run, and it is read whole and strictly: an unknown key, a
missing one or a value of the wrong type is a SpecError naming the file and the key. Durations (`10min`, `1h`,
`10d`) are resolved on the record's interval, so a run's lookback, step and delay stay rows of the grid.

A record's interval is named in its spec, or left out: then ingestion infers it from the data (the most common step
between its times, tasks.ingest.series_grid) and records it in the published version's provenance, and every
later lookup of the dataset resolves its durations on the interval its published version records (with_interval).
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import types
import typing
from dataclasses import MISSING, fields, is_dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tasks.core.durations import DURATION, duration_minutes, duration_text, rows_of  # noqa: F401 - re-exported
from tasks.core.errors import DataFormatError, SpecError
from tasks.core.kinds import KINDS
from tasks.core.records.provenance import read_provenance
from tasks.core.stamps import STAMPS
from tasks.core.spec_sections import (  # noqa: F401 - re-exported: a spec's sections are read from here
    DUPLICATES,
    FILLS,
    MISSING_TEXT,
    TIME_PARTS,
    DatasetSpec,
    Evaluation,
    Record,
    SourceFile,
    Sources,
    Station,
    Text,
)

SPECS_DIR = Path(__file__).resolve().parents[2] / "datasets"  # the built-in specs: <name>.toml
RECORDED = ("split_reason", "labels")  # settings set from the data when it is read, never in a spec



# ---------------------------------------------------------------------------------------------------------------
# Reading a spec
# ---------------------------------------------------------------------------------------------------------------
def read_spec(path: Path | str) -> DatasetSpec:
    """A spec file read whole and checked: every key known, every value of its type, the kind's own section."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"dataset spec {path} does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise SpecError(f"dataset spec {path} cannot be read as TOML: {error}") from None
    defaults = kind_defaults(data)
    if isinstance(data.get("evaluation"), dict) and "evaluation" in defaults:  # a user's [evaluation] may set one
        # key (unit = "tickets") and keep the kind's others
        data = {**data, "evaluation": {**defaults["evaluation"], **data["evaluation"]}}
    spec = _build(DatasetSpec, {"settings": {}, **defaults, **data, "path": str(path)}, str(path), "")
    if spec.kind not in KINDS:
        raise SpecError(f"{path}: kind={spec.kind!r}; expected one of {', '.join(KINDS)}")
    section = {"text": "text", "series": "record"}[spec.kind]
    if getattr(spec, section) is None:
        raise SpecError(f"{path}: a {spec.kind} dataset needs a [{section}] section")
    allowed = [f.name for f in fields(KINDS[spec.kind]) if f.name not in RECORDED]
    for key in spec.settings:
        if key not in allowed:
            raise SpecError(f"{path}: unknown key settings.{key}; a {spec.kind} dataset's settings are "
                            f"{', '.join(allowed)}")
    if spec.record is not None:
        if spec.record.interval:
            duration_minutes(spec.record.interval, f"{path}: record.interval")
        if spec.record.stamped not in STAMPS:
            raise SpecError(f"{path}: record.stamped={spec.record.stamped!r}; allowed: {', '.join(STAMPS)} (the "
                            "time of a row opens its reading's period, or closes it)")
    # Durations that do not fit the named grid fail here too. On a grid still to be inferred every whole minute
    # fits (1): their types are checked now, their fit once the data gives the interval (with_interval).
    resolved = spec._durations_resolved(1) if spec.awaits_interval else spec.run_defaults()
    types_of = typing.get_type_hints(KINDS[spec.kind])
    for key, value in resolved.items():
        want = types_of[key]
        if not (isinstance(value, want) and not (want is int and isinstance(value, bool))
                or want is float and isinstance(value, int) and not isinstance(value, bool)):
            raise SpecError(f"{path}: key settings.{key} must be {want.__name__}"
                            f"{' or a duration (e.g. 1h)' if want is int else ''}, not {value!r}")
    return spec


# ---------------------------------------------------------------------------------------------------------------
# Finding a dataset: built-in, read from a path in this process, or stored with the data
# ---------------------------------------------------------------------------------------------------------------
NAME = re.compile(r"^[a-z0-9_]+$")
SPECS_SUBDIR = "specs"  # <data_dir>/specs/<name>.toml: the spec of each spec'd dataset's published versions
_READ: dict[str, DatasetSpec] = {}  # name -> a user's spec read from its path in this process
_DATA_DIRS: list[Path] = [Path("data")]  # data dirs whose specs/ this process searches, in order


def is_spec_path(text: str) -> bool:
    """A dataset given as a spec file's path rather than a name."""
    return str(text).endswith(".toml")


def use_data_dir(data_dir: Path | str) -> None:
    """Search `<data_dir>/specs` for spec'd datasets too (each flow calls this with its data_dir)."""
    path = Path(data_dir).resolve()
    if path not in _DATA_DIRS:
        _DATA_DIRS.insert(0, path)


def stored_spec_path(data_dir: Path | str, name: str) -> Path:
    return Path(data_dir) / SPECS_SUBDIR / f"{name}.toml"


def user_spec(path: Path | str) -> DatasetSpec:
    """A user's spec file, read and remembered in this process under its name; a name of a built-in dataset is an
    error (the built-in would win every lookup by name)."""
    spec = read_spec(path)
    if not NAME.match(spec.name):
        raise SpecError(f"{spec.path}: name={spec.name!r}; expected lower-case letters, digits and _ (it names "
                        "folders and models)")
    if spec.name in builtin_names():
        raise SpecError(f"{spec.path}: name={spec.name!r} is a built-in dataset; name yours otherwise")
    _READ[spec.name] = spec
    return spec


def dataset_spec(dataset: str) -> DatasetSpec:
    """The spec of a dataset given by name or by a spec file's path: a built-in first, then one read from its path
    in this process, then one stored with the data of a data dir this process uses (use_data_dir). A series whose
    spec leaves its interval out is on the interval its published version records (on_published_interval)."""
    return on_published_interval(spec_as_written(dataset))


def spec_as_written(dataset: str) -> DatasetSpec:
    """The spec of a dataset (as dataset_spec finds it) as its file says it: a record's interval left out stays
    out, for ingestion to infer from the new data, never taken from the version published before."""
    if is_spec_path(dataset):
        return user_spec(dataset)
    if dataset in builtin_names():
        return builtin_spec(dataset)
    if dataset in _READ:
        return _READ[dataset]
    if NAME.match(str(dataset)):
        for data_dir in _DATA_DIRS:
            stored = stored_spec_path(data_dir, dataset)
            if stored.is_file():
                return _stored(stored, stored.stat().st_mtime_ns)
    stored = sorted({p.stem for d in _DATA_DIRS for p in (d / SPECS_SUBDIR).glob("*.toml")})
    raise SpecError(f"unknown dataset {dataset!r}; allowed: {', '.join([*builtin_names(), *stored])}, or the path "
                    "of a spec file (.toml)")


# ---------------------------------------------------------------------------------------------------------------
# An interval inferred from the data: recorded with each version, read from the published one
# ---------------------------------------------------------------------------------------------------------------
PROCESSED_SUBDIR = "processed"  # <data_dir>/processed/<name>: the link to a dataset's published version
_ON_INTERVAL: dict[tuple[str, str], tuple[DatasetSpec, DatasetSpec]] = {}  # (spec file, interval) -> (the spec
# last read from it, it on that interval): the same object for each lookup, as callers that cache by spec expect


def on_published_interval(spec: DatasetSpec) -> DatasetSpec:
    """A spec whose record's interval is inferred from the data, on the interval recorded with the version
    published in the first data dir this process uses that has one; any other spec as it is (one with no version
    published yet still awaits its interval: its run_defaults says so)."""
    if not spec.awaits_interval:
        return spec
    for data_dir in _DATA_DIRS:
        published = Path(data_dir) / PROCESSED_SUBDIR / spec.name
        if (published / spec.published[0]).is_file():
            return on_version_interval(spec, published)
    return spec


def on_version_interval(spec: DatasetSpec, version: Path | str) -> DatasetSpec:
    """A spec whose record's interval is inferred from the data, on the interval the version folder `version`
    records in its provenance (ingestion checks a version before it is published this way); any other as it is.

    Raises:
        SpecError: a duration of the spec that is not a whole number of rows of that interval.
        DataFormatError: a version whose provenance records no interval.
    """
    if not spec.awaits_interval:
        return spec
    file = Path(version).resolve() / spec.published[0]
    return with_interval(spec, _recorded_interval(file, file.stat().st_mtime_ns), f"the data of {file}")


def with_interval(spec: DatasetSpec, interval: str, source: str) -> DatasetSpec:
    """A spec whose record's interval is not named, on the interval inferred from `source` (the data files, or the
    version that records it): its durations are resolved on it here, so one that is not a whole number of its
    rows is a SpecError naming the spec file, the key and the inferred interval."""
    if not spec.awaits_interval:
        return spec
    known = _ON_INTERVAL.get((spec.path, interval))
    if known and known[0] is spec:
        return known[1]
    duration_minutes(interval, f"{source}: the recorded interval")
    resolved = dataclasses.replace(spec, record=dataclasses.replace(spec.record, interval=interval))
    try:
        resolved.run_defaults()
    except SpecError as error:
        raise SpecError(f"{error}: the interval {interval} is inferred from {source} (record.interval is not named "
                        "in the spec)") from None
    _ON_INTERVAL[(spec.path, interval)] = (spec, resolved)
    return resolved


@cache
def _recorded_interval(file: Path, mtime_ns: int) -> str:
    interval = read_provenance(file).get("interval")
    if not interval:
        raise DataFormatError(f"{file}: its provenance records no interval; ingest it again")
    return str(interval)


@cache
def _stored(path: Path, mtime_ns: int) -> DatasetSpec:
    spec = read_spec(path)
    if spec.name != path.stem:
        raise SpecError(f"{path}: name={spec.name!r}; a stored spec is named as its file ({path.stem!r})")
    return spec


def dataset_name(dataset: str) -> str:
    """The name of a dataset given by name or by a spec file's path."""
    return dataset_spec(dataset).name if is_spec_path(dataset) else dataset


def spec_bytes(dataset: str) -> bytes:
    """The bytes of a dataset's spec file (what its versions are built by)."""
    return Path(dataset_spec(dataset).path).read_bytes()


def store_spec(spec: DatasetSpec, data_dir: Path | str) -> Path | None:
    """Keep a user's spec with the data (`<data_dir>/specs/<name>.toml`, written atomically) once a version of it
    is published, so workers sharing the data dir find it by name; a built-in's is never stored."""
    from tasks.core import atomic

    if spec.name in builtin_names():
        return None
    target = stored_spec_path(data_dir, spec.name)
    data = Path(spec.path).read_bytes()
    origin = str(spec_folder(spec))  # its relative source paths stay relative to where the user keeps it
    folder_file = target.with_suffix(FOLDER_SUFFIX)
    if target.is_file() and target.read_bytes() == data and folder_file.is_file() \
            and folder_file.read_text(encoding="utf-8") == origin:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(folder_file, origin)
    return atomic.write_bytes(target, data)


FOLDER_SUFFIX = ".folder"  # <data_dir>/specs/<name>.folder: the folder of the spec file the user gave


def spec_folder(spec: DatasetSpec) -> Path:
    """The folder a spec's relative source paths are relative to: its file's, or for a spec stored with the data,
    the folder of the file it was stored from."""
    path = Path(spec.path)
    stored = path.with_suffix(FOLDER_SUFFIX)
    if path.parent.name == SPECS_SUBDIR and stored.is_file():
        return Path(stored.read_text(encoding="utf-8").strip())
    return path.resolve().parent


def kind_defaults(data: dict) -> dict:
    """What a user's spec may leave out, by its kind: the published file, the model `predict` uses (empty: the
    kind's architecture registered to predict, on it: tasks.core.config) and how its models are judged."""
    kind, name = data.get("kind"), data.get("name", "")
    if kind == "series":
        unit = (data.get("record") or {}).get("unit", "") if isinstance(data.get("record"), dict) else ""
        return {"published": [f"{name}.parquet"], "predicts_with": "", "evaluation": {
            "metric": "mae", "label": "val MAE", "higher_is_better": False, "monitor": "val_loss", "curve": "loss",
            "curve_label": "MAE (normalized)", "unit": "windows", "baselines": ["persistence", "mean"],
            # the key keeps its historical name: it is the MAE in the target's unit, whatever the unit
            "compared": "mae_celsius", "compared_label": f"val MAE ({unit})" if unit else "val MAE"}}
    if kind == "text" and data.get("format") == "text_files":
        return {"published": ["texts.parquet", "vocabulary.json"], "predicts_with": "", "evaluation": {
            "metric": "accuracy", "label": "val accuracy", "higher_is_better": True, "monitor": "val_accuracy",
            "curve": "accuracy", "curve_label": "Accuracy", "unit": "texts", "baselines": ["majority", "bag_of_words"],
            "compared": "accuracy", "compared_label": "val accuracy"}}
    return {}


@cache
def builtin_spec(name: str) -> DatasetSpec:
    """The built-in dataset `name` (datasets/<name>.toml)."""
    if not re.fullmatch(r"[a-z0-9_]+", name) or not (SPECS_DIR / f"{name}.toml").is_file():
        known = ", ".join(sorted(p.stem for p in SPECS_DIR.glob("*.toml")))
        raise SpecError(f"unknown dataset {name!r}; allowed: {known}")
    spec = read_spec(SPECS_DIR / f"{name}.toml")
    if spec.name != name:
        raise SpecError(f"{spec.path}: name={spec.name!r}; a built-in spec is named as its file ({name!r})")
    return spec


def builtin_names() -> tuple[str, ...]:
    """Every built-in dataset, by name."""
    return tuple(sorted(p.stem for p in SPECS_DIR.glob("*.toml")))


def _build(cls: type, data: Any, path: str, where: str):
    """`data` (a TOML table) as the dataclass `cls`, every key known and typed; errors name the file and key."""
    if not isinstance(data, dict):
        raise SpecError(f"{path}: {where or 'the file'} must be a table, not {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = [f.name for f in fields(cls)]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise SpecError(f"{path}: unknown key {where}{unknown[0]}; allowed in {where.rstrip('.') or 'the file'}: "
                        f"{', '.join(k for k in known if k != 'path')}")
    values = {}
    for f in fields(cls):
        key = f"{where}{f.name}"
        if f.name not in data:
            if f.default is MISSING and f.default_factory is MISSING:  # required
                raise SpecError(f"{path}: missing key {key}")
            continue
        values[f.name] = _value(hints[f.name], data[f.name], path, key)
    return cls(**values)


def _value(hint: Any, value: Any, path: str, key: str):
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):  # X | None
        inner = [a for a in args if a is not type(None)][0]
        return _value(inner, value, path, key)
    if is_dataclass(hint):
        return _build(hint, value, path, f"{key}.")
    if origin is tuple:
        if not isinstance(value, list):
            raise SpecError(f"{path}: key {key} must be a list, not {type(value).__name__}")
        return tuple(_value(args[0], item, path, f"{key}[{i}]") for i, item in enumerate(value))
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise SpecError(f"{path}: key {key} must be a table, not {type(value).__name__}")
        return dict(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is Any or (isinstance(value, hint) and not (hint is int and isinstance(value, bool))):
        return value
    raise SpecError(f"{path}: key {key} must be {hint.__name__}, not {type(value).__name__} ({value!r})")
