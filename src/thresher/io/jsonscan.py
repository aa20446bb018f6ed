"""JSONL lines scanned in compiled code, their text field laid out as UTF-8 directly.

A JSONL reader that goes through ``orjson`` turns every text into a Python string
(decoding its UTF-8), and the sketches then encode it back to UTF-8: on pages of a
kilobyte that round trip, and the record object around it, cost more than the parse.
:func:`scan_lines` instead checks each line against a strict subset of JSON and, for the
lines inside it, copies the text field's value (its escapes resolved) straight into the
batch's UTF-8 buffer and notes where the other wanted fields' values lie.

The subset is chosen so that every line it accepts is one ``orjson`` accepts, giving
the same values: an object of any JSON values, nested at most ``MAX_DEPTH`` deep, with
numbers of at most ``MAX_NUMBER`` characters and two exponent digits, strings of valid
UTF-8 (no surrogates) without control characters or ``\\u`` escapes of surrogates, keys
without escapes, and the wanted fields' keys not repeated. A line outside it, and a text
that is missing, not a string, or blank, is left to the ``orjson`` path, which says
what is wrong with it; so the subset decides speed, never the outcome.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from thresher.io.jsonvalues import (
    ESCAPED,
    HEX,
    MAX_DEPTH,
    OTHER,
    PLAIN,
    PLAIN_STRING,
    STRING,
    WS,
    scan_string,
    scan_value,
    skip_ws,
)

__all__ = ["ABSENT", "FAST", "GROUP", "ID", "KEY", "MARK", "OTHER", "PLAIN_STRING", "SLOW", "STRING",
           "TEXT", "URL", "scan_lines"]

FAST, SLOW = 1, 0
# the fields looked for, in the order of the spans' rows (MARK: the field --annotate adds;
# KEY: the one --keep sorts by)
ID, TEXT, URL, GROUP, MARK, KEY = range(6)
ABSENT = 0  # no value found for a field (the other kinds: see jsonvalues.py)


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
    stack = np.empty(MAX_DEPTH, dtype=np.uint8)
    roles = lengths.shape[0]
    at = 0
    for line in range(starts.shape[0]):
        end = ends[line]
        i = skip_ws(buf, starts[line], end, ws)
        status[line] = SLOW
        spans[line, :, 2] = ABSENT
        text_at[line] = at
        ok = i < end and buf[i] == 0x7B and end - starts[line] <= max_bytes
        i += 1
        written = 0
        closed = False
        first = True
        while ok:
            i = skip_ws(buf, i, end, ws)
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
            key = scan_string(buf, i, end, scratch, 0, False, hexv, escaped, plain)
            k0, k1 = i + 1, key[0] - 1
            i = key[0]
            if i < 0:
                ok = False
                break
            i = skip_ws(buf, i, end, ws)
            if i >= end or buf[i] != 0x3A:
                ok = False
                break
            i = skip_ws(buf, i + 1, end, ws)
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
                r = scan_string(buf, i, end, out, at, True, hexv, escaped, plain)
                i, written = r[0], r[1]
                chars[line] = r[2]
                kind = STRING if r[3] else PLAIN_STRING
                if written == 0 or not r[4]:
                    i = -1  # empty, or perhaps blank: orjson's path says so
            else:
                i, kind = scan_value(buf, i, end, ws, hexv, escaped, plain, scratch, stack)
            if i < 0:
                ok = False
                break
            for role in range(roles):
                if named >> role & 1:
                    spans[line, role, 0], spans[line, role, 1] = v0, i
                    spans[line, role, 2] = kind
            i = skip_ws(buf, i, end, ws)
            if i < end and buf[i] == 0x2C:
                i += 1
                continue
            if i < end and buf[i] == 0x7D:
                closed = True
                i += 1
            else:
                ok = False
            break
        if ok and closed and skip_ws(buf, i, end, ws) == end \
                and spans[line, TEXT, 2] in (PLAIN_STRING, STRING):
            status[line] = FAST
            at += written
            out[at] = 0x0A  # the batch layout: each text followed by a newline
            at += 1
    text_at[starts.shape[0]] = at
    return at


def scan_lines(buf: NDArray[np.uint8], starts: NDArray[np.int64], ends: NDArray[np.int64],
               names: list[bytes | None], max_bytes: int = 1 << 62
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
    used = _scan(buf, starts, ends, table, lengths, WS, HEX, ESCAPED, PLAIN, out, status,
                 spans, text_at, chars, max_bytes)
    return out[:used], text_at, status, spans, chars
