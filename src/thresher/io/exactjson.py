"""JSON read and written with orjson, except for integers past 64 bits.

orjson reads such an integer as a float without a word (``12345678901234567890123``
becomes ``1.2345678901234568e+22``) and refuses to write one back. Two ids that differ
in their last digits would become one, and a kept record rewritten with its text
replaced would carry a changed number. So a value that may have lost its digits (a
whole float of 2**63 or more) sends its line to the standard library's parser, which
keeps integers exact, and a value orjson cannot write is written by the standard
library. Both happen only on lines that hold such numbers; every other line stays on
orjson's path.

Example:
    >>> loads(b'{"id": 12345678901234567890123}')
    {'id': 12345678901234567890123}
    >>> dumps({"id": 12345678901234567890123, "t": "é"})
    b'{"id":12345678901234567890123,"t":"\\xc3\\xa9"}'
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

__all__ = ["dumps", "inexact", "loads", "reread"]

_BEYOND = float(2**63)  # orjson reads integers up to 2**64 - 1 exactly; below this, all


def inexact(value: Any) -> bool:
    """True if ``value`` may be an integer past 64 bits that orjson read as a float."""
    return type(value) is float and abs(value) >= _BEYOND and value.is_integer()


def _holds(value: Any, test: Callable[[Any], bool]) -> bool:
    """True if ``test`` holds for ``value`` or for a value nested in it."""
    if type(value) is dict:
        return any(_holds(v, test) for v in value.values())
    if type(value) is list:
        return any(_holds(v, test) for v in value)
    return test(value)


def loads(line: bytes) -> Any:
    """Parse one JSON text as orjson does, but with integers past 64 bits kept exact.

    Raises orjson.JSONDecodeError for what orjson refuses (the standard library is
    asked only about texts orjson has already accepted)."""
    value = orjson.loads(line)
    return json.loads(line) if _holds(value, inexact) else value


def reread(line: bytes) -> Any:
    """Parse ``line`` again with integers kept exact, for a caller that found an
    :func:`inexact` value in what orjson made of it."""
    return json.loads(line)


def dumps(value: Any) -> bytes:
    """Serialize compactly as orjson does; a value with an integer past 64 bits is
    written by the standard library, as compact, with the text left unescaped."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        if not _holds(value, _big_int):
            raise
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _big_int(value: Any) -> bool:
    return type(value) is int and not -(2**63) <= value < 2**64
