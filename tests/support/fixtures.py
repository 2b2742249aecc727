"""Small files in the exact real formats, for tests and benchmarks.

- `write_imdb`: `imdb.npz` with object arrays of Python lists of raw word ranks (as Keras ships it; loading needs
  pickle) and `imdb_word_index.json`; positive reviews lean on some words and negative on others, so a model can
  learn them in seconds.
- `write_jena_classic`: `jena_climate_2009_2016.csv.zip` with the classic header, date format and layout.
- `write_station_file`: the station's half-year files: 7 extra columns, latin-1 header bytes (0xB2, 0xB5),
  quoted or unquoted header, space-padded or unpadded values, LF or CRLF, a repeated row and -9999 sentinels.
- `write_checksums`: a mirror's `SHA256SUMS`.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

FEATURES = (
    "p (mbar)", "T (degC)", "Tpot (K)", "Tdew (degC)", "rh (%)", "VPmax (mbar)", "VPact (mbar)", "VPdef (mbar)",
    "sh (g/kg)", "H2OC (mmol/mol)", "rho (g/m**3)", "wv (m/s)", "max. wv (m/s)", "wd (deg)",
)
STATION_EXTRAS = (
    "rain (mm)", "raining (s)", "SWDR (W/m\u00b2)", "PAR (\u00b5mol/m\u00b2/s)", "max. PAR (\u00b5mol/m\u00b2/s)",
    "Tlog (degC)", "CO2 (ppm)",
)
CLASSIC_NAME = "jena_climate_2009_2016.csv"
# Rows of the Jena fixtures: each dataset must hold tasks.ingest.jena_suite.JENA_MIN_ROWS (6,666) rows to be published.
CLASSIC_ROWS = 7_000  # the classic zip's rows (one timestamp repeated: 6,999 once normalized)
STATION_ROWS = 3_400  # each station file's distinct timestamps (2024a writes one of them twice): 6,800 in all
STATION_B_START = "2024-02-18 11:40:00"  # the first timestamp of write_station_pair's 2024b file


# ---------------------------------------------------------------------------------------------------------------
# IMDB
# ---------------------------------------------------------------------------------------------------------------
def write_imdb(
    folder: Path,
    n_per_split: int = 25_000,
    vocab: int = 12_000,
    seed: int = 0,
    mutate=None,
) -> dict[str, Path]:
    """Write `imdb.npz` and `imdb_word_index.json` into `folder`.

    Reviews are 20-40 raw ranks. Sentiment is in word ORDER: positive reviews hold "not" then "bad" (ranks 11,
    12) three times, negative ones "bad" then "not" — the same words, so a bag-of-words model cannot tell them
    apart and stays near chance while a convnet learns the order in seconds (the e2e tests need a model that
    beats its baselines). `mutate(arrays)` may change the arrays before saving (to make bad inputs).
    """
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split in ("train", "test"):
        labels = np.array([1, 0] * (n_per_split // 2) + [1] * (n_per_split % 2), dtype=np.int64)
        reviews = []
        for label in labels:
            words = [int(w) for w in rng.integers(13, vocab + 1, size=int(rng.integers(20, 41)))]
            for _ in range(3):
                at = int(rng.integers(0, len(words) - 1))
                words[at: at + 2] = [11, 12] if label else [12, 11]
            reviews.append(words)
        x = np.empty(len(reviews), dtype=object)
        x[:] = reviews
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, labels
    if mutate is not None:
        mutate(arrays)
    npz = folder / "imdb.npz"
    with open(npz, "wb") as f:  # np.savez on a handle keeps the name exactly imdb.npz
        np.savez(f, **arrays)
    words = [f"w{i}" for i in range(1, vocab + 1)]
    words[10], words[11] = "not", "bad"
    index = folder / "imdb_word_index.json"
    index.write_text(json.dumps({w: i + 1 for i, w in enumerate(words)}), encoding="utf-8")
    return {"npz": npz, "word_index": index}


# ---------------------------------------------------------------------------------------------------------------
# Jena
# ---------------------------------------------------------------------------------------------------------------
def synthetic_weather(start: str, rows: int, seed: int = 0) -> pd.DataFrame:
    """Plausible 10-minute weather: a daily and yearly temperature cycle with noise, derived quantities roughly
    consistent (columns as in the station files, `Date Time` first, timestamps as dd.mm.yyyy HH:MM:SS)."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range(pd.Timestamp(start), periods=rows, freq="10min")
    hours = (stamps - stamps[0]).total_seconds().to_numpy() / 3600
    day, year = 2 * np.pi * hours / 24, 2 * np.pi * hours / (24 * 365.25)
    t = 9 - 9 * np.cos(year) + 4 * np.sin(day) + np.cumsum(rng.normal(0, 0.05, rows)).clip(-4, 4)
    p = 990 + 8 * np.sin(year * 5) + rng.normal(0, 0.3, rows)
    rh = (75 - 15 * np.sin(day) + rng.normal(0, 3, rows)).clip(15, 100)
    vpmax = 6.1078 * np.exp(17.27 * t / (t + 237.3))
    vpact = vpmax * rh / 100
    tdew = 237.3 * np.log(vpact / 6.1078) / (17.27 - np.log(vpact / 6.1078))
    sh = 622 * vpact / (p - 0.378 * vpact)
    wv = np.abs(rng.gamma(2, 1.2, rows))
    frame = pd.DataFrame(
        {
            "Date Time": stamps.strftime("%d.%m.%Y %H:%M:%S"),
            "p (mbar)": p,
            "T (degC)": t,
            "Tpot (K)": t + 273.15 + (1000 - p) * 0.0085,
            "Tdew (degC)": tdew,
            "rh (%)": rh,
            "VPmax (mbar)": vpmax,
            "VPact (mbar)": vpact,
            "VPdef (mbar)": vpmax - vpact,
            "sh (g/kg)": sh,
            "H2OC (mmol/mol)": 1000 * vpact / p,
            "rho (g/m**3)": 100 * p / (2.87 * (t + 273.15)) * 10,
            "wv (m/s)": wv,
            "max. wv (m/s)": wv * 1.6,
            "wd (deg)": rng.uniform(0, 360, rows),
            "rain (mm)": np.where(rng.random(rows) < 0.05, 0.1, 0.0),
            "raining (s)": np.where(rng.random(rows) < 0.05, 600.0, 0.0),
            "SWDR (W/m\u00b2)": np.maximum(0, 400 * np.sin(day)),
            "PAR (\u00b5mol/m\u00b2/s)": np.maximum(0, 800 * np.sin(day)),
            "max. PAR (\u00b5mol/m\u00b2/s)": np.maximum(0, 900 * np.sin(day)),
            "Tlog (degC)": t + 10,
            "CO2 (ppm)": 420 + rng.normal(0, 3, rows),
        }
    )
    return frame


