"""JSONL lines scanned in compiled code, their text field laid out as UTF-8 directly.

A JSONL reader that goes through ``orjson`` turns every text into a Python string
(decoding its UTF-8), and the sketches then encode it back to UTF-8: on pages of a
kilobyte that round trip, and the record object around it, cost more than the parse.
:func:`scan_lines` instead checks each line against a strict subset of JSON and, for the
lines inside it, copies the text field's value (its escapes resolved) straight into the
batch's UTF-8 buffer and notes where the other wanted fields' values lie.

The subset is chosen so that every line it accepts is one ``orjson`` accepts, giving
the same values: an object of any JSON values, nested at most ``_MAX_DEPTH`` deep, with
numbers of at most ``_MAX_NUMBER`` characters and two exponent digits, strings of valid
UTF-8 (no surrogates) without control characters or ``\\u`` escapes of surrogates, keys
without escapes, and the wanted fields' keys not repeated. A line outside it, and a text
that is missing, not a string, or blank, is left to the ``orjson`` path, which says
what is wrong with it; so the subset decides speed, never the outcome.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["ABSENT", "FAST", "GROUP", "ID", "KEY", "MARK", "OTHER", "PLAIN_STRING", "SLOW", "STRING",
           "TEXT", "URL", "scan_lines"]

FAST, SLOW = 1, 0
# the fields looked for, in the order of the spans' rows (MARK: the field --annotate adds;
# KEY: the one --keep sorts by)
ID, TEXT, URL, GROUP, MARK, KEY = range(6)
_MAX_DEPTH = 64
_MAX_NUMBER = 24
# kinds of a value found for a field
ABSENT, PLAIN_STRING, STRING, OTHER = 0, 1, 2, 3

_WS = np.zeros(256, dtype=np.bool_)
_WS[[0x20, 0x09, 0x0A, 0x0D]] = True
# the ASCII characters str.isspace() counts as blank
_SPACES = (9, 10, 11, 12, 13, 28, 29, 30, 31, 32)
# ASCII that stands for itself in a string (no control character, quote or backslash)
_PLAIN = np.zeros(256, dtype=np.bool_)
_PLAIN[0x20:0x80] = True
_PLAIN[[0x22, 0x5C]] = False
_HEX = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _HEX[_c] = 10 + _i
_ESCAPED = np.zeros(256, dtype=np.uint8)  # what a one-letter escape stands for (0: none)
for _k, _v in ((b'"', 0x22), (b"\\", 0x5C), (b"/", 0x2F), (b"b", 0x08), (b"f", 0x0C),
               (b"n", 0x0A), (b"r", 0x0D), (b"t", 0x09)):
    _ESCAPED[_k[0]] = _v


@njit(cache=True, nogil=True)
def _utf8_length(buf, i, end):  # type: ignore[no-untyped-def]
    """Bytes of the valid UTF-8 sequence (no surrogate, not overlong) at buf[i], or 0."""
    b = buf[i]
    if b < 0x80:
        return 1
    if 0xC2 <= b <= 0xDF:
        n = 2
        lo, hi = 0x80, 0xBF
    elif b == 0xE0:
        n, lo, hi = 3, 0xA0, 0xBF
    elif 0xE1 <= b <= 0xEC or 0xEE <= b <= 0xEF:
        n, lo, hi = 3, 0x80, 0xBF
    elif b == 0xED:
        n, lo, hi = 3, 0x80, 0x9F  # no surrogates
    elif b == 0xF0:
        n, lo, hi = 4, 0x90, 0xBF
    elif 0xF1 <= b <= 0xF3:
        n, lo, hi = 4, 0x80, 0xBF
    elif b == 0xF4:
        n, lo, hi = 4, 0x80, 0x8F
    else:
        return 0
    if i + n > end or not lo <= buf[i + 1] <= hi:
        return 0
    for k in range(i + 2, i + n):
        if not 0x80 <= buf[k] <= 0xBF:
            return 0
    return n


@njit(cache=True, nogil=True)
def _string(buf, i, end, out, at, copy, hexv, escaped, plain):  # type: ignore[no-untyped-def]
    """Check the string whose opening quote is buf[i]; with ``copy``, write its value as
    UTF-8 to out[at:]. Return (index past the closing quote or -1, bytes written, code
    points, has an escape, has a byte that str.isspace() would not call blank)."""
    i += 1
    n = 0
    chars = 0
    escape = False
    solid = False
    while i < end:
        # a run of printable ASCII, the common case, in a tight loop
        run = i
        while i < end and plain[buf[i]]:
            i += 1
        if copy and i > run:
            out[at + n:at + n + i - run] = buf[run:i]
            if not solid:
                for k in range(run, i):
                    if buf[k] != 0x20:
                        solid = True
                        break
        n += i - run
        chars += i - run
        if i >= end:
            break
        b = buf[i]
        if b == 0x22:
            return i + 1, n, chars, escape, solid
        if b < 0x20:
            return -1, 0, 0, escape, solid
        if b == 0x5C:
            escape = True
            if i + 1 >= end:
                return -1, 0, 0, escape, solid
            e = buf[i + 1]
            if e == 0x75:  # \uXXXX
                if i + 6 > end:
                    return -1, 0, 0, escape, solid
                c = 0
                for k in range(i + 2, i + 6):
                    h = hexv[buf[k]]
                    if h < 0:
                        return -1, 0, 0, escape, solid
                    c = c * 16 + h
                if 0xD800 <= c <= 0xDFFF:
                    return -1, 0, 0, escape, solid
                if copy:
                    if c < 0x80:
                        out[at + n] = c
                        n += 1
                    elif c < 0x800:
                        out[at + n] = 0xC0 | (c >> 6)
                        out[at + n + 1] = 0x80 | (c & 0x3F)
                        n += 2
                    else:
                        out[at + n] = 0xE0 | (c >> 12)
                        out[at + n + 1] = 0x80 | ((c >> 6) & 0x3F)
                        out[at + n + 2] = 0x80 | (c & 0x3F)
                        n += 3
                if c < 0x80 and c not in _SPACES:  # non-ASCII may be blank: not counted
                    solid = True
                chars += 1
                i += 6
                continue
            v = escaped[e]
            if v == 0:
                return -1, 0, 0, escape, solid
            if copy:
                out[at + n] = v
                n += 1
            solid = solid or v not in _SPACES
            chars += 1
            i += 2
            continue
        if b < 0x80:
            if copy:
                out[at + n] = b
                n += 1
            solid = solid or b != 0x20
            chars += 1
            i += 1
            continue
        k = _utf8_length(buf, i, end)
        if k == 0:
            return -1, 0, 0, escape, solid
        if copy:
            for j in range(k):
                out[at + n + j] = buf[i + j]
        n += k
        chars += 1
        i += k
    return -1, 0, 0, escape, solid


@njit(cache=True, nogil=True)
def _number(buf, i, end):  # type: ignore[no-untyped-def]
    """Index past the JSON number at buf[i] (in the subset), or -1."""
    s = i
    if buf[i] == 0x2D:
        i += 1
    if i >= end or not 0x30 <= buf[i] <= 0x39:
        return -1
    if buf[i] == 0x30:
        i += 1
    else:
        while i < end and 0x30 <= buf[i] <= 0x39:
            i += 1
    if i < end and buf[i] == 0x2E:
        i += 1
        if i >= end or not 0x30 <= buf[i] <= 0x39:
            return -1
        while i < end and 0x30 <= buf[i] <= 0x39:
            i += 1
    if i < end and (buf[i] == 0x65 or buf[i] == 0x45):
        i += 1
        if i < end and (buf[i] == 0x2B or buf[i] == 0x2D):
            i += 1
        digits = 0
        while i < end and 0x30 <= buf[i] <= 0x39:
            i += 1
            digits += 1
        if digits == 0 or digits > 2:
            return -1
    if i - s > _MAX_NUMBER:
        return -1
    return i


@njit(cache=True, nogil=True)
def _literal(buf, i, end):  # type: ignore[no-untyped-def]
    """Index past true, false or null at buf[i], or -1."""
    b = buf[i]
    if b == 0x74 and i + 4 <= end and buf[i + 1] == 0x72 and buf[i + 2] == 0x75 \
            and buf[i + 3] == 0x65:
        return i + 4
    if b == 0x6E and i + 4 <= end and buf[i + 1] == 0x75 and buf[i + 2] == 0x6C \
            and buf[i + 3] == 0x6C:
        return i + 4
    if b == 0x66 and i + 5 <= end and buf[i + 1] == 0x61 and buf[i + 2] == 0x6C \
            and buf[i + 3] == 0x73 and buf[i + 4] == 0x65:
        return i + 5
    return -1


@njit(cache=True, nogil=True)
def _skip_ws(buf, i, end, ws):  # type: ignore[no-untyped-def]
    while i < end and ws[buf[i]]:
        i += 1
    return i


@njit(cache=True, nogil=True)
def _nested(buf, i, end, ws, hexv, escaped, plain, scratch, stack):  # type: ignore[no-untyped-def]
    """Index past the object or array opening at buf[i], checked, or -1 (``stack``: room
    for the closing bracket of each level)."""
    stack[0] = 0x7D if buf[i] == 0x7B else 0x5D
    depth = 1
    i += 1
    expect_value = True  # after an opening bracket or a comma (first: may also close)
    first = True
    while True:
        i = _skip_ws(buf, i, end, ws)
        if i >= end:
            return -1
        b = buf[i]
        closer = stack[depth - 1]
        if first and b == closer:
            depth -= 1
            i += 1
            first = False
        elif expect_value:
            first = False
            if closer == 0x7D:  # an object: key, colon, then the value
                if b != 0x22:
                    return -1
                i = _string(buf, i, end, scratch, 0, False, hexv, escaped, plain)[0]
                if i < 0:
                    return -1
                i = _skip_ws(buf, i, end, ws)
                if i >= end or buf[i] != 0x3A:
                    return -1
                i = _skip_ws(buf, i + 1, end, ws)
                if i >= end:
                    return -1
                b = buf[i]
            if b == 0x7B or b == 0x5B:
                if depth >= _MAX_DEPTH:
                    return -1
                stack[depth] = 0x7D if b == 0x7B else 0x5D
                depth += 1
                i += 1
                first = True
                continue
            if b == 0x22:
                i = _string(buf, i, end, scratch, 0, False, hexv, escaped, plain)[0]
            elif b == 0x2D or 0x30 <= b <= 0x39:
                i = _number(buf, i, end)
            else:
                i = _literal(buf, i, end)
            if i < 0:
                return -1
            expect_value = False
            continue
        elif b == 0x2C:
            i += 1
            expect_value = True
            continue
        elif b == closer:
            depth -= 1
            i += 1
        else:
            return -1
        if depth == 0:
            return i
        expect_value = False


@njit(cache=True, nogil=True)
def _value(buf, i, end, ws, hexv, escaped, plain, scratch, stack):  # type: ignore[no-untyped-def]
    """Index past the value at buf[i] and its kind, or (-1, 0)."""
    b = buf[i]
    if b == 0x22:
        r = _string(buf, i, end, scratch, 0, False, hexv, escaped, plain)
        return r[0], STRING if r[3] else PLAIN_STRING
    if b == 0x7B or b == 0x5B:
        return _nested(buf, i, end, ws, hexv, escaped, plain, scratch, stack), OTHER
    if b == 0x2D or 0x30 <= b <= 0x39:
        return _number(buf, i, end), OTHER
    return _literal(buf, i, end), OTHER


@njit(cache=True, nogil=True)
def _matches(buf, lo, hi, names, lengths, role):  # type: ignore[no-untyped-def]
    n = lengths[role]
    if n < 0 or hi - lo != n:
        return False
    for k in range(n):
        if buf[lo + k] != names[role, k]:
            return False
    return True


@njit(cache=True, nogil=True)
def _scan(buf, starts, ends, names, lengths, ws, hexv, escaped, plain, out, status,  # type: ignore[no-untyped-def]
          spans, text_at, chars, max_bytes):
    scratch = np.empty(1, dtype=np.uint8)
    stack = np.empty(_MAX_DEPTH, dtype=np.uint8)
    roles = lengths.shape[0]
    at = 0
    for line in range(starts.shape[0]):
        end = ends[line]
        i = _skip_ws(buf, starts[line], end, ws)
        status[line] = SLOW
        spans[line, :, 2] = ABSENT
        text_at[line] = at
        ok = i < end and buf[i] == 0x7B and end - starts[line] <= max_bytes
        i += 1
        written = 0
        closed = False
        first = True
        while ok:
            i = _skip_ws(buf, i, end, ws)
            if i >= end:
                ok = False
                break
            if first and buf[i] == 0x7D:
                closed = True
                i += 1
                break
            first = False
            if buf[i] != 0x22:
                ok = False
                break
            key = _string(buf, i, end, scratch, 0, False, hexv, escaped, plain)
            k0, k1 = i + 1, key[0] - 1
            i = key[0]
            if i < 0:
                ok = False
                break
            i = _skip_ws(buf, i, end, ws)
            if i >= end or buf[i] != 0x3A:
                ok = False
                break
            i = _skip_ws(buf, i + 1, end, ws)
            if i >= end:
                ok = False
                break
            named = 0  # the fields this key names, as bits
            for role in range(roles):
                if _matches(buf, k0, k1, names, lengths, role):
                    named |= 1 << role
                    if spans[line, role, 2] != ABSENT:
                        ok = False  # a repeated key: left to orjson
            if not ok or key[3]:  # an escaped key might spell a wanted one
                ok = False
                break
            v0 = i
            if named >> TEXT & 1 and buf[i] == 0x22:
                r = _string(buf, i, end, out, at, True, hexv, escaped, plain)
                i, written = r[0], r[1]
                chars[line] = r[2]
                kind = STRING if r[3] else PLAIN_STRING
                if written == 0 or not r[4]:
                    i = -1  # empty, or perhaps blank: orjson's path says so
            else:
                i, kind = _value(buf, i, end, ws, hexv, escaped, plain, scratch, stack)
            if i < 0:
                ok = False
                break
            for role in range(roles):
                if named >> role & 1:
                    spans[line, role, 0], spans[line, role, 1] = v0, i
                    spans[line, role, 2] = kind
            i = _skip_ws(buf, i, end, ws)
            if i < end and buf[i] == 0x2C:
                i += 1
                continue
            if i < end and buf[i] == 0x7D:
                closed = True
                i += 1
            else:
                ok = False
            break
        if ok and closed and _skip_ws(buf, i, end, ws) == end \
                and spans[line, TEXT, 2] in (PLAIN_STRING, STRING):
            status[line] = FAST
            at += written
            out[at] = 0x0A  # the batch layout: each text followed by a newline
            at += 1
    text_at[starts.shape[0]] = at
    return at


def scan_lines(buf: NDArray[np.uint8], starts: NDArray[np.int64], ends: NDArray[np.int64],
               *, names: list[bytes | None], max_bytes: int = 1 << 62
               ) -> tuple[NDArray[np.uint8], NDArray[np.int64], NDArray[np.int64],
                          NDArray[np.int64], NDArray[np.int64]]:
    """Scan the lines ``buf[starts[i]:ends[i]]`` for the fields ``names`` (their UTF-8 names
    in the order ``ID``, ``TEXT``, ``URL``, ``GROUP``, ``MARK``, ``KEY``, and maybe more;
    None: not looked for).

    Returns the texts of the lines on the fast path, laid out as ``prepare_batch`` does,
    where each line's text starts in it (lines not on it take no room), each line's
    status (``FAST`` or ``SLOW``), the span and kind of each field's value in ``buf``
    (``spans[i, role] = (start, end, kind)``) and each text's code points. Lines longer
    than ``max_bytes`` are left alone.
    """
    lengths = np.array([-1 if n is None else len(n) for n in names], dtype=np.int64)
    table = np.zeros((len(names), max(1, int(lengths.max(initial=0)))), dtype=np.uint8)
    for r, n in enumerate(names):
        if n:
            table[r, :len(n)] = np.frombuffer(n, dtype=np.uint8)
    lines = starts.shape[0]
    room = int(np.maximum(ends - starts, 0).sum()) + lines
    out = np.empty(room + 1, dtype=np.uint8)
    status = np.zeros(lines, dtype=np.int64)
    spans = np.zeros((lines, len(names), 3), dtype=np.int64)
    text_at = np.zeros(lines + 1, dtype=np.int64)
    chars = np.zeros(lines, dtype=np.int64)
    used = _scan(buf, starts, ends, table, lengths, _WS, _HEX, _ESCAPED, _PLAIN, out, status,
                 spans, text_at, chars, max_bytes)
    return out[:used], text_at, status, spans, chars
