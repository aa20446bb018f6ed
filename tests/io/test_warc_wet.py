"""One page as WARC and as WET: one article, and one code system for its language."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import thresher
from tests.conftest import SHARED, need_shared
from thresher.io.languages import ISO_639_3_TO_1, bcp47_languages
from thresher.io.reading import read_shard
from thresher.io.records import Fields
from thresher.io.sources import discover
from thresher.io.warc import WarcOptions

pytest.importorskip("fastwarc")
pytest.importorskip("warcio")
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

WHIRLWIND = SHARED / "eval" / "cc-whirlwind"
URL = "https://an.wikipedia.org/wiki/Escopete"


def _languages(path: Path) -> list[str | None]:
    shard = discover((str(path),), txt_per_shard=10)[0]
    opts = WarcOptions(extractor="trafilatura")  # the CLI's default
    return [r.extra["language"]  # type: ignore[index]
            for r in read_shard(shard, Fields(), warc=opts)]


def test_whirlwind_as_warc_and_wet_is_one_article(tmp_path: Path) -> None:
    need_shared(WHIRLWIND)
    summary = thresher.dedup(inputs=[WHIRLWIND / "whirlwind.warc.gz",
                                     WHIRLWIND / "whirlwind.warc.wet.gz"],
                             output=tmp_path / "o", executor="serial")
    assert summary["counts"] == {"read": 2, "kept": 1, "duplicate": 1, "rejected": 0}
    rows = pq.read_table(tmp_path / "o" / "decisions.parquet").to_pylist()
    assert {r["url"] for r in rows} == {URL}
    (dup,) = [r for r in rows if r["decision"] == "duplicate"]
    assert dup["match"] == "partial" and dup["containment"] >= 0.55


@pytest.mark.parametrize(("wet_url", "duplicates"), [("https://x.example/2", 0),
                                                     ("http://x.example/1", 1)])
def test_only_one_address_as_warc_and_wet_is_one_page(tmp_path: Path, wet_url: str,
                                                      duplicates: int) -> None:
    """A WARC page and a WET page that share the site's text (a blurb on every page, most
    of the shorter one) are one page only at one address: between two addresses of the
    site the site bar holds."""
    blurb = "About this site: " + " ".join(f"s{i}" for i in range(120)) + "."
    story = " ".join(f"a{i}" for i in range(60))
    html = ("<html><head><title>First story</title></head><body><article><h1>First story"
            f"</h1><p>{story}.</p><p>{blurb}</p></article></body></html>")
    warc = tmp_path / "in" / "a.warc.gz"
    warc.parent.mkdir()
    with open(warc, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(
            "https://x.example/1", "response", payload=BytesIO(html.encode()),
            http_headers=http))
    other = " ".join(f"b{i}" for i in range(60))
    _wet(tmp_path / "in" / "a.warc.wet.gz", [(wet_url, f"Story\n{other}.\n{blurb}", None)])
    summary = thresher.dedup(inputs=[tmp_path / "in"], output=tmp_path / "o",
                             executor="serial")
    assert summary["counts"]["duplicate"] == duplicates


def _wet(path: Path, records: list[tuple[str, str, str | None]]) -> Path:
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, text, languages in records:
            headers = {"Content-Type": "text/plain"} | (
                {"WARC-Identified-Content-Language": languages} if languages else {})
            writer.write_record(writer.create_warc_record(
                url, "conversion", payload=BytesIO(text.encode()),
                warc_headers_dict=headers))
    return path


def test_whirlwind_language_is_one_code_in_warc_and_wet() -> None:
    need_shared(WHIRLWIND)
    assert _languages(WHIRLWIND / "whirlwind.warc.wet.gz") == ["es"]  # header: spa
    assert _languages(WHIRLWIND / "whirlwind.warc.gz") == ["es"]  # the detector's


def test_wet_header_lists_are_mapped_in_order(tmp_path: Path) -> None:
    path = _wet(tmp_path / "a.warc.wet.gz", [
        ("https://x.example/1", "some text", "eng,spa,ast"),
        ("https://x.example/2", "more text", "ZHO"),
        ("https://x.example/3", "no header", None)])
    assert _languages(path) == ["en,es,ast", "zh", None]


def test_every_detector_code_is_a_mapped_code() -> None:
    """What the detector gives a WARC page, the mapping gives the WET record of it."""
    lang = pytest.importorskip("resiliparse.parse.lang")
    assert set(lang.supported_langs()) <= set(ISO_639_3_TO_1.values())
    assert bcp47_languages(" , ") is None
