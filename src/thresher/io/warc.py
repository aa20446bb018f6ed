"""WET and WARC input through FastWARC, streamed record by record.

- WET (``*.warc.wet.gz``): every ``conversion`` record is a document; its payload is the
  text (UTF-8), ``WARC-Target-URI`` the url, ``WARC-Date`` the crawl date.
- WARC (``*.warc.gz``, ``*.warc``): every ``response`` record with status 200 and an HTML
  payload is a document; the payload is decoded with the declared or a detected charset
  and its main content extracted (:mod:`thresher.io.html`).

Other records (``warcinfo``, ``request``, ``metadata``, ``revisit``, non-200 or non-HTML
responses) are not documents: they are skipped and counted by reason. A record that is a
document but cannot be used becomes a rejected record; a stream that breaks (truncated
gzip member, a length that lies) ends the file with one rejected record naming the record
number where reading stopped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from thresher.errors import ConfigError
from thresher.io.records import Fields, Record

__all__ = ["WarcOptions", "read_warc"]


@dataclass(frozen=True, kw_only=True)
class WarcOptions:
    """How WARC and WET records become documents."""

    id_from: str = "record"  # "record": WARC-Record-ID; "url": WARC-Target-URI
    extractor: str = "resiliparse"


def _fastwarc() -> Any:
    try:
        from fastwarc import warc
    except ImportError:
        raise ConfigError("reading WARC and WET files needs fastwarc: "
                          "pip install 'thresher[html]'") from None
    return warc


def _base(rec: Any, number: int, name: str, opts: WarcOptions) -> dict[str, Any]:
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
         reject: str | None) -> Record:
    """Return the document, or the rejected record (without text) if ``reject`` says why."""
    return Record(**base, text=None if reject else text, reject=reject, extra=extra)


def _wet_record(rec: Any, number: int, name: str, fields: Fields, opts: WarcOptions
                ) -> Record:
    base = _base(rec, number, name, opts)
    body = rec.reader.read()
    extra = _extra(rec, rec.stream_pos,
                   language=rec.headers.get("WARC-Identified-Content-Language"))
    if problem := _body_problem(body, rec, fields):
        return _doc(base, extra, None, problem)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        return _doc(base, extra, None, f"invalid UTF-8 at byte {err.start}")
    return _doc(base, extra, text, None if text.strip() else "empty text")


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


def _html_record(rec: Any, number: int, name: str, fields: Fields, opts: WarcOptions
                 ) -> Record:
    from thresher.io.html import decode_html, extract_page

    base = _base(rec, number, name, opts)
    body = rec.reader.read()
    extra = _extra(rec, rec.stream_pos)
    if problem := _body_problem(body, rec, fields):
        return _doc(base, extra, None, problem)
    try:
        page = extract_page(decode_html(body, rec.http_charset), opts.extractor)  # type: ignore[arg-type]
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - a page the extractor cannot handle
        return _doc(base, extra, None, f"cannot extract text: {exc}")
    extra |= {"title": page.title, "language": page.language, "full_text": page.full_text}
    return _doc(base, extra, page.text, None if page.text.strip() else "no main text extracted")


def read_warc(path: str, name: str, fields: Fields, *, wet: bool, opts: WarcOptions,
              skipped: Counter[str]) -> Iterator[Record]:
    """Yield the documents of a WARC or WET file in order; count what is not a document."""
    warc = _fastwarc()
    number = 0
    try:
        with open(path, "rb") as fh:
            for rec in warc.ArchiveIterator(fh, parse_http=not wet, fsspec_args=False):
                number += 1
                if wet:
                    if rec.record_type == warc.WarcRecordType.conversion:
                        yield _wet_record(rec, number, name, fields, opts)
                    else:
                        skipped[f"{rec.record_type} record"] += 1
                    continue
                reason = _skip_reason(rec, warc)
                if reason is None:
                    yield _html_record(rec, number, name, fields, opts)
                else:
                    skipped[reason] += 1
    except ConfigError:
        raise  # a missing extra is the user's to fix, not a defect of this file
    except (OSError, ValueError) as exc:
        yield Record(f"{name}:{number + 1}", None, None, name, number + 1,
                     f"unreadable from record {number + 1} on: {exc}", True)
