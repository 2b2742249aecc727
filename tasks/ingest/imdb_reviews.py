"""The IMDB reviews: the downloaded npz read without running anything it holds, the word index, the reviews as an
Arrow table (list<int32> of raw word ranks as in the npz, no offsets; label: int8), and a published split read
back.
"""

from __future__ import annotations

import functools
import itertools
import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.lib import format as npy_format

from tasks.core.cache import file_sha256
from tasks.core.errors import ChecksumError, DataFormatError
from tasks.core.sources import IMDB_SPLITS

IMDB_KEYS = ("x_train", "y_train", "x_test", "y_test")


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
