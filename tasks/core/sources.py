"""Where the data comes from and what it looks like: the source files, their canonical sites, checksums and
mirrors, all read from each dataset's spec file (tasks.core.datasets, datasets/<name>.toml), and the names by which
the two built-in datasets' readers know their shapes.

Nothing here does work at import time: the names read from a spec (IMDB_NPZ, JENA_FEATURES, ...) are read from it
when first asked (PEP 562). The settings of each stage are in tasks.core.config.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.core.datasets import DatasetSpec, builtin_spec, spec_folder
from tasks.core.errors import SettingsError

# ---------------------------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------------------------
MIRROR_ENV = "SEQCONV_MIRROR"  # default for every `mirror` setting: a local folder or a base URL
CHECKSUMS_FILE = "SHA256SUMS"  # on a mirror: sha256 of files whose bytes differ from the canonical ones


@dataclass(frozen=True)
class Source:
    """One downloadable file; its name is the same on the canonical site and on every mirror."""

    name: str  # file name, e.g. "imdb.npz"
    base_url: str  # canonical folder URL, ending in "/"
    sha256: str | None = None  # pinned digest of the canonical bytes; None where none is published
    md5: str | None = None  # some sources publish only an md5
    own: bool = False  # a user's file (a spec's path or URL): fetched from there, never from a mirror

    @property
    def url(self) -> str:
        return self.base_url + self.name


def sources_of(spec: DatasetSpec) -> tuple[Source, ...]:
    """The files a dataset fetches by default, from its spec: names below `base_url`, or (no base_url) each a URL
    or a local path, relative to the spec file's folder."""
    if spec.sources.base_url:
        return tuple(Source(f.name, spec.sources.base_url, f.sha256, f.md5) for f in spec.sources.files)
    own = []
    for f in spec.sources.files:
        if re.match(r"^(https?|file)://", f.name):
            base, _, name = f.name.rpartition("/")
            own.append(Source(name, base + "/", f.sha256, f.md5, own=True))
        else:
            path = spec_folder(spec) / Path(f.name).expanduser()
            own.append(Source(path.name, str(path.resolve().parent) + "/", f.sha256, f.md5, own=True))
    return tuple(own)


def named_source(spec: DatasetSpec, name: str) -> Source:
    """The Source of a file a user names instead of the defaults (a station's half-year file), checked against the
    spec's pattern."""
    station = spec.sources.station
    if station is None:
        raise SettingsError(f"dataset {spec.name} takes no file names; it reads {', '.join(f.name for f in spec.sources.files)}")
    if not re.match(station.pattern, name):
        raise SettingsError(f"{spec.name.capitalize()} file {name!r} is not a station half-year file: expected "
                            f"{station.described}")
    return Source(name, station.base_url)


def chosen_sources(spec: DatasetSpec, files: list[str] | tuple[str, ...] | None) -> tuple[Source, ...]:
    """The spec's default files, else the files named (each once)."""
    if not files:
        return sources_of(spec)
    repeated = sorted({name for name in files if list(files).count(name) > 1})
    if repeated:
        raise SettingsError(f"{spec.name.capitalize()} file(s) {', '.join(repeated)} named more than once; name each "
                            "file once")
    return tuple(named_source(spec, name) for name in files)


def default_mirror() -> str | None:
    """The mirror named by $SEQCONV_MIRROR, or None for the canonical sites."""
    return os.environ.get(MIRROR_ENV) or None


JENA_FILES_ENV = "SEQCONV_JENA_FILES"  # default for `jena_files`: space-separated station file names


def default_jena_files() -> list[str] | None:
    """The station files named by $SEQCONV_JENA_FILES, or None for the classic zip."""
    return os.environ.get(JENA_FILES_ENV, "").split() or None


# ---------------------------------------------------------------------------------------------------------------
# The built-in datasets' shapes, as their readers (tasks.ingest.imdb_reviews, tasks.ingest.jena_weather) know them
# ---------------------------------------------------------------------------------------------------------------
IMDB, JENA = "imdb", "jena"  # the two built-in datasets whose readers (the Keras npz, the station format) are ours


def jena_sources(files: list[str] | tuple[str, ...] | None) -> tuple[Source, ...]:
    """The classic zip by default, else the named station files."""
    return chosen_sources(builtin_spec(JENA), files)


_FROM_SPECS = {  # name -> how it is read from the built-in specs
    "IMDB_NPZ": lambda: sources_of(builtin_spec(IMDB))[0],
    "IMDB_WORD_INDEX": lambda: sources_of(builtin_spec(IMDB))[1],
    "STATION_FILE": lambda: re.compile(builtin_spec(JENA).sources.station.pattern),
    "IMDB_SPLITS": lambda: builtin_spec(IMDB).text.splits,
    "IMDB_REVIEWS_PER_SPLIT": lambda: builtin_spec(IMDB).text.rows_per_split,
    "IMDB_BALANCE_TOLERANCE": lambda: builtin_spec(IMDB).text.balance_tolerance,
    "JENA_TIMESTAMP": lambda: builtin_spec(JENA).record.time,
    "JENA_TIMESTAMP_FORMAT": lambda: builtin_spec(JENA).record.time_format,
    "JENA_FEATURES": lambda: builtin_spec(JENA).record.features,
    "JENA_TARGET": lambda: builtin_spec(JENA).record.target,
    "JENA_STEP_MINUTES": lambda: builtin_spec(JENA).record.interval_minutes,
    "JENA_SENTINEL": lambda: builtin_spec(JENA).record.missing[0],
    "JENA_ENCODING": lambda: builtin_spec(JENA).record.encoding,
}


def __getattr__(name: str) -> Any:
    """A built-in dataset's shape, read from its spec when first asked (PEP 562)."""
    if name in _FROM_SPECS:
        return _FROM_SPECS[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# IMDB encoding: keras.datasets.imdb.load_data's, and the book's model inputs
IMDB_MAX_FEATURES = 10_000  # vocabulary: the 10,000 most frequent words (book: max_features)
IMDB_MAXLEN = 500  # words kept per review, the last ones (book: max_len)
# load_data's defaults: ids 0..2 are reserved, real words start at 3 + their frequency rank.
PAD_CHAR = 0  # pad_sequences' fill value
START_CHAR = 1  # prepended to every review
OOV_CHAR = 2  # any word outside the vocabulary
INDEX_FROM = 3  # added to each raw rank in imdb.npz