def _csv_text(frame: pd.DataFrame, quoted_header: bool, padded: bool, newline: str) -> str:
    header = ",".join(f'"{c}"' if quoted_header else c for c in frame.columns)
    values = frame.drop(columns="Date Time")
    if padded:
        body = values.map(lambda v: f"{v:8.2f}")
    else:  # like a spreadsheet re-save: shortest form, no trailing zeros
        body = values.map(lambda v: f"{round(v, 2):g}")
    lines = [header] + [
        ",".join([stamp, *row]) for stamp, row in zip(frame["Date Time"], body.itertuples(index=False, name=None))
    ]
    return newline.join(lines) + newline


def write_jena_classic(folder: Path, rows: int = CLASSIC_ROWS, seed: int = 0, frame: pd.DataFrame | None = None,
                       csv_text: str | None = None) -> Path:
    """`jena_climate_2009_2016.csv.zip`: the classic header (15 quoted names), unpadded values, LF.

    By default: `rows` rows from 01.01.2009 00:10:00, with -9999 in `wv (m/s)` and `max. wv (m/s)` (as in the
    real file), one repeated timestamp and one gap of 6 hours. `csv_text` replaces the CSV content (bad inputs).
    """
    if csv_text is None:
        if frame is None:
            frame = classic_frame(rows, seed)
        csv_text = _csv_text(frame, quoted_header=True, padded=False, newline="\n")
    path = Path(folder) / f"{CLASSIC_NAME}.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(CLASSIC_NAME, csv_text.encode("latin-1"))
    return path


