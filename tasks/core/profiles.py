"""One run's settings, resolved: TrainSettings defaults, the book's published values, a built-in profile, a
profile file (`profiles/<name>.json`, untrusted JSON) and `--set key=value` overrides, each typed and checked.

The tables these layers come from: TrainSettings and PUBLISHED in tasks.core.config, PROFILES in
tasks.core.builtin_profiles.
"""

from __future__ import annotations

from pathlib import Path

import tasks.core.config as config  # PROFILES_DIR is read at call time (tests point it at a folder of their own)
from tasks.core.config import (
    MODELS,
    ON,
    PROFILE_NAME,
    PROFILES,
    RECORDED,
    RETRAIN,
    TRAIN_ON,
    TrainSettings,
    architecture,
    family,
    is_model,
    settings_message,
    settings_problems,
    settings_types,
)
from tasks.core.datasets import dataset_spec
from tasks.core.errors import SettingsError

PROFILE_FILE_KEYS = ("base", "description", "models", "created_by")  # what a profile file may hold


def resolve_settings(model: str, profile: str, overrides: dict[str, str] | None = None) -> TrainSettings:
    """The settings of one run: TrainSettings defaults < PUBLISHED[model] < PROFILES[base] < the profile file's
    values for the model < overrides. For a model on a spec'd dataset (<architecture>@<dataset>) the dataset's
    spec [settings] win over the built-in profile's (its windows are rows of the grid it was sized for).

    `profile` is a built-in profile (PROFILES; then it is its own base and there is no file), or a profile file
    (profile_file: `profiles/<name>.json`, or a path ending in .json). Overrides come as strings (from
    `--set key=value`) and are converted to each field's type. Unknown models, profiles or keys, and values that
    make no sense, raise SettingsError saying what is allowed. The profile is recorded as given.
    """
    registration = architecture(model)  # an unknown model names the known ones
    base, from_file = profile_layers(profile, model)
    built_in = PROFILES[base][registration.kind]
    if ON in model:  # <architecture>@<dataset>: a built-in
        # profile's windows are rows of the grid it was sized for; the dataset's spec sets its own
        built_in = {k: v for k, v in built_in.items() if k not in dataset_spec(registration.dataset).settings}
    values: dict = {**registration.published, **built_in, **from_file, "profile": profile}
    values.update(typed_settings(overrides or {}, model=model))
    settings = TrainSettings(model=model, **values)
    problems = settings_problems(settings)
    if problems:  # say where each refused value came from, so the user knows what to edit
        origins = [f"{key} from {where}" for key in dict.fromkeys(k for p in problems for k in p.keys)
                   if (where := setting_origin(key, model, profile, overrides or {}, from_file))]
        raise SettingsError(settings_message(settings, problems) + (f" ({'; '.join(origins)})" if origins else ""))
    return settings


def setting_origin(key: str, model: str, profile: str, overrides: dict, from_file: dict) -> str:
    """Where a run's value of `key` came from, in resolve_settings' order (the last layer that sets it wins): a
    profile file or the dataset's spec; "" for `--set` and for the defaults and published values."""
    if key in overrides:  # typed on this command line: the message's own `key=value` says which
        return ""
    if key in from_file:
        return f"profile file {profile_file(profile)}: field models.{model}.{key}"
    spec = dataset_spec(architecture(model).dataset)
    if key in spec.settings:
        return f"{spec.path}: settings.{key}"
    return ""


def typed_settings(values: dict, where: str = "", *, model: str) -> dict:
    """A model's setting values converted to each setting's type, as `--set` converts them.

    Strings are parsed (`"3e-4"` -> 3e-4, `"no"` -> False); JSON numbers and booleans go through the same
    conversion as their text, so `1.5` is refused for an int field. A setting the model does not read is refused,
    naming those it reads: a run never records a value that changed nothing. `where` prefixes every error (a
    file's name).
    """
    types = settings_types(model)
    allowed = ", ".join(k for k in types if k not in RECORDED)
    out = {}
    for key, raw in values.items():
        if key in RECORDED or not any(key in settings_types(m) for m in MODELS):  # recorded: the code sets it
            raise SettingsError(f"{where}unknown setting {key!r}; {model} reads: {allowed}")
        if key not in types:
            raise SettingsError(f"{where}setting {key!r} is not read by {model}; it reads: {allowed}")
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
    if PROFILE_NAME.match(profile) and (config.PROFILES_DIR / f"{profile}.json").is_file():
        return config.PROFILES_DIR / f"{profile}.json"
    raise SettingsError(f"unknown profile {profile!r}; allowed: {', '.join(PROFILES)}, a profile file "
                        f"{config.PROFILES_DIR}/<name>.json named by its name, or the path of a .json profile file")


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
        if not is_model(model):
            raise SettingsError(f"profile file {path}: field models.{model}: unknown model; "
                                f"allowed: {', '.join(MODELS)}")
        if not isinstance(values, dict):
            raise SettingsError(f"profile file {path}: field models.{model} holds a {type(values).__name__}; "
                                "expected an object of setting -> value")
        typed[model] = typed_settings(values, f"profile file {path}: field models.{model}: ", model=model)
    return {**data, "models": typed}


def profile_layers(profile: str, model: str) -> tuple[str, dict]:
    """(the built-in base profile, the typed values a profile file sets for `model`) of a profile; a built-in
    profile is its own base with nothing on top, a model the file does not name gets the base alone."""
    path = profile_file(profile)
    if path is None:
        return profile, {}
    data = read_profile_file(path)
    return data["base"], data["models"].get(model, {})



def check_run(profile: str, models: list[str] | tuple[str, ...], overrides: dict[str, str] | None = None,
              train_on: str = "local", retrain: str = "on_change") -> list[TrainSettings]:
    """Resolve every model's settings of a train-all run, so a bad one fails before anything is downloaded."""
    if train_on not in TRAIN_ON:
        raise SettingsError(f"train_on={train_on!r}; allowed: {', '.join(TRAIN_ON)}")
    if retrain not in RETRAIN:
        raise SettingsError(f"retrain={retrain!r}; allowed: {', '.join(RETRAIN)}")
    if not models:
        raise SettingsError(f"no models named; allowed: {', '.join(MODELS)}")
    overrides = overrides or {}
    reads = {m: [k for k in settings_types(m) if k not in RECORDED] for m in models}  # an unknown model fails here
    unknown = {k: v for k, v in overrides.items() if not any(k in settings_types(m) for m in MODELS)}
    typed_settings({k: v for k, v in overrides.items() if k in RECORDED or k in unknown}, model=models[0])  # fails
    unread = [key for key in overrides if not any(key in reads[m] for m in models)]
    if unread:
        every = sorted({k for m in models for k in reads[m]})
        raise SettingsError(f"setting(s) {', '.join(unread)} read by none of {', '.join(models)}; they read: "
                            f"{', '.join(every)}")
    # A dataset whose interval is inferred from its data, never ingested yet: its windows in rows are known only
    # once it is, and training resolves them then (its other settings are checked above)
    return [resolve_settings(model, profile, overrides_for(model, overrides)) for model in models
            if not dataset_spec(family(model)).awaits_interval]


def overrides_for(model: str, overrides: dict[str, str] | None) -> dict[str, str]:
    """The `--set` values of a run of several models (train-all) that `model` reads: each model gets the ones it
    reads, and records only those (check_run refuses a value no model of the run reads)."""
    types = settings_types(model)
    return {key: value for key, value in (overrides or {}).items() if key in types and key not in RECORDED}


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


