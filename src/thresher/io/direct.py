"""Write large files sequentially without filling the page cache (``O_DIRECT``).

A file written the usual way is first copied into the kernel's page cache, a page at a
time; a large output (the kept corpus, an index segment) then costs the kernel as much
as building it costs thresher where fresh memory is dear (a virtual machine that hands
freed memory back to its host; ``bench/machine.py`` measures what fresh memory costs,
and ``docs/performance.md`` what ``O_DIRECT`` saves). :class:`DirectFile` gathers the
writes into one page-aligned buffer and hands it to the disk a full buffer at a time,
the unaligned tail written the usual way at the end.

Where the file system refuses ``O_DIRECT`` (tmpfs, some network file systems), or
``THRESHER_DIRECT_IO=0`` is set, the same file is written the usual way: the bytes
written are the same either way.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import threading
from types import TracebackType
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray

__all__ = ["DirectFile", "direct_enabled", "save_npy"]

_ALIGN = 4096  # the largest logical block size O_DIRECT asks offsets and sizes to align to
_CHUNK = 8 << 20
_O_DIRECT = getattr(os, "O_DIRECT", 0)
_SPARE: list[mmap.mmap] = []  # buffers of closed files, kept: fresh memory is what costs
_SPARE_LOCK = threading.Lock()
_SPARE_MAX = 4


def _take_buffer() -> mmap.mmap:
    with _SPARE_LOCK:
        while _SPARE:
            buffer = _SPARE.pop()
            if len(buffer) == _CHUNK:
                return buffer
            buffer.close()
    # page-aligned, as O_DIRECT needs; private: a forked worker has its own
    return mmap.mmap(-1, _CHUNK, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)


def _forget_spares() -> None:
    """In a forked child: the parent's spare buffers are not this process's to reuse
    (nor its lock, which another of its threads may have held)."""
    global _SPARE_LOCK
    _SPARE.clear()
    _SPARE_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_spares)


def _give_back(buffer: mmap.mmap) -> None:
    with _SPARE_LOCK:
        if len(_SPARE) < _SPARE_MAX:
            _SPARE.append(buffer)
            return
    buffer.close()


def direct_enabled() -> bool:
    """Whether large outputs may bypass the page cache (not with ``THRESHER_DIRECT_IO=0``)."""
    return bool(_O_DIRECT) and os.environ.get("THRESHER_DIRECT_IO", "1") != "0"


class DirectFile:
    """A file opened for writing from its start, its bytes handed to the disk directly.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     with DirectFile(f"{d}/a.bin") as fh:
        ...         _ = fh.write(b"x" * 10_000)
        ...     os.path.getsize(f"{d}/a.bin")
        10000
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.name = os.fspath(path)
        self._fd = os.open(self.name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        self._direct = direct_enabled() and self._set_direct(True)
        self._buffer = _take_buffer()
        self._size = len(self._buffer)
        self._view = memoryview(self._buffer)
        self._used = 0
        self._written = 0
        self.closed = False

    @property
    def direct(self) -> bool:
        """Whether the file is still written past the page cache."""
        return self._direct

    def _set_direct(self, on: bool) -> bool:
        flags = fcntl.fcntl(self._fd, fcntl.F_GETFL)
        try:
            fcntl.fcntl(self._fd, fcntl.F_SETFL,
                        flags | _O_DIRECT if on else flags & ~_O_DIRECT)
        except OSError:
            return False
        return on

    def write(self, data: Any) -> int:
        """Append ``data`` (any contiguous buffer); return its length in bytes."""
        view = memoryview(data).cast("B")
        n, at = view.nbytes, 0
        while at < n:
            take = min(n - at, self._size - self._used)
            self._view[self._used:self._used + take] = view[at:at + take]
            self._used += take
            at += take
            if self._used == self._size:
                self._drain(self._size)
        return n

    def _drain(self, upto: int) -> None:
        """Write the buffer's first ``upto`` bytes and move what follows to its start."""
        at = 0
        while at < upto:
            try:
                done = os.write(self._fd, self._view[at:upto])
            except OSError as exc:
                if not (self._direct and exc.errno == errno.EINVAL):
                    raise
                self._direct = self._set_direct(False)  # refused: the usual way from here
                continue
            at += done
            if done % _ALIGN and self._direct:  # a short write left the offset unaligned
                self._direct = self._set_direct(False)
        self._written += upto
        rest = self._used - upto
        if rest:
            self._view[:rest] = self._view[upto:self._used]
        self._used = rest

    def tell(self) -> int:
        """Bytes written so far."""
        return self._written + self._used

    def flush(self) -> None:
        """Nothing: the bytes reach the file a buffer at a time and at :meth:`close`."""

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        """Write what is left and close the file (its bytes are not yet fsynced)."""
        if self.closed:
            return
        try:
            aligned = self._used // _ALIGN * _ALIGN
            if aligned:
                self._drain(aligned)
            if self._used:
                if self._direct:
                    self._direct = self._set_direct(False)
                self._drain(self._used)
        finally:
            self.closed = True
            os.close(self._fd)
            self._view.release()
            _give_back(self._buffer)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def save_npy(path: str | os.PathLike[str], array: NDArray[Any]) -> None:
    """Write ``array`` as ``np.save`` writes it in C order, through a :class:`DirectFile`."""
    from numpy.lib import format as npy

    array = array if array.flags.c_contiguous else array.copy(order="C")
    with DirectFile(path) as fh:
        npy.write_array_header_1_0(fh, npy.header_data_from_array_1_0(array))
        if array.size:
            fh.write(array.reshape(-1).view(np.uint8))
