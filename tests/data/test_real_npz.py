"""The real `imdb.npz` of the read-only mirror read by our restricted loader: the same arrays as `np.load`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from tasks.ingest.imdb_reviews import load_imdb_npz

pytestmark = pytest.mark.data


def test_the_restricted_loader_reads_the_real_npz_exactly_as_np_load(shared_datasets: Path) -> None:
    path = shared_datasets / "imdb.npz"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()

    ours = load_imdb_npz(path, digest)

    # Only after the restricted loader accepted every global the file's pickles name: the reference reading.
    with np.load(path, allow_pickle=True) as npz:
        assert sorted(npz.files) == sorted(ours)
        for key in npz.files:
            theirs = npz[key]
            assert (ours[key].dtype, ours[key].shape) == (theirs.dtype, theirs.shape), key
            if theirs.dtype == object:
                assert all(type(r) is list for r in ours[key]), key
                assert ours[key].tolist() == theirs.tolist(), key
            else:
                np.testing.assert_array_equal(ours[key], theirs)
