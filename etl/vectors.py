"""Row-addressable embedding vectors in a ``.npy`` file on disk, so a build holds only the rows it works on.

The embed stage writes the build's (n, d) float32 vectors into a ``VectorFile`` as they come (``write``); the
later stages read them back a chunk or a set of rows at a time (``vf[lo:hi]``, ``vf[rows]``, ``chunks``). Each
read maps the file only for that call (or reads it with plain file I/O), so the pages read do not stay in the
process's resident memory: peak memory grows with the chunk and the fit sample, not with the row count. The
file is a standard ``.npy`` (``np.load(path, mmap_mode="r")`` reads it) and belongs to one build: the pipeline
puts it beside the build's database file and deletes it with the build.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

DTYPE = np.dtype("<f4")


class VectorFile:
    """An (n, d) float32 matrix in the ``.npy`` file ``path``. ``create`` makes one (zero-filled, sparse);
    ``VectorFile(path)`` opens an existing one."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        with open(self.path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(fh)
            self.offset = fh.tell()
        if dtype != DTYPE or len(shape) != 2 or fortran:
            raise ValueError(f"{self.path} is not an (n, d) float32 C-order array")
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))

    @classmethod
    def create(cls, path: Path | str, n: int, dim: int) -> VectorFile:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            np.lib.format.write_array_header_1_0(fh, {"descr": np.lib.format.dtype_to_descr(DTYPE),
                                                       "fortran_order": False, "shape": (n, dim)})
            fh.truncate(fh.tell() + n * dim * DTYPE.itemsize)  # sparse: blocks are allocated as rows are written
        return cls(path)

    @classmethod
    def from_array(cls, path: Path | str, vectors: np.ndarray) -> VectorFile:
        """A file holding ``vectors`` (an (n, d) array)."""
        vectors = np.asarray(vectors, dtype=DTYPE)
        out = cls.create(path, vectors.shape[0], vectors.shape[1] if vectors.ndim == 2 else 0)
        out.write(0, vectors)
        return out

    @property
    def dtype(self) -> np.dtype:
        return DTYPE

    @property
    def ndim(self) -> int:
        return 2

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def _row_bytes(self) -> int:
        return self.shape[1] * DTYPE.itemsize

    def write(self, lo: int, block: np.ndarray) -> None:
        """Write ``block`` ((m, d)) as rows ``lo`` to ``lo + m``."""
        block = np.ascontiguousarray(block, dtype=DTYPE)
        if block.shape[0] == 0:
            return
        if block.ndim != 2 or block.shape[1] != self.shape[1] or not 0 <= lo <= self.shape[0] - block.shape[0]:
            raise ValueError(f"cannot write a block of shape {block.shape} at row {lo} of {self.shape}")
        with open(self.path, "r+b") as fh:
            fh.seek(self.offset + lo * self._row_bytes)
            fh.write(memoryview(block).cast("B"))

    def __getitem__(self, index) -> np.ndarray:
        """Rows as a new in-memory array: a slice (step 1) is read with file I/O, anything else numpy can index
        rows with (an int array, a boolean mask) through a mapping made for this call only."""
        n, d = self.shape
        if isinstance(index, slice) and index.step in (None, 1):
            lo, hi, _ = index.indices(n)
            count = max(hi - lo, 0)
            if count == 0 or d == 0:
                return np.zeros((count, d), dtype=DTYPE)
            with open(self.path, "rb") as fh:
                fh.seek(self.offset + lo * self._row_bytes)
                out = np.fromfile(fh, dtype=DTYPE, count=count * d)
            if out.size != count * d:
                raise OSError(f"{self.path} is shorter than its header says")
            return out.reshape(count, d)
        if n == 0 or d == 0:
            return np.zeros((n, d), dtype=DTYPE)[index]
        mapped = np.memmap(self.path, dtype=DTYPE, mode="r", offset=self.offset, shape=(n, d))
        out = np.array(mapped[index], dtype=DTYPE, copy=True, subok=False)
        del mapped  # unmapped now (nothing else refers to the mapping): the rows read do not stay resident
        return out

    def chunks(self, rows: int) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, block) for consecutive blocks of at most ``rows`` rows."""
        for lo in range(0, self.shape[0], max(1, rows)):
            yield lo, self[lo : lo + rows]

    def read(self) -> np.ndarray:
        """Every row, in memory."""
        return self[0 : self.shape[0]]

    def with_rows(self, path: Path | str, rows: np.ndarray, values: np.ndarray | VectorFile,
                  chunk_rows: int) -> VectorFile:
        """A copy at ``path`` whose ``rows`` (sorted int indices) hold ``values`` (row j for ``rows[j]``, an array
        or a ``VectorFile``) instead, copied chunk by chunk."""
        out = VectorFile.create(path, *self.shape)
        rows = np.asarray(rows, dtype=np.int64)
        for lo, block in self.chunks(chunk_rows):
            at = np.flatnonzero((rows >= lo) & (rows < lo + len(block)))
            if len(at):
                block[rows[at] - lo] = values[at]
            out.write(lo, block)
        return out

    def remove(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def as_array(vectors: np.ndarray | VectorFile) -> np.ndarray:
    """``vectors`` in memory (a ``VectorFile`` read whole)."""
    return vectors.read() if isinstance(vectors, VectorFile) else vectors
