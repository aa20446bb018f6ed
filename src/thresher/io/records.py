"""Read records from a shard, turning every defect into a rejected record with a reason.

Each reader yields exactly one :class:`Record` per input record, in file order, and
the kept-corpus writer walks the files the same way: the ``n``-th record of a shard is
the same record for both. Blank lines in JSONL files are not records.
"""

from __future__ import annotations

import gzip
import io
import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, cast

import orjson

from thresher.io.exactjson import inexact, reread
from thresher.io.lines import LineReader, too_long

__all__ = ["FOUND_GROUP", "FOUND_ID", "FOUND_KEY", "FOUND_MARK", "FOUND_OBJECT", "FOUND_TEXT",
           "FOUND_URL",
           "MISSING", "Fields", "Record",
           "field_value", "found_bits", "group_value", "id_value", "iter_lines", "jsonl_record",
           "open_binary"]

# Bits of Record.found: the record is an object (JSON, a Parquet row), and which of the
# id, URL and group fields it has (null counts as present: the field is there), and
# whether it already holds the field --annotate would add (top level only), and the
# field --keep sorts by, and the text field.
FOUND_OBJECT, FOUND_ID, FOUND_URL, FOUND_GROUP, FOUND_MARK, FOUND_KEY = 1, 2, 4, 8, 16, 32
FOUND_TEXT = 64


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()  # what field_value returns for a field a record lacks


def field_value(obj: dict[str, Any], name: str) -> Any:
    """Return the value of field ``name`` in ``obj``, or ``MISSING``.

    A key spelled ``name`` wins; failing that, a dotted name is split at its first dot
    and the rest looked up in the object the first part names (``metadata.url``: the
    ``url`` of the ``metadata`` object), the same way one level down.

    Example:
        >>> field_value({"metadata": {"url": "u"}}, "metadata.url")
        'u'
        >>> field_value({"metadata.url": "a", "metadata": {"url": "b"}}, "metadata.url")
        'a'
        >>> field_value({"metadata": "x"}, "metadata.url")
        MISSING
    """
    if name in obj:
        return obj[name]
    head, dot, rest = name.partition(".")
    inner = obj.get(head) if dot else None
    return field_value(inner, rest) if isinstance(inner, dict) else MISSING


@dataclass(frozen=True, kw_only=True)
class Fields:
    """Field names and limits the readers apply."""

    id: str = "id"
    text: str = "text"
    url: str = "url"
    max_bytes: int = 8 * 1024 * 1024
    group: str | None = None  # field naming a record's site, for the template statistics
    # with --annotate: the top-level field it adds, which no record may hold already
    mark: str | None = None
    key: str | None = None  # the field --keep sorts by (a date, a score)
    key_option: str = "--date-field"  # the option that named it, for errors

    def named(self) -> dict[int, tuple[str, str]]:
        """The text, id, URL and group fields given other than by default, which every
        file must hold somewhere: ``FOUND_*`` bit -> (option, field)."""
        out = {}
        if self.text != "text":
            out[FOUND_TEXT] = ("--text-field", self.text)
        if self.id != "id":
            out[FOUND_ID] = ("--id-field", self.id)
        if self.url != "url":
            out[FOUND_URL] = ("--url-field", self.url)
        if self.group is not None:
            out[FOUND_GROUP] = ("--group-by", self.group)
        if self.key is not None:
            out[FOUND_KEY] = (self.key_option, self.key)
        return out


@dataclass(slots=True)
class Record:
    """One input record; ``reject`` is the reason when it cannot be used.

    Not frozen: a frozen dataclass sets each field through ``object.__setattr__``, which
    tripled the cost of making one, and a reader makes one per line.
    """

    id: str
    text: str | None
    url: str | None
    file: str
    line: int  # 1-based line (JSONL) or row (Parquet); 0 for a whole .txt file
    reject: str | None = None
    id_generated: bool = False
    extra: dict[str, Any] | None = None  # WARC and WET: crawl_date, title, language, ...
    group: str | None = None  # the value of Fields.group, when one is named
    found: int = 0  # FOUND_* bits
    key: Any = None  # the value of Fields.key, when one is named


