"""Raw files in, Parquet datasets out: reading the downloads, repairing what the raw suites report, and reading
the published Parquet back for the later stages.

IMDB: `train.parquet` / `test.parquet` (review: list<int32> of raw word ranks as in the npz, no offsets; label:
int8), plus the word index. Jena: `jena.parquet` (timestamp plus the 14 features as float32, sorted, one row per
timestamp). Parquet metadata (key `seqconv`) records the source files' sha256, row counts, repairs and grid gaps.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import pickle
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.lib import format as npy_format
from prefect import task

from tasks.core import atomic
from tasks.core.atomic import VERSIONS
from tasks.core.cache import content_key, file_sha256, short_key
from tasks.core.sources import (
    IMDB_SPLITS,
    JENA_ENCODING,
    JENA_FEATURES,
    JENA_SENTINEL,
    JENA_STEP_MINUTES,
    JENA_TIMESTAMP,
    JENA_TIMESTAMP_FORMAT,
)
from tasks.core.errors import ChecksumError, DataFormatError

METADATA_KEY = b"seqconv"  # Parquet schema metadata key holding our provenance JSON
IMDB_KEYS = ("x_train", "y_train", "x_test", "y_test")


# ---------------------------------------------------------------------------------------------------------------
# IMDB
# ---------------------------------------------------------------------------------------------------------------
def load_imdb_npz(path: Path, sha256: str) -> dict[str, np.ndarray]:
    """Load the IMDB npz without running anything it holds: only after checking it still has the verified
    digest, and with its object arrays unpickled by `NpzUnpickler`, which builds numpy arrays of lists of ints
    and refuses any other object (`np.load(allow_pickle=True)` would call whatever a pickle names).

    Args:
        path: the downloaded `imdb.npz`.
        sha256: the digest the download step verified; the file is re-hashed and must match it.
    Returns:
        x_train, y_train, x_test, y_test: object arrays of rank lists and 0/1 labels.
    Raises:
        ChecksumError: the file no longer has the verified digest.
        DataFormatError: truncated or corrupt, an array missing, or a pickle naming anything beyond what an
            array of lists of ints needs (the message names the file, the array and the refused global).
    """
    actual = file_sha256(path)
    if actual != sha256:
        raise ChecksumError(f"{path}: sha256 {actual} is not the verified {sha256}; refusing to unpickle it")
    try:
        with zipfile.ZipFile(path) as archive:
            members = {name.removesuffix(".npy"): name for name in archive.namelist() if name.endswith(".npy")}
            missing = [k for k in IMDB_KEYS if k not in members]
            if missing:
                raise DataFormatError(f"{path}: missing array(s) {missing}; expected {list(IMDB_KEYS)}")
            arrays = {k: read_npy_member(archive, members[k], f"{path}: array {k!r}") for k in IMDB_KEYS}
    except DataFormatError:
        raise
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, pickle.UnpicklingError, KeyError) as e:
        raise DataFormatError(f"{path}: truncated or corrupt npz ({type(e).__name__}: {e})") from e
    for split in IMDB_SPLITS:
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if len(x) != len(y):
            raise DataFormatError(f"{path}: x_{split} has {len(x)} reviews but y_{split} {len(y)} labels")
    return arrays


def read_npy_member(archive: zipfile.ZipFile, member: str, source: str) -> np.ndarray:
    """One `.npy` member of an npz: plain dtypes as `np.load` reads them, object arrays through `NpzUnpickler`.

    Args:
        archive: the open npz.
        member: the member's name, e.g. "x_train.npy".
        source: "<file>: array '<key>'", for messages.
    """
    with archive.open(member) as stream:
        version = npy_format.read_magic(stream)
        if version == (1, 0):
            shape, fortran_order, dtype = npy_format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran_order, dtype = npy_format.read_array_header_2_0(stream)
        else:  # 3.0 only adds utf-8 field names, which no array here has
            raise DataFormatError(f"{source}: .npy format version {version}; expected 1.0 or 2.0")
        if not dtype.hasobject:
            array = np.frombuffer(stream.read(), dtype=dtype)  # (count,) then shaped below
            count = int(np.prod(shape, dtype=np.int64))
            if array.size != count:
                raise ValueError(f"{source}: {array.size} of {count} values present")
            return array.reshape(shape, order="F" if fortran_order else "C").copy()
        # numpy writes an object array as one pickle of the whole ndarray after the header.
        array = NpzUnpickler(stream, source).load()
    if not isinstance(array, np.ndarray) or array.shape != shape or array.dtype != dtype:
        raise DataFormatError(
            f"{source}: the pickle holds {type(array).__name__} {getattr(array, 'shape', '')}; expected the "
            f"{dtype} array of shape {shape} its header announces"
        )
    return array


class NpzUnpickler(pickle.Unpickler):
    """Unpickles numpy object arrays of plain Python values, and nothing that can run code.

    A pickle can name any importable callable (`os.system`, `eval`, a class with `__reduce__`) and the stock
    unpickler calls it. Here only the globals numpy's own object-array pickle names may be looked up (see
    `npz_pickle_globals`); everything else stays data the pickle opcodes build themselves (lists, ints, str).
    """

    def __init__(self, stream, source: str) -> None:
        # The options np.load uses, so files pickled by Python 2 read the same (ASCII str, fixed module names).
        super().__init__(stream, fix_imports=True, encoding="ASCII")
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        allowed = npz_pickle_globals()
        if (module, name) not in allowed:
            raise DataFormatError(
                f"{self.source}: the pickle names {module}.{name}, which could run code; refusing to unpickle it "
                f"(an array of lists of ints needs only {', '.join(sorted(f'{m}.{n}' for m, n in allowed))})"
            )
        return allowed[(module, name)]


@functools.cache
def npz_pickle_globals() -> dict[tuple[str, str], Any]:
    """(module, name) -> object for every global an object array of lists of ints may name in its pickle."""
    reconstruct = np.empty(0).__reduce__()[0]  # numpy's array reconstructor, whichever module this numpy keeps it in
    return {
        # Files pickled by numpy 1 name numpy.core, by numpy 2 numpy._core: the same function.
        ("numpy.core.multiarray", "_reconstruct"): reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("builtins", "list"): list,
        ("builtins", "int"): int,
        ("__builtin__", "list"): list,  # the Python 2 names of the same two
        ("__builtin__", "int"): int,
    }


def load_word_index(path: Path) -> dict[str, int]:
    """The word → rank mapping (`imdb_word_index.json`)."""
    try:
        index = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataFormatError(f"{path}: not a JSON word index ({e})") from e
    if not isinstance(index, dict) or not all(isinstance(v, int) for v in index.values()):
        raise DataFormatError(f"{path}: expected a JSON object of word -> integer rank")
    return index


def flatten_reviews(reviews: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    """All word ranks of all reviews in one int64 array, and each review's length.

    Raises:
        DataFormatError: a review is not a list (an int, a string: `len` would fail or count characters), or
            holds something other than integer ranks; the message names `source` and the row.
    """
    not_lists = [row for row, review in enumerate(reviews) if type(review) is not list]
    if not_lists:
        examples = ", ".join(f"row {row}: {type(reviews[row]).__name__} {reviews[row]!r:.40}" for row in not_lists[:3])
        raise DataFormatError(
            f"{source}: {len(not_lists)} review(s) are not lists of word ranks ({examples}); expected a list of ints "
            f"per row"
        )
    lengths = np.fromiter(map(len, reviews), dtype=np.int64, count=len(reviews))
    # np.fromiter would quietly make ranks of 1.5, "12" or True: only ints pass (0.3 s on a real split).
    if set(map(type, itertools.chain.from_iterable(reviews))) - {int}:
        row, value = next((row, w) for row, review in enumerate(reviews) for w in review if type(w) is not int)
        raise DataFormatError(
            f"{source}: a review holds something other than integer word ranks (row {row}: "
            f"{type(value).__name__} {value!r:.40})"
        )
    try:
        flat = np.fromiter(itertools.chain.from_iterable(reviews), dtype=np.int64, count=int(lengths.sum()))
    except OverflowError as e:  # an int beyond int64; imdb_table then checks the int32 range
        raise DataFormatError(f"{source}: a review holds something other than integer word ranks ({e})") from e
    return flat, lengths


def imdb_table(flat: np.ndarray, lengths: np.ndarray, labels: np.ndarray, source: str) -> pa.Table:
    """Reviews as list<int32> of word ranks and labels as int8."""
    if flat.size and (flat.min() < 0 or flat.max() > np.iinfo(np.int32).max):
        raise DataFormatError(f"{source}: word ranks outside 0..2^31-1 (min {flat.min()}, max {flat.max()})")
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    review = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(flat.astype(np.int32)))
    return pa.table({"review": review, "label": pa.array(np.asarray(labels).astype(np.int8))})


def read_imdb_flat(dataset_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All word ranks (int32), review lengths and labels of one published split, without per-review objects."""
    table = pq.read_table(Path(dataset_dir) / f"{split}.parquet")
    review = table.column("review").combine_chunks()
    offsets = review.offsets.to_numpy()
    flat = review.values.to_numpy(zero_copy_only=False)[offsets[0]: offsets[-1]]
    return flat, np.diff(offsets).astype(np.int64), table.column("label").to_numpy().astype(np.int64)


