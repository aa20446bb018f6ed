"""The lines of a byte stream, read a chunk at a time, never holding a line past a limit.

A line iterator (``for line in fh``) holds a whole line before anyone can look at its
length: a gzip bomb of one endless line fills memory, and a run of a billion blank lines
costs a billion trips through Python. :class:`LineReader` reads fixed chunks, skips runs
of blank lines with ``bytes.isspace`` and ``bytes.count`` over large windows, and
stops keeping a line's bytes once it is longer than the limit, only counting the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

__all__ = ["LineReader", "too_long"]

_CHUNK = 1 << 20
_BLANKS = re.compile(rb"[ \t\n\r\x0b\x0c]*")  # the bytes that bytes.isspace() counts
_IS_BLANK = bytes(b in b" \t\n\r\x0b\x0c" for b in range(256))
_WINDOW = 256
_BOM = b"\xef\xbb\xbf"
_ENDING = 2  # room kept past the limit for a line's "\r\n"


def too_long(size: int, limit: int) -> str:
    """The reason a record over ``--max-doc-bytes`` is rejected.

    Example:
        >>> too_long(9_000_000, 8_388_608)
        'record of 9,000,000 bytes exceeds --max-doc-bytes 8,388,608'
    """
    return f"record of {size:,} bytes exceeds --max-doc-bytes {limit:,}"


class LineReader:
    """Iterate over ``(number, line, size)`` for each line of ``fh`` that is not blank.

    ``number`` counts every line from 1, blank ones included; ``line`` is the line as in
    the stream (with its line ending), or None when it is longer than ``limit`` bytes
    (without its line ending), and ``size`` its length without the line ending. A UTF-8
    byte order mark at the start (``bom``) is dropped, or kept on line 1 with ``raw``.
    With ``span``, only the lines starting in the stream's first ``span`` bytes are read.
    ``lines`` says how many lines were read so far (for a stream that breaks).
    """

    def __init__(self, fh: IO[bytes], *, limit: int, bom: bool = False, raw: bool = False,
                 span: int | None = None) -> None:
        self._fh, self._limit, self._bom, self._raw, self._span = fh, limit, bom, raw, span
        self.lines = 0
        self._part = bytearray()  # the current line's bytes, while within the limit
        self._size = 0  # the current line's bytes so far, kept or not
        self._solid = False  # the current line has a byte that is not blank
        self._at = 0  # stream offset where the current line starts
        self._lead = b""  # a byte order mark taken off line 1
        self._tail = b""  # the last bytes of a line over the limit

    def __iter__(self) -> Iterator[tuple[int, bytes | None, int]]:
        base = 0  # stream offset of the chunk's first byte
        # read1: what the stream has, so the lines before a break in it are still read
        read = getattr(self._fh, "read1", self._fh.read)
        while chunk := read(_CHUNK):
            pos = 0
            if self._bom and base == 0 and chunk.startswith(_BOM):
                pos, self._lead, self._at = len(_BOM), _BOM, len(_BOM)
            while pos < len(chunk):
                if not self._solid and _IS_BLANK[chunk[pos]]:
                    pos = self._skip_blank(chunk, pos, base)
                    if pos >= len(chunk):
                        break
                self._solid = True
                if self._span is not None and self._at >= self._span:
                    return
                nl = chunk.find(b"\n", pos)
                if nl < 0:
                    self._keep(chunk, pos, len(chunk))
                    break
                if not self._part and not self._size:  # the whole line in this chunk
                    yield self._line(chunk[pos:nl + 1])
                else:
                    self._keep(chunk, pos, nl + 1)
                    yield self._line(bytes(self._part))
                self._start(base + nl + 1)
                pos = nl + 1
            base += len(chunk)
        if self._solid:  # a last line without a line ending
            yield self._line(bytes(self._part), ended=False)
            self._start(base)

    def _skip_blank(self, chunk: bytes, pos: int, base: int) -> int:
        """Pass over the blank lines from ``chunk[pos]`` on, all at once; return where the
        next solid line goes on, or the chunk's end (the rest is a blank line's start)."""
        stop = _blank_end(chunk, pos)
        nl = chunk.rfind(b"\n", pos, stop)
        if nl >= 0:  # blank lines end before the solid byte
            self.lines += chunk.count(b"\n", pos, nl + 1)
            self._start(base + nl + 1)
            pos = nl + 1
        if stop == len(chunk):  # the rest is blank so far: the start of a line
            self._keep(chunk, pos, stop)
            return stop
        return pos

    def _keep(self, chunk: bytes, lo: int, hi: int) -> None:
        """Add ``chunk[lo:hi]`` to the current line, keeping bytes only within the limit."""
        self._size += hi - lo
        if self._size <= self._limit + _ENDING:
            self._part += chunk[lo:hi]
            return
        if self._part:
            self._part = bytearray()  # over the limit: the line is only counted from now on
        self._tail = (self._tail + chunk[max(lo, hi - 2):hi])[-2:]  # for its line ending

    def _line(self, line: bytes, *, ended: bool = True) -> tuple[int, bytes | None, int]:
        """The entry of the line that just ended: ``line`` is empty if it was not kept."""
        self.lines += 1
        if self._size > self._limit + _ENDING:
            return self.lines, None, self._size - len(self._tail) + len(self._tail.rstrip(
                b"\r\n" if ended else b""))
        size = len(line.rstrip(b"\r\n"))
        if size > self._limit:
            return self.lines, None, size
        if self._raw and self.lines == 1:
            line = self._lead + line
        return self.lines, line, size

    def _start(self, at: int) -> None:
        """Begin a new line at stream offset ``at``."""
        if self._part:
            self._part = bytearray()
        self._size, self._solid, self._at, self._tail = 0, False, at, b""


def _blank_end(chunk: bytes, pos: int) -> int:
    """Where the first byte from ``chunk[pos]`` on that is not blank is, or the chunk's end.

    ``bytes.isspace`` over windows that double looks at a byte in about a nanosecond, a
    regular expression in four to fifteen; the expression only looks into the last window.
    """
    width = _WINDOW
    while pos < len(chunk):
        window = chunk[pos:pos + width]
        if not window.isspace():
            return pos + _BLANKS.match(window).end()  # type: ignore[union-attr]
        pos += len(window)
        width = min(2 * width, _CHUNK)
    return len(chunk)