class _ZstdRaw(io.RawIOBase):
    """Decompress a ``.zst`` file frame by frame, raising ``EOFError`` when it is cut short.

    ``ZstdDecompressor.stream_reader`` ends quietly at a truncated frame, which would drop
    the rest of the file without a word; ``decompressobj`` says whether a frame ended.
    """

    _CHUNK = 1 << 15

    def __init__(self, path: str) -> None:
        import zstandard

        self._zstd = zstandard
        self._raw = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._obj = zstandard.ZstdDecompressor().decompressobj()
        self._in_frame = False  # some bytes of the current frame were fed
        self._pending = b""
        self._pos = 0

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        while self._pos >= len(self._pending):
            chunk = self._raw.read(self._CHUNK)
            if not chunk:
                if self._in_frame:
                    raise EOFError("zstd stream ended before the end of its frame")
                return False
            out: list[bytes] = []
            while chunk:
                self._in_frame = True
                out.append(self._obj.decompress(chunk))
                chunk = b""
                if self._obj.eof:  # a frame ended; more frames may follow
                    chunk = self._obj.unused_data
                    self._obj = self._zstd.ZstdDecompressor().decompressobj()
                    self._in_frame = False
            self._pending, self._pos = b"".join(out), 0
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._fill():
            return 0
        view = memoryview(buffer).cast("B")
        n = min(len(view), len(self._pending) - self._pos)
        view[:n] = self._pending[self._pos : self._pos + n]
        self._pos += n
        return n

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


_READ_BUFFER = 1 << 20  # lines are read through it: the default 8 KB costs a call each


def open_binary(path: str) -> IO[bytes]:
    """Open a file for reading bytes, decompressing ``.gz`` and ``.zst`` by name."""
    lower = path.lower()
    if lower.endswith(".gz"):
        return cast(IO[bytes], gzip.open(path, "rb"))
    if lower.endswith(".zst"):
        return io.BufferedReader(_ZstdRaw(path), buffer_size=1 << 20)
    return open(path, "rb", buffering=_READ_BUFFER)


_STREAM_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile, OSError)


def iter_lines(path: str, *, start: int = 0, stop: int | None = None, first_line: int = 1,
               raw: bool = False, max_bytes: int = Fields.max_bytes
               ) -> Iterator[tuple[int, bytes | None, str | None]]:
    """Yield ``(line_number, line, None)`` per non-blank line, ``(n, None, reason)`` for a
    line over ``max_bytes``, or a last ``(n, None, error)``.

    A truncated or corrupt compressed stream ends the file with an error entry naming
    the first line that could not be read; the lines before it are still yielded. With a
    byte range (plain files only), lines are numbered from ``first_line``. Lines come
    without their line ending and byte order mark, or exactly as in the file if ``raw``.
    A line over ``max_bytes`` is counted as it streams past, never held whole.
    """
    reader: LineReader | None = None
    try:
        with open_binary(path) as fh:
            if start:
                fh.seek(start)
            reader = LineReader(fh, limit=max_bytes, bom=start == 0, raw=raw,
                                span=None if stop is None else stop - start)
            for number, line, size in reader:
                number += first_line - 1
                if line is None:
                    yield number, None, too_long(size, max_bytes)
                else:
                    yield number, line if raw else line.rstrip(b"\r\n"), None
    except _STREAM_ERRORS as exc:
        number = first_line - 1 + (reader.lines if reader else 0)
        kind = "truncated or corrupt compressed stream" if number or path.lower().endswith(
            (".gz", ".zst")) else "unreadable file"
        yield number + 1, None, f"{kind} from line {number + 1} on: {exc}"
    except Exception as exc:  # noqa: BLE001 - zstandard raises its own ZstdError
        number = first_line - 1 + (reader.lines if reader else 0)
        yield number + 1, None, f"unreadable from line {number + 1} on: {exc}"


def _describe_json_error(line: bytes, exc: Exception) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"invalid UTF-8 at byte {err.start}"
    return f"invalid JSON: {exc}"