def classic_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """Classic-layout frame: 15 columns, sentinels in the wind columns, one repeated row, one 6-hour gap."""
    frame = synthetic_weather("2009-01-01 00:10:00", rows + 36, seed)[["Date Time", *FEATURES]]
    frame = frame.drop(index=range(rows // 2, rows // 2 + 36)).reset_index(drop=True)  # a 6-hour gap
    frame.loc[rows // 3, "wv (m/s)"] = -9999.0
    frame.loc[rows // 3 + 7, "max. wv (m/s)"] = -9999.0
    frame = pd.concat([frame.iloc[: rows // 4 + 1], frame.iloc[rows // 4: rows // 4 + 1], frame.iloc[rows // 4 + 1:]])
    return frame.reset_index(drop=True).iloc[:rows]


def write_station_file(folder: Path, name: str, start: str, rows: int, *, quoted_header: bool, padded: bool,
                       crlf: bool, seed: int = 0, repeat_row: int | None = None,
                       sentinels: dict[str, list[int]] | None = None, frame: pd.DataFrame | None = None) -> Path:
    """A station half-year file (`mpi_roof_YYYY[ab].csv` or `.zip`) in latin-1 with the 7 newer columns.

    Args:
        repeat_row: index of a row written twice (the real 2024a file repeats one).
        sentinels: column -> row indices set to -9999.
        frame: use this frame instead of synthetic weather (bad inputs).
    """
    if frame is None:
        frame = synthetic_weather(start, rows, seed)
        for column, at in (sentinels or {}).items():
            frame.loc[at, column] = -9999.0
        if repeat_row is not None:
            frame = pd.concat([frame.iloc[: repeat_row + 1], frame.iloc[repeat_row:]]).reset_index(drop=True)
    text = _csv_text(frame, quoted_header=quoted_header, padded=padded, newline="\r\n" if crlf else "\n")
    data = text.encode("latin-1")
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith(".zip"):
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr(name[:-4] + ".csv", data)
    else:
        path.write_bytes(data)
    return path


def write_station_pair(folder: Path, rows: int = STATION_ROWS) -> list[str]:
    """Two station files like the mirror's 2024 pair: `a` quoted, padded, LF, one repeated row, a -9999 in
    max. PAR and one in wind speed; `b` unquoted, unpadded, CRLF, starting mid-day after a gap of about 25 days
    (with the default rows: a ends 24.01.2024 14:40, b starts 18.02.2024 11:40)."""
    write_station_file(folder, "mpi_roof_2024a.csv", "2024-01-01 00:10:00", rows, quoted_header=True, padded=True,
                       crlf=False, seed=1, repeat_row=rows // 2,
                       sentinels={"max. PAR (\u00b5mol/m\u00b2/s)": [100], "wv (m/s)": [rows // 3]})
    write_station_file(folder, "mpi_roof_2024b.csv", STATION_B_START, rows, quoted_header=False, padded=False,
                       crlf=True, seed=2, sentinels={"max. PAR (\u00b5mol/m\u00b2/s)": [5, 6, 7]})
    return ["mpi_roof_2024a.csv", "mpi_roof_2024b.csv"]


def write_checksums(folder: Path) -> Path:
    """`SHA256SUMS` in sha256sum format for every other file in `folder`."""
    folder = Path(folder)
    lines = [
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}"
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != "SHA256SUMS"
    ]
    path = folder / "SHA256SUMS"
    path.write_text("\n".join(lines) + "\n")
    return path



def write_bad_mirror(folder: Path, write_bad, fixture_mirror: Path) -> Path:
    """A new mirror folder holding one bad input (`write_bad(folder, fixture_mirror)`, as the e2e suites' bad-input
    tables give it) and the SHA256SUMS of what it holds."""
    folder.mkdir()
    write_bad(folder, fixture_mirror)
    write_checksums(folder)
    return folder
