"""WET and WARC input through FastWARC, streamed record by record.

- WET (``*.warc.wet.gz``): every ``conversion`` record is a document; its payload is the
  text (UTF-8), ``WARC-Target-URI`` the url, ``WARC-Date`` the crawl date, and
  ``WARC-Identified-Content-Language`` its languages (ISO 639-3 codes, written as BCP 47's
  by :mod:`thresher.io.languages`, as the detector writes a WARC page's).
- WARC (``*.warc.gz``, ``*.warc``): every ``response`` record with status 200 and an HTML
  payload is a document; the payload is decoded with the declared or a detected charset
  and its main content extracted (:mod:`thresher.io.html`).

Other records (``warcinfo``, ``request``, ``metadata``, ``revisit``, non-200 or non-HTML
responses) are not documents: they are skipped and counted by reason. A record that is a
document but cannot be used becomes a rejected record; a stream that breaks (a corrupt or
truncated gzip member, a Content-Length that is not a number, garbage where a record
should start) ends the file with one rejected record naming the record number where
reading stopped.

Each document carries its record's byte span in the file, so the kept corpus is copied
from exactly the records read here, without reading the file again. A record ends where
the next one starts; the last one, where the file ends, or where its own framing ends it
when reading stopped after it (its gzip member, or its header plus Content-Length plus the
blank line). That framing is checked then: a Content-Length that lies shows up as the next
record's break, so the record itself is rejected when its length does not end it.
"""

from __future__ import annotations

import os
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from thresher.errors import ConfigError
from thresher.io.languages import bcp47_languages
from thresher.io.records import FOUND_MARK, Fields, Record

__all__ = ["WarcOptions", "header_prefix", "read_warc"]


@dataclass(frozen=True, kw_only=True)
class WarcOptions:
    """How WARC and WET records become documents."""

    id_from: str = "record"  # "record": WARC-Record-ID; "url": WARC-Target-URI
    extractor: str = "resiliparse"


def header_prefix(mark: str) -> str:
    """The names of the WARC headers ``--annotate`` adds start with this.

    Example:
        >>> header_prefix("thresher")
        'WARC-Thresher-'
    """
    return f"WARC-{mark[:1].upper()}{mark[1:]}-"


def _marked(rec: Any, prefix: str) -> int:
    """``FOUND_MARK`` if the record has a header ``--annotate`` would add, else 0."""
    prefix = prefix.lower()
    return FOUND_MARK if any(k.lower().startswith(prefix) for k, _ in rec.headers) else 0


def _fastwarc() -> Any:
    try:
        from fastwarc import warc
    except ImportError:
        raise ConfigError("reading WARC and WET files needs fastwarc: "
                          "pip install 'thresher[html]'") from None
    return warc


def _base(rec: Any, number: int, name: str, *, opts: WarcOptions) -> dict[str, Any]:
    url = rec.headers.get("WARC-Target-URI")
    rid = rec.record_id if opts.id_from == "record" else url
    return {"id": rid or f"{name}:{number}", "url": url, "file": name, "line": number,
            "id_generated": not rid}


def _extra(rec: Any, offset: int, **more: Any) -> dict[str, Any]:
    return {"crawl_date": rec.headers.get("WARC-Date"), "offset": offset, **more}


def _body_problem(body: bytes, rec: Any, fields: Fields) -> str | None:
    """Say what is wrong with a record's body: cut short (a broken stream) or too large."""
    if len(body) < rec.content_length:
        return f"truncated record: {len(body):,} of {rec.content_length:,} bytes"
    if len(body) > fields.max_bytes:
        return f"record of {len(body):,} bytes exceeds --max-doc-bytes {fields.max_bytes:,}"
    return None


def _doc(base: dict[str, Any], extra: dict[str, Any], text: str | None,
         *, reject: str | None) -> Record:
    """Return the document, or the rejected record (without text) if ``reject`` says why."""
    return Record(**base, text=None if reject else text, reject=reject, extra=extra)