def _text_of(obj: dict[str, Any], text: Any, fields: Fields) -> tuple[str | None, str | None]:
    """The record's text from its text field's value (MISSING where absent), or why not."""
    if text is MISSING:
        names = ", ".join(sorted(obj)[:8]) or "none"
        return None, f"no {fields.text!r} field (fields: {names}); see --text-field"
    if not isinstance(text, str):
        what = "null" if text is None else type(text).__name__
        return None, f"field {fields.text!r} is {what}, not a string"
    if not text or text.isspace():  # what strip() would empty, without copying the text
        return None, "empty text"
    return text, None


def found_bits(obj: dict[str, Any], fields: Fields) -> tuple[int, list[Any]]:
    """Return which of the id, URL, group, key and text fields ``obj`` has (``FOUND_*``
    bits, the object's own and ``FOUND_MARK`` included), and their values (None where
    missing; the text MISSING, for the reader to say so)."""
    bits, values = FOUND_OBJECT, []
    for bit, name in ((FOUND_ID, fields.id), (FOUND_URL, fields.url),
                      (FOUND_GROUP, fields.group), (FOUND_KEY, fields.key)):
        value = MISSING if name is None else field_value(obj, name)
        bits |= 0 if value is MISSING else bit
        values.append(None if value is MISSING else value)
    if fields.mark is not None and fields.mark in obj:
        bits |= FOUND_MARK
    text = field_value(obj, fields.text)
    bits |= 0 if text is MISSING else FOUND_TEXT
    values.append(text)
    return bits, values


def id_value(value: Any, fallback: str) -> tuple[str, bool]:
    """Return a record's id from its id field's value, and whether it was made up (from
    ``fallback``) because the value is missing, null, empty or not a scalar.

    A string is kept as it is; a number or a boolean becomes its JSON text, so ``1`` and
    ``"1"`` are the same id, and ``true`` is ``"true"`` (not Python's ``True``).

    Example:
        >>> id_value(True, "f:1"), id_value(1.5, "f:1"), id_value(None, "f:1")
        (('true', False), ('1.5', False), ('f:1', True))
    """
    if value is None or isinstance(value, (dict, list)) or value == "":
        return fallback, True
    if isinstance(value, str):
        return value, False
    return _json_text(value), False


def _json_text(value: Any) -> str:
    if isinstance(value, (bool, int, float)) and math.isfinite(value):
        try:
            return orjson.dumps(value).decode()
        except orjson.JSONEncodeError:  # an integer past 64 bits: str() is its JSON text
            return str(value)
    return str(value)  # what JSON cannot hold (Parquet dates, decimals, NaN)


def group_value(value: Any) -> str | None:
    """Return a ``--group-by`` field's value as text (None when absent)."""
    return None if value is None else value if isinstance(value, str) else str(value)


def jsonl_record(line: bytes, name: str, number: int, *, fields: Fields) -> Record:
    """The record of one JSONL line (stripped of its line ending), read with orjson."""
    if len(line) > fields.max_bytes:
        return Record(f"{name}:{number}", None, None, name, number,
                      too_long(len(line), fields.max_bytes), True)
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return Record(f"{name}:{number}", None, None, name, number,
                      _describe_json_error(line, exc), True)
    if not isinstance(obj, dict):
        return Record(f"{name}:{number}", None, None, name, number,
                      f"not a JSON object but {type(obj).__name__}", True)
    found, (value, url, group, key, text) = found_bits(obj, fields)
    if inexact(value) or inexact(group) or inexact(key):  # an integer past 64 bits
        obj = reread(line)
        found, (value, url, group, key, text) = found_bits(obj, fields)
    if type(value) is str and value:  # the common case inline: a string id
        rid, generated = value, False
    else:
        rid, generated = id_value(value, f"{name}:{number}")
    text, problem = _text_of(obj, text, fields)
    return Record(rid, text, url if isinstance(url, str) else None, name, number, problem,
                  generated, group=group_value(group) if fields.group else None, found=found,
                  key=key)
