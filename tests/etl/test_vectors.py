"""etl/vectors.py: the build's vectors on disk, read back in parts."""

from __future__ import annotations

import numpy as np
import pytest

from etl.vectors import VectorFile, as_array


def _random(n: int, d: int = 5) -> np.ndarray:
    return np.random.default_rng(n).standard_normal((n, d)).astype(np.float32)


def test_rows_written_in_blocks_read_back_by_slice_index_and_mask(tmp_path):
    a = _random(1000)
    v = VectorFile.create(tmp_path / "v.npy", *a.shape)
    for lo in (600, 0, 300, 900):  # any order
        v.write(lo, a[lo : lo + 300])
    np.testing.assert_array_equal(np.load(tmp_path / "v.npy"), a)  # a standard .npy file
    np.testing.assert_array_equal(VectorFile(tmp_path / "v.npy")[5:17], a[5:17])
    rows = np.array([999, 3, 3, 500])
    np.testing.assert_array_equal(v[rows], a[rows])
    mask = a[:, 0] > 0
    np.testing.assert_array_equal(v[mask], a[mask])
    np.testing.assert_array_equal(np.concatenate([b for _, b in v.chunks(128)]), a)
    assert [lo for lo, _ in v.chunks(400)] == [0, 400, 800]
    np.testing.assert_array_equal(as_array(v), a)
    assert type(v[rows]) is np.ndarray and type(v[2:4]) is np.ndarray  # in memory, not a mapping of the file


def test_with_rows_patches_a_copy_chunk_by_chunk(tmp_path):
    a, new = _random(50), _random(3)
    base = VectorFile.from_array(tmp_path / "a.npy", a)
    values = VectorFile.from_array(tmp_path / "new.npy", new)  # the replacements may be on disk too
    out = base.with_rows(tmp_path / "b.npy", np.array([0, 17, 49]), values, chunk_rows=8)
    expected = a.copy()
    expected[[0, 17, 49]] = new
    np.testing.assert_array_equal(out.read(), expected)
    np.testing.assert_array_equal(base.read(), a)  # the original is unchanged


def test_bad_writes_and_files_are_refused(tmp_path):
    v = VectorFile.create(tmp_path / "v.npy", 10, 4)
    with pytest.raises(ValueError, match="cannot write"):
        v.write(8, np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match="cannot write"):
        v.write(0, np.zeros((2, 5), np.float32))
    np.save(tmp_path / "ints.npy", np.zeros((3, 4), dtype=np.int64))
    with pytest.raises(ValueError, match="float32"):
        VectorFile(tmp_path / "ints.npy")
    empty = VectorFile.create(tmp_path / "e.npy", 0, 4)
    assert empty[0:0].shape == (0, 4) and empty[np.array([], dtype=np.int64)].shape == (0, 4)