def _wet_record(rec: Any, number: int, name: str, *, fields: Fields, opts: WarcOptions
                ) -> Record:
    base = _base(rec, number, name, opts=opts)
    body = rec.reader.read()
    extra = _extra(rec, rec.stream_pos, language=bcp47_languages(
        rec.headers.get("WARC-Identified-Content-Language")))
    if problem := _body_problem(body, rec, fields):
        return _doc(base, extra, None, reject=problem)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        return _doc(base, extra, None, reject=f"invalid UTF-8 at byte {err.start}")
    return _doc(base, extra, text, reject=None if text.strip() else "empty text")


def _skip_reason(rec: Any, warc: Any) -> str | None:
    kind = rec.record_type
    if kind == warc.WarcRecordType.revisit:
        return "revisit record"
    if kind != warc.WarcRecordType.response:
        return f"{kind} record"
    if not rec.is_http or rec.http_headers is None:
        return "response without HTTP headers"
    status = rec.http_headers.status_code
    if status != 200:
        return f"HTTP status {status}"
    ctype = (rec.http_content_type or "").lower()
    if "html" not in ctype:
        return f"not HTML ({ctype or 'no content type'})"
    return None


def _html_record(rec: Any, number: int, name: str, *, fields: Fields, opts: WarcOptions
                 ) -> Record:
    from thresher.io.html import decode_html, extract_page

    base = _base(rec, number, name, opts=opts)
    body = rec.reader.read()
    extra = _extra(rec, rec.stream_pos)
    if problem := _body_problem(body, rec, fields):
        return _doc(base, extra, None, reject=problem)
    try:
        page = extract_page(decode_html(body, rec.http_charset), opts.extractor)  # type: ignore[arg-type]
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - a page the extractor cannot handle
        return _doc(base, extra, None, reject=f"cannot extract text: {exc}")
    extra |= {"title": page.title, "language": page.language, "full_text": page.full_text}
    return _doc(base, extra, page.text,
                reject=None if page.text.strip() else "no main text extracted")