def read_imdb_split(dataset_dir: Path, split: str) -> tuple[list[np.ndarray], np.ndarray]:
    """Reviews (int32 rank arrays) and labels of one published split."""
    flat, lengths, labels = read_imdb_flat(dataset_dir, split)
    return np.split(flat, np.cumsum(lengths)[:-1]), labels


# ---------------------------------------------------------------------------------------------------------------
# Jena
# ---------------------------------------------------------------------------------------------------------------
def read_jena_csv(path: Path) -> pd.DataFrame:
    """`parse_jena_csv`, memoized per file version: the raw suite and normalization read the same files in one
    process, and parsing a classic-size CSV costs seconds. Treat the frame as read-only."""
    path = Path(path).resolve()
    stat = path.stat()
    return _parse_jena_csv_cached(path, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _parse_jena_csv_cached(path: Path, size: int, mtime_ns: int) -> pd.DataFrame:
    return parse_jena_csv(path)


def parse_jena_csv(path: Path) -> pd.DataFrame:
    """One raw Jena CSV as written by the station or the classic archive, with numeric feature columns.

    Handles latin-1 headers, quoted or unquoted names, space-padded values and CRLF. A missing column is left
    for the raw suite to report; a cell that is not a number is an error naming the file, line and column.
    """
    path = Path(path)
    try:
        frame = pd.read_csv(
            path, encoding=JENA_ENCODING, skipinitialspace=True, dtype={JENA_TIMESTAMP: "string"}, low_memory=False
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise DataFormatError(f"{path}: not a readable CSV ({e})") from e
    if frame.empty:  # every suite passes an empty column; left alone, it would publish an empty dataset
        raise DataFormatError(f"{path}: a header and no data rows; expected at least one reading")
    frame.columns = [str(c).strip() for c in frame.columns]
    for column in JENA_FEATURES:
        if column not in frame.columns or pd.api.types.is_numeric_dtype(frame[column]):
            continue
        text = frame[column].astype("string").str.strip()
        numbers = pd.to_numeric(text, errors="coerce")
        bad = numbers.isna() & text.notna() & (text != "")
        if bad.any():
            rows = np.flatnonzero(bad.to_numpy())
            examples = ", ".join(f"line {r + 2}: {text.iloc[r]!r}" for r in rows[:3])
            raise DataFormatError(
                f"{path}: column {column!r} has {len(rows)} non-numeric cell(s) ({examples}); expected numbers"
            )
        frame[column] = numbers.astype("float64")
    return frame


def normalize_jena(frames: list[tuple[str, pd.DataFrame]]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Combine raw Jena files into one table: sorted, one row per timestamp, sentinels repaired.

    Args:
        frames: (file name, raw frame from `read_jena_csv`) in any order; they may overlap. The result does not
            depend on their order: they are taken by name.
    Returns:
        The table (timestamp, then the 14 features as float32) and a report of every repair and grid gap.
    Raises:
        DataFormatError: a file given twice or without rows, an unparseable timestamp, or a timestamp repeated
            with other readings (within a file or between two), naming the files, lines and values.
    """
    names = [name for name, _ in frames]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise DataFormatError(f"{twice[0]} is given {names.count(twice[0])} times; expected each source file once")
    # By name, so that which of two identical repeats is kept, the report's order and the bytes written never
    # depend on the order the files were listed in.
    frames = sorted(frames, key=lambda item: item[0])
    parts, sentinels_elsewhere, moved = [], {}, 0
    for name, frame in frames:
        if frame.empty:
            raise DataFormatError(f"{name}: no data rows; expected at least one reading")
        stamps = pd.to_datetime(frame[JENA_TIMESTAMP].str.strip(), format=JENA_TIMESTAMP_FORMAT, errors="coerce")
        if stamps.isna().any():
            row = int(np.flatnonzero(stamps.isna().to_numpy())[0])
            raise DataFormatError(f"{name}: line {row + 2}: {JENA_TIMESTAMP} {frame[JENA_TIMESTAMP].iloc[row]!r} "
                                  f"is not dd.mm.yyyy HH:MM:SS")
        part = frame[list(JENA_FEATURES)].astype("float64")
        part.insert(0, "timestamp", stamps.astype("datetime64[s]"))
        part[_FILE], part[_LINE] = name, np.arange(len(frame)) + 2  # line 1 is the header
        parts.append(part)
        moved += rows_moved_by_sorting(part["timestamp"].to_numpy().astype("int64"))
        for column in frame.columns:
            if column not in JENA_FEATURES and pd.api.types.is_numeric_dtype(frame[column]):
                n = int((frame[column] == JENA_SENTINEL).sum())
                if n:
                    sentinels_elsewhere[f"{name}: {column}"] = n
    # Stable: rows of one timestamp stay in file-name, then line order, so "the first" below is well defined.
    table = pd.concat(parts, ignore_index=True).sort_values("timestamp", kind="stable", ignore_index=True)

    repeated = table["timestamp"].duplicated(keep="first")
    identical = table.duplicated(subset=["timestamp", *JENA_FEATURES], keep="first")
    raise_on_conflicts(table, repeated & ~identical)
    table = table[~repeated].drop(columns=[_FILE, _LINE]).reset_index(drop=True)

    # -9999 is "no reading": interpolate from the neighbouring readings in time rather than zero it (the keras-io
    # example sets wind speed to 0), so a calm minute is not invented inside a storm.
    sentinels = {}
    for column in JENA_FEATURES:
        missing = table[column] == JENA_SENTINEL
        if missing.any():
            sentinels[column] = int(missing.sum())
            table[column] = table[column].mask(missing).interpolate(method="linear", limit_direction="both")
    for column in JENA_FEATURES:
        table[column] = table[column].astype("float32")

    report = {
        "rows": len(table),
        "first": str(table["timestamp"].iloc[0]) if len(table) else None,
        "last": str(table["timestamp"].iloc[-1]) if len(table) else None,
        "repairs": {
            "repeated_timestamps_dropped": int(repeated.sum()),
            # "conflicting" is kept in the record's shape for readers of older versions; it is always 0 now.
            "repeated_timestamps": {"identical": int(repeated.sum()), "conflicting": 0},
            "sentinels_interpolated": sentinels,
            "rows_out_of_order_sorted": moved,
            "sentinels_in_dropped_columns": sentinels_elsewhere,
        },
        **grid_gaps(table["timestamp"]),
    }
    return table, report


_FILE, _LINE = "__file", "__line"  # where each row came from, while files are combined (for messages)
CONFLICT_EXAMPLES = 5  # repeated timestamps with other readings shown in the error


def rows_moved_by_sorting(values: np.ndarray) -> int:
    """How many rows sorting had to move: the rows minus the longest run already in order (a longest
    non-decreasing subsequence). A row written late counts once, not once per order break it makes.

    Args:
        values: (rows,) the sort keys of one file, in file order.
    """
    values = np.asarray(values)
    if len(values) < 2 or bool(np.all(values[1:] >= values[:-1])):  # the usual case, without the loop below
        return 0
    tails: list = []  # tails[k]: the smallest last value of an in-order run of k + 1 rows so far
    for value in values.tolist():
        k = bisect.bisect_right(tails, value)
        if k == len(tails):
            tails.append(value)
        else:
            tails[k] = value
    return len(values) - len(tails)


def raise_on_conflicts(table: pd.DataFrame, conflicting: pd.Series) -> None:
    """Refuse rows that repeat an earlier row's timestamp with other readings: which one is right cannot be told,
    and keeping "the first" would let the order of the files decide.

    Args:
        table: the combined rows sorted by timestamp, with the _FILE and _LINE columns.
        conflicting: True where a row repeats an earlier row's timestamp but not its readings.
    """
    if not conflicting.any():
        return
    rows = np.flatnonzero(conflicting.to_numpy())
    firsts = table.drop_duplicates("timestamp", keep="first").set_index("timestamp")
    examples = []
    for row in rows[:CONFLICT_EXAMPLES]:
        other = table.iloc[row]
        first = firsts.loc[other["timestamp"]]
        columns = [c for c in JENA_FEATURES if not (first[c] == other[c] or (pd.isna(first[c]) and pd.isna(other[c])))]
        examples.append(
            f"{other['timestamp']}: {first[_FILE]} line {first[_LINE]} has "
            + ", ".join(f"{c} {first[c]}" for c in columns[:2])
            + f", {other[_FILE]} line {other[_LINE]} has "
            + ", ".join(f"{other[c]}" for c in columns[:2])
            + (f" (and {len(columns) - 2} more column(s))" if len(columns) > 2 else "")
        )
    raise DataFormatError(
        f"{len(rows)} row(s) repeat a timestamp with other readings, and which is right cannot be told "
        f"(first {len(examples)}: " + "; ".join(examples) + "); expected one reading per timestamp: fix or remove "
        "the wrong rows, or leave out the file that holds them"
    )


def canonical_sources(sources: list[dict]) -> list[dict]:
    """Jena sources ({"name", "sha256", ...}) in one order whatever order they were given in: by name, then digest.

    Raises:
        DataFormatError: a source is given twice, by name or as the same bytes under two names.
    """
    ordered = sorted(sources, key=lambda s: (s["name"], s["sha256"]))
    for earlier, later in itertools.pairwise(ordered):
        if earlier["name"] == later["name"]:
            raise DataFormatError(f"{later['name']} is given twice; expected each source file once")
    by_digest: dict[str, str] = {}
    for source in ordered:
        if source["sha256"] in by_digest:
            raise DataFormatError(
                f"{by_digest[source['sha256']]} and {source['name']} are the same file (sha256 {source['sha256']}); "
                f"expected each source file once"
            )
        by_digest[source["sha256"]] = source["name"]
    return ordered


def grid_gaps(timestamps: pd.Series) -> dict[str, Any]:
    """Where the 10-minute grid has holes (recorded, not filled: windowing must not cross them)."""
    seconds = timestamps.to_numpy().astype("datetime64[s]").astype(np.int64)
    step = JENA_STEP_MINUTES * 60
    diffs = np.diff(seconds)
    holes = np.flatnonzero(diffs > step)
    gaps = [
        {
            "after": str(timestamps.iloc[i]),
            "before": str(timestamps.iloc[i + 1]),
            "row": int(i + 1),  # first row after the gap
            "missing_steps": int(diffs[i] // step - 1),
            "hours": round(float(diffs[i]) / 3600, 2),
        }
        for i in holes
    ]
    return {
        "gaps": gaps,
        "gap_count": len(gaps),
        "missing_steps": int(sum(g["missing_steps"] for g in gaps)),
        "off_grid_timestamps": int((seconds % step != 0).sum()),
    }


def jena_arrow(table: pd.DataFrame) -> pa.Table:
    schema = pa.schema(
        [pa.field("timestamp", pa.timestamp("s"), nullable=False)] + [pa.field(c, pa.float32()) for c in JENA_FEATURES]
    )
    return pa.Table.from_pandas(table, schema=schema, preserve_index=False)


def read_jena(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps (int64 seconds) and features (float32, (rows, 14)) of the published Jena table."""
    table = pq.read_table(path)
    # Parquet has no seconds unit: a timestamp[s] column comes back as timestamp[ms]; cast to seconds first.
    seconds = table.column("timestamp").cast(pa.timestamp("s")).cast(pa.int64()).to_numpy()
    features = np.stack([table.column(c).to_numpy() for c in JENA_FEATURES], axis=1).astype(np.float32)
    return seconds, features  # (rows,), (rows, features)


# ---------------------------------------------------------------------------------------------------------------
# Parquet with provenance
# ---------------------------------------------------------------------------------------------------------------
def write_parquet(table: pa.Table, path: Path, provenance: dict[str, Any]) -> Path:
    """Write `table` with `provenance` as JSON in the schema metadata (into a staging folder, never in place)."""
    metadata = dict(table.schema.metadata or {})
    metadata[METADATA_KEY] = json.dumps(provenance, default=str).encode("utf-8")
    pq.write_table(table.replace_schema_metadata(metadata), path, compression="zstd")
    return Path(path)


def read_provenance(path: Path) -> dict[str, Any]:
    """The provenance JSON of a Parquet file written by `write_parquet`."""
    metadata = pq.read_schema(path).metadata or {}
    if METADATA_KEY not in metadata:
        raise DataFormatError(f"{path}: no seqconv provenance in the Parquet metadata; ingest it again")
    return json.loads(metadata[METADATA_KEY])


# ---------------------------------------------------------------------------------------------------------------
# Prefect tasks
# ---------------------------------------------------------------------------------------------------------------
def version_key(dataset: str, digests: list[str]) -> str:
    """The version of a dataset built from sources with these sha256 (in any order) by this code."""
    return short_key(f"{dataset}-version", sorted(digests))


def version_dir(processed_dir: Path, dataset: str, digests: list[str]) -> Path:
    """Where that version lives: content-addressed, so the same sources always map to the same folder."""
    return Path(processed_dir) / VERSIONS / f"{dataset}-{version_key(dataset, digests)}"


def _version_cache_key(dataset: str):
    def key_fn(context, parameters: dict) -> str:
        digests = [s.sha256 if hasattr(s, "sha256") else s["sha256"] for s in parameters["sources"]]
        return content_key("normalize", str(version_dir(parameters["processed_dir"], dataset, digests).resolve()))

    return key_fn


@task(task_run_name="normalize imdb", cache_key_fn=_version_cache_key("imdb"), persist_result=True)
def normalize_imdb(sources: list, raw_report: Path, processed_dir: Path) -> Path:
    """Write the IMDB splits as Parquet, the word index and the raw validation into a new dataset version."""
    npz, words = sources  # FetchedFile of imdb.npz and imdb_word_index.json
    arrays = load_imdb_npz(npz.path, npz.sha256)
    provenance_sources = [{"name": f.name, "sha256": f.sha256} for f in sources]
    with atomic.staging_dir(Path(processed_dir) / "imdb") as staging:
        for split in IMDB_SPLITS:
            source = f"{npz.name} x_{split}"
            flat, lengths = flatten_reviews(arrays[f"x_{split}"], source)
            table = imdb_table(flat, lengths, arrays[f"y_{split}"], source)
            provenance = {"dataset": "imdb", "split": split, "rows": table.num_rows, "sources": provenance_sources,
                          "repairs": {}}
            write_parquet(table, staging / f"{split}.parquet", provenance)
        shutil.copyfile(words.path, staging / "word_index.json")
        shutil.copyfile(raw_report, staging / "validation.raw.json")
        key = version_key("imdb", [f.sha256 for f in sources])
        return atomic.finalize_version(staging, Path(processed_dir) / "imdb", key)


@task(task_run_name="normalize jena", cache_key_fn=_version_cache_key("jena"), persist_result=True)
def normalize_jena_files(sources: list[dict], raw_report: Path, processed_dir: Path) -> Path:
    """Combine the raw Jena files into `jena.parquet` in a new dataset version, recording every repair."""
    sources = canonical_sources(sources)  # the provenance, and so the Parquet bytes, in one order
    frames = [(s["name"], read_jena_csv(Path(s["csv"]))) for s in sources]
    table, report = normalize_jena(frames)
    provenance = {
        "dataset": "jena",
        "sources": [{"name": s["name"], "sha256": s["sha256"], "rows": len(f)} for s, (_, f) in zip(sources, frames)],
        **report,
    }
    with atomic.staging_dir(Path(processed_dir) / "jena") as staging:
        write_parquet(jena_arrow(table), staging / "jena.parquet", provenance)
        shutil.copyfile(raw_report, staging / "validation.raw.json")
        key = version_key("jena", [s["sha256"] for s in sources])
        return atomic.finalize_version(staging, Path(processed_dir) / "jena", key)
