from __future__ import annotations

import gzip
import json
from collections import Counter
from io import BytesIO
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import thresher
from tests.conftest import SHARED, need_shared
from thresher.io.reading import read_shard
from thresher.io.records import Fields
from thresher.io.sources import discover

pytest.importorskip("fastwarc")
warcio = pytest.importorskip("warcio")
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

WHIRLWIND = SHARED / "eval" / "cc-whirlwind"
PAGE = ("<html><head><title>{title}</title></head><body><nav>Home | About</nav><article>"
        "<h1>{title}</h1><p>{body}</p><p>A second paragraph with more words about the "
        "{title} story, long enough to count as the main content of the page.</p></article>"
        "</body></html>")


def _read(path: Path) -> tuple[list[object], Counter[str]]:
    skipped: Counter[str] = Counter()
    shard = discover((str(path),), txt_per_shard=10)[0]
    return list(read_shard(shard, Fields(), skipped=skipped)), skipped


def _response(writer: WARCWriter, url: str, body: bytes, *, status: str = "200 OK",
              ctype: str = "text/html; charset=utf-8") -> None:
    http = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record(url, "response", payload=BytesIO(body),
                                                  http_headers=http))


def _warc(path: Path, pages: list[tuple[str, bytes, str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, body, status, ctype in pages:
            _response(writer, url, body, status=status, ctype=ctype)
    return path


def _html(title: str, body: str, charset: str = "utf-8") -> bytes:
    return PAGE.format(title=title, body=body).encode(charset)


def test_whirlwind_wet_reads_exactly() -> None:
    wet = need_shared(WHIRLWIND) / "whirlwind.warc.wet.gz"
    (rec,), skipped = _read(wet)
    from warcio.archiveiterator import ArchiveIterator

    expected = []
    with open(wet, "rb") as fh:  # read independently, with warcio
        for r in ArchiveIterator(fh):
            if r.rec_type == "conversion":
                expected.append((r.rec_headers.get_header("WARC-Record-ID"),
                                 r.rec_headers.get_header("WARC-Target-URI"),
                                 r.content_stream().read().decode("utf-8")))
    assert [(rec.id, rec.url, rec.text) for rec in [rec]] == expected  # type: ignore[attr-defined]
    assert rec.extra["crawl_date"] == "2024-05-18T01:58:10Z"  # type: ignore[attr-defined]
    assert skipped == {"warcinfo record": 1}


def test_whirlwind_warc_extracts_the_page() -> None:
    (rec,), skipped = _read(need_shared(WHIRLWIND) / "whirlwind.warc.gz")
    assert rec.url == "https://an.wikipedia.org/wiki/Escopete"  # type: ignore[attr-defined]
    assert "Escopete" in rec.extra["title"]  # type: ignore[attr-defined]
    assert rec.reject is None and len(rec.text) > 500  # type: ignore[attr-defined]
    assert len(rec.extra["full_text"]) > len(rec.text)  # type: ignore[attr-defined]
    assert skipped == {"warcinfo record": 1, "request record": 1, "metadata record": 1}


def test_non_documents_are_skipped_with_reasons(tmp_path: Path) -> None:
    path = _warc(tmp_path / "a.warc.gz", [
        ("https://x.example/1", _html("One", "first body text"), "200 OK", "text/html"),
        ("https://x.example/2", _html("Two", "missing"), "404 Not Found", "text/html"),
        ("https://x.example/3.png", b"\x89PNG....", "200 OK", "image/png"),
        ("https://x.example/4", _html("Four", "déjà vu, naïve café", "latin-1"), "200 OK",
         "text/html; charset=iso-8859-1"),
    ])
    recs, skipped = _read(path)
    assert [r.url for r in recs] == ["https://x.example/1", "https://x.example/4"]  # type: ignore[attr-defined]
    assert "déjà vu, naïve café" in recs[1].text  # type: ignore[attr-defined]
    assert skipped == {"HTTP status 404": 1, "not HTML (image/png)": 1}


def test_truncated_warc_keeps_earlier_records_and_rejects_the_rest(tmp_path: Path) -> None:
    path = _warc(tmp_path / "a.warc.gz", [
        (f"https://x.example/{i}", _html(f"Title {i}", f"body number {i}"), "200 OK",
         "text/html") for i in range(3)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])  # cut inside the last gzip member
    recs, _ = _read(path)
    assert [r.reject is None for r in recs] == [True, True, False]  # type: ignore[attr-defined]
    assert recs[-1].reject.startswith("truncated record")  # type: ignore[attr-defined]
    path.write_bytes(data[:-1] + b"garbage" * 5)  # a broken gzip trailer
    recs, _ = _read(path)
    assert recs[0].reject is None and recs[-1].reject is not None  # type: ignore[attr-defined]


def test_wet_with_invalid_utf8_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.wet.gz"
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for i, body in enumerate([b"good text here", b"bad \xff\xfe text", b"   "]):
            writer.write_record(writer.create_warc_record(
                f"https://x.example/{i}", "conversion", payload=BytesIO(body)))
    recs, _ = _read(path)
    assert [r.reject for r in recs] == [None, "invalid UTF-8 at byte 4", "empty text"]  # type: ignore[attr-defined]


def test_dedup_of_warc_writes_records_and_metadata(tmp_path: Path) -> None:
    body = "the same story told in the same words, twice over, by two crawls"
    _warc(tmp_path / "in" / "a.warc.gz", [
        ("https://x.example/1", _html("Same", body), "200 OK", "text/html"),
        ("https://x.example/1?utm=2", _html("Same", body), "200 OK", "text/html"),
        ("https://x.example/3", _html("Other", "an unrelated text about the weather"),
         "200 OK", "text/html")])
    summary = thresher.dedup(inputs=[tmp_path / "in"], output=tmp_path / "o",
                             executor="serial", warc_id="url")
    assert summary["counts"] == {"read": 3, "kept": 2, "duplicate": 1, "rejected": 0}
    from fastwarc.warc import ArchiveIterator

    with open(tmp_path / "o" / "kept" / "a.warc.gz", "rb") as fh:
        urls = [r.headers.get("WARC-Target-URI") for r in ArchiveIterator(fh)]
    assert urls == ["https://x.example/1", "https://x.example/3"]
    thresher.dedup(inputs=[tmp_path / "in"], output=tmp_path / "j", executor="serial",
                   output_format="jsonl")
    rows = [json.loads(x) for x in (tmp_path / "j" / "kept" / "a.jsonl").read_text().splitlines()]
    assert set(rows[0]) == {"id", "text", "url", "crawl_date", "title", "language"}
    assert rows[0]["title"] == "Same" and rows[0]["language"] == "en"
    thresher.dedup(inputs=[tmp_path / "in"], output=tmp_path / "p", executor="serial",
                   output_format="parquet")
    assert pq.read_table(tmp_path / "p" / "kept" / "a.parquet").num_rows == 2
    assert gzip.decompress((tmp_path / "o" / "kept" / "a.warc.gz").read_bytes())