_DIGITS = re.compile(r"[0-9]+")
_LENGTH = re.compile(rb"^content-length:[ \t]*([0-9]+)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
_HEAD = 1 << 16  # the most of a record's start searched for the end of its header
_END = b"\r\n\r\n"  # ends a record's header, and the record


def _header(head: bytes) -> tuple[int, int] | None:
    """Return the length of the header that ``head`` starts with and its Content-Length."""
    header_end = head.find(_END) + len(_END)
    match = _LENGTH.search(head, 0, header_end) if header_end >= len(_END) else None
    return None if match is None else (header_end, int(match[1]))


_NO_HEADER = "no record header with a Content-Length where the record starts"


def _lying(length: int) -> str:
    return f"Content-Length {length:,} does not end the record where its data ends"


def _member(fh: BinaryIO, start: int) -> tuple[int, str | None]:
    """End and framing problem of the record in the gzip member at ``start``, inflated a
    piece at a time (a member that holds a whole file is not held in memory)."""
    fh.seek(start)
    inflate, pending, pos = zlib.decompressobj(wbits=31), b"", start
    head, last, size = b"", b"", 0
    try:
        while not inflate.eof:
            if not pending:
                pending = fh.read(_HEAD)
                pos += len(pending)
                if not pending:
                    return pos, "gzip member cut short"
            out = inflate.decompress(pending, _HEAD)
            pending = inflate.unconsumed_tail
            head += out[: max(0, _HEAD - len(head))]
            last, size = (last + out)[-len(_END):], size + len(out)
    except zlib.error as exc:
        return pos, f"corrupt gzip member: {exc}"
    end = pos - len(inflate.unused_data)
    if (header := _header(head)) is None:
        return end, _NO_HEADER
    whole = size == sum(header) + len(_END) and last == _END
    return end, None if whole else _lying(header[1])


def _plain(fh: BinaryIO, start: int) -> tuple[int, str | None]:
    """End and framing problem of the uncompressed record at ``start``."""
    fh.seek(start)
    if (header := _header(fh.read(_HEAD))) is None:
        return start, _NO_HEADER
    end = start + sum(header) + len(_END)
    fh.seek(end - len(_END))
    return end, None if fh.read(len(_END)) == _END else _lying(header[1])


def _record_end(fh: BinaryIO, start: int) -> tuple[int, str | None]:
    """Return where the record at ``start`` ends by its own framing (a gzip member holds
    one record) and what is wrong with that framing, if anything."""
    fh.seek(start)
    return (_member if fh.read(2) == b"\x1f\x8b" else _plain)(fh, start)


def _document(rec: Any, number: int, name: str, *, fields: Fields, opts: WarcOptions,
              warc: Any, wet: bool, skipped: Counter[str]) -> Record | None:
    """Return the record's document (maybe rejected), or None and count why it is not one."""
    if wet:
        if rec.record_type == warc.WarcRecordType.conversion:
            return _wet_record(rec, number, name, fields=fields, opts=opts)
        skipped[f"{rec.record_type} record"] += 1
        return None
    reason = _skip_reason(rec, warc)
    if reason is None:
        return _html_record(rec, number, name, fields=fields, opts=opts)
    skipped[reason] += 1
    return None


def _length_problem(rec: Any) -> str | None:
    """Say what is wrong with a Content-Length that is not a number of bytes: fastwarc reads
    on from a wrong place then, so nothing after it can be trusted."""
    if rec.content_length:  # fastwarc makes a length it cannot parse 0; headers.get costs 6 us
        return None
    value = rec.headers.get("Content-Length")
    if value is None or not _DIGITS.fullmatch(value.strip()):
        return f"invalid Content-Length {value!r}"
    return None


def _ended(doc: Record, end: int) -> Record:
    """Record where the document's record ends, for the kept-corpus writer."""
    if doc.extra is not None:
        doc.extra["end"] = end
    return doc


def _last(doc: Record, fh: BinaryIO, stopped: str | None) -> Record:
    """End the document read last: at the end of the file if reading ended there, else
    where its own framing ends it, rejected if that framing is broken (a Content-Length
    that lies puts the next record's bytes in this one's text, or this one's in the next)."""
    if stopped is None:
        return _ended(doc, os.fstat(fh.fileno()).st_size)
    start = (doc.extra or {}).get("offset", -1)
    end, problem = _record_end(fh, start)
    if problem is not None and doc.reject is None:
        doc.text, doc.reject = None, problem
    return _ended(doc, end)


def read_warc(path: str, name: str, fields: Fields, *, wet: bool, opts: WarcOptions,
              skipped: Counter[str]) -> Iterator[Record]:
    """Yield the documents of a WARC or WET file in order; count what is not a document.

    A document's ``extra`` holds its record's byte span in the file (``offset`` and
    ``end``), so that the kept corpus is copied from exactly the records read here.
    """
    warc = _fastwarc()
    number, held, stopped = 0, None, None
    prefix = None if fields.mark is None else header_prefix(fields.mark)
    with open(path, "rb") as fh:
        try:
            for rec in warc.ArchiveIterator(fh, parse_http=not wet, fsspec_args=False):
                if held is not None:  # its record ends where this one starts
                    yield _ended(held, rec.stream_pos)
                held = None
                if (stopped := _length_problem(rec)) is not None:
                    break
                held = _document(rec, number + 1, name, fields=fields, opts=opts, warc=warc,
                                 wet=wet, skipped=skipped)
                if held is not None and prefix is not None:
                    held.found |= _marked(rec, prefix)
                number += 1
        except ConfigError:
            raise  # a missing extra is the user's to fix, not a defect of this file
        except (OSError, ValueError) as exc:
            stopped = str(exc)
        if held is not None:
            yield _last(held, fh, stopped)
    if stopped is not None:
        yield Record(f"{name}:{number + 1}", None, None, name, number + 1,
                     f"unreadable from record {number + 1} on: {stopped}", True)
