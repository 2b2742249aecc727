"""Where the data comes from and what it looks like: the source files, their canonical sites, checksums and
mirrors, and the shapes and encodings of the two datasets.

Nothing here does work at import time. The settings of each stage are in tasks.core.config.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

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
JENA_SENTINEL = -9999.0  # the station's "no reading" marker
JENA_ENCODING = "latin-1"  # headers hold 0xB2 (²) and 0xB5 (µ)


# IMDB encoding: keras.datasets.imdb.load_data's, and the book's model inputs
IMDB_MAX_FEATURES = 10_000  # vocabulary: the 10,000 most frequent words (book: max_features)
IMDB_MAXLEN = 500  # words kept per review, the last ones (book: max_len)
# load_data's defaults: ids 0..2 are reserved, real words start at 3 + their frequency rank.
PAD_CHAR = 0  # pad_sequences' fill value
START_CHAR = 1  # prepended to every review
OOV_CHAR = 2  # any word outside the vocabulary
INDEX_FROM = 3  # added to each raw rank in imdb.npz
