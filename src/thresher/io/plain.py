"""The lines of a plain (uncompressed) file, a large block of bytes at a time.

:func:`blocks` hands the JSONL fast path whole lines in place in one reused buffer, with
where each line that is not blank starts and ends; blank lines are only counted, in
compiled code, so a run of millions of them costs neither Python nor memory. A line
longer than the limit is never held: the buffer stops growing at the limit and the rest
of the line is read past, counted, as a :class:`Long`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from io import FileIO

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["Block", "Long", "blocks"]

_BLOCK = 1 << 24  # bytes read at a time
_WINDOW = 1 << 18  # bytes of a block whose lines are found at a time
_BOM = b"\xef\xbb\xbf"
_ENDING = 2  # room past the limit for a line's "\r\n"


@dataclass(frozen=True, kw_only=True)
class Block:
    """Whole lines in ``buf``: the ``count`` lines there, of which those not blank start
    at ``starts``, end (without their line ending) at ``ends`` and are the ``index``-th."""

    buf: bytearray
    starts: NDArray[np.int64]
    ends: NDArray[np.int64]
    index: NDArray[np.int64]
    count: int


@dataclass(frozen=True, kw_only=True)
class Long:
    """One line over the limit, read past: its ``size`` (without the line ending)."""

    size: int
    blank: bool


@njit(cache=True, nogil=True)
def _trim(buf, starts, ends, solid):  # type: ignore[no-untyped-def]
    """Move each line's end back over its line ending, and say whether the line has a
    byte that is not ASCII whitespace."""
    for k in range(starts.shape[0]):
        s, e = starts[k], ends[k]
        while e > s and (buf[e - 1] == 0x0D or buf[e - 1] == 0x0A):
            e -= 1
        ends[k] = e
        visible = False
        for i in range(s, e):
            b = buf[i]
            if not (b == 0x20 or 0x09 <= b <= 0x0D):
                visible = True
                break
        solid[k] = visible


def _window(arr: NDArray[np.uint8], lo: int, hi: int
            ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], int]:
    """The lines of arr[lo:hi] (each ended by a newline, but perhaps the last) that are not
    blank: where each starts and ends without its line ending, and its place among all
    the window's lines; then how many lines the window has."""
    ends = lo + np.flatnonzero(arr[lo:hi] == 0x0A)
    if not ends.shape[0] or ends[-1] != hi - 1:
        ends = np.append(ends, hi)
    starts = np.empty_like(ends)
    starts[0] = lo
    starts[1:] = ends[:-1] + 1
    solid = np.empty(ends.shape[0], dtype=np.bool_)
    _trim(arr, starts, ends, solid)
    index = np.flatnonzero(solid)
    return starts[index], ends[index], index, int(ends.shape[0])


def _block(buf: bytearray, cut: int) -> Block:
    """The lines of ``buf[:cut]``, looked at a window at a time: the arrays of all lines
    (eight bytes a line each) never outgrow a window, whatever the blank lines."""
    arr = np.frombuffer(buf, dtype=np.uint8)
    parts: list[tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]] = []
    lo = count = 0
    while lo < cut:
        hi = buf.rfind(b"\n", lo, min(lo + _WINDOW, cut)) + 1
        if hi <= lo:  # no line ends in the window: it ends past it
            hi = buf.find(b"\n", lo, cut) + 1 or cut
        starts, ends, index, lines = _window(arr, lo, hi)
        parts.append((starts, ends, index + count))
        lo, count = hi, count + lines
    if len(parts) == 1:
        starts, ends, index = parts[0]
    else:
        starts, ends, index = (np.concatenate([p[k] for p in parts]) for k in range(3))
    return Block(buf=buf, starts=starts, ends=ends, index=index, count=count)


def _read_past(fh: FileIO, buf: bytearray, have: int) -> tuple[Long, int, int, bool]:
    """Read past the line that fills ``buf[:have]`` (no line ending there yet) to its end.

    Returns it as a :class:`Long`, the bytes read, and the bytes of the next line that
    followed it, now at the front of ``buf``; then whether the file ended.
    """
    size, blank = have, _blank(buf, have)
    before = buf[have - 1]  # the byte before the line ending, for a carriage return
    view = memoryview(buf)
    while got := fh.readinto(view) or 0:
        nl = buf.find(b"\n", 0, got)
        if nl >= 0:
            size += nl
            blank = blank and _blank(buf, nl)
            before = buf[nl - 1] if nl else before
            rest = got - nl - 1
            buf[:rest] = buf[nl + 1:got]
            return Long(size=size - (before == 0x0D), blank=blank), size + 1, rest, False
        size += got
        blank = blank and _blank(buf, got)
        before = buf[got - 1]
    return Long(size=size, blank=blank), size, 0, True


def _blank(buf: bytearray, end: int) -> bool:
    """Whether ``buf[:end]`` holds only bytes that bytes.isspace() counts."""
    return end == 0 or buf[:end].isspace()


def _opened(path: str, start: int) -> tuple[FileIO, int]:
    """The file, at ``start`` or past a byte order mark that begins it."""
    fh = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by blocks()
    if start == 0 and fh.read(len(_BOM)) == _BOM:
        return fh, len(_BOM)
    fh.seek(start)
    return fh, start


def blocks(path: str, start: int, stop: int | None, *, limit: int
           ) -> Iterator[Block | Long]:
    """Yield blocks of whole lines of the file's byte range ``[start, stop)`` (the lines
    that start in it), and each line over ``limit`` bytes as a :class:`Long`."""
    buf = bytearray(_BLOCK)
    have = 0  # bytes at the front of buf carried over: the start of a line
    fh, pos = _opened(path, start)  # pos: file offset of buf[0]
    with fh:
        while True:
            if have == len(buf):  # a line longer than the buffer, within the limit
                buf.extend(bytes(max(1, min(len(buf), limit + _ENDING + 1 - len(buf)))))
            got = fh.readinto(memoryview(buf)[have:]) or 0
            end = have + got
            last = got == 0
            cut = end if last else buf.rfind(b"\n", 0, end) + 1
            if cut == 0 and not last and end > limit + _ENDING:
                if stop is not None and pos >= stop:
                    return
                long, used, have, last = _read_past(fh, buf, end)
                yield long
                pos += used
                if last or (stop is not None and pos >= stop):
                    return
                continue
            if stop is not None and pos + cut >= stop:
                if stop <= pos:
                    cut = 0
                else:  # the line holding the range's last byte is its last line
                    nl = buf.find(b"\n", stop - pos - 1, cut)
                    cut = nl + 1 if nl >= 0 else cut
                last = True
            elif cut == 0 and not last:  # no whole line yet
                have = end
                continue
            if cut:
                yield _block(buf, cut)
            if last:
                return
            have = end - cut
            buf[:have] = buf[cut:end]
            pos += cut
