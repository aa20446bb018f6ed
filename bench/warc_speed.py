"""WET and WARC reading speed: thresher's readers against the bare libraries.

Usage: python bench/warc_speed.py [--wet-records 50000] [--warc-pages 400]

1. WET: a synthetic ``.warc.wet.gz`` of conversion records (web-like text, about 3 KB
   each) is read by thresher's reader (documents with id, url, date and text) and, for
   reference, iterated by FastWARC and warcio alone (payload read, nothing else).
2. WARC: the HTML pages of ../shared/eval/scrapinghub-aeb (repeated to ``--warc-pages``)
   as 200 responses in a ``.warc.gz``. thresher's reader (decoding, extraction, metadata)
   is timed against ``extract_page`` on the same decoded pages (the difference is the
   WARC reading overhead) and against the extractor library's main-text call alone (the
   difference adds thresher's full-text and language extras).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import tempfile
import time
from collections import Counter
from io import BytesIO
from pathlib import Path

from thresher.io.html import extract_page
from thresher.io.reading import read_shard
from thresher.io.records import Fields
from thresher.io.sources import discover
from thresher.io.warc import WarcOptions

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
WORDS = [f"{a}{b}{c}" for a in "bcdfglmnprst" for b in "aeiou" for c in ("", "n", "r", "st", "l")]


def _text(rng: random.Random) -> bytes:
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 40)))
             for _ in range(rng.randint(10, 40))]
    return "\n".join(lines).encode()


def make_wet(path: Path, records: int) -> None:
    from warcio.warcwriter import WARCWriter

    rng = random.Random(1)
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for i in range(records):
            writer.write_record(writer.create_warc_record(
                f"https://site{i % 97}.example/p{i}", "conversion",
                payload=BytesIO(_text(rng))))


def make_warc(path: Path, pages: int) -> list[bytes]:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    htmls = [gzip.decompress(p.read_bytes()) for p in sorted(
        (EVAL / "scrapinghub-aeb" / "html").glob("*.html.gz"))]
    bodies = [htmls[i % len(htmls)] for i in range(pages)]
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for i, body in enumerate(bodies):
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")],
                                    protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                f"https://news{i % 13}.example/a{i}", "response", payload=BytesIO(body),
                http_headers=http))
    return bodies


def _thresher(path: Path, extractor: str = "trafilatura") -> tuple[int, float]:
    shard = discover((str(path),), txt_per_shard=10)[0]
    t0 = time.perf_counter()
    n = sum(1 for r in read_shard(shard, Fields(), skipped=Counter(),
                                  warc=WarcOptions(extractor=extractor)) if r.reject is None)
    return n, time.perf_counter() - t0


def _fastwarc(path: Path) -> tuple[int, float]:
    from fastwarc.warc import ArchiveIterator

    t0 = time.perf_counter()
    with open(path, "rb") as fh:
        n = sum(1 for r in ArchiveIterator(fh, parse_http=False) if r.reader.read())
    return n, time.perf_counter() - t0


def _warcio(path: Path) -> tuple[int, float]:
    from warcio.archiveiterator import ArchiveIterator

    t0 = time.perf_counter()
    with open(path, "rb") as fh:
        n = sum(1 for r in ArchiveIterator(fh) if r.content_stream().read())
    return n, time.perf_counter() - t0


def _library_alone(bodies: list[bytes], extractor: str) -> float:
    """Seconds the extractor library takes for the main text alone, nothing else."""
    t0 = time.perf_counter()
    for body in bodies:
        html = body.decode("utf-8")
        if extractor == "trafilatura":
            import trafilatura

            trafilatura.extract(html, include_comments=False)
        else:
            from resiliparse.extract.html2text import extract_plain_text
            from resiliparse.parse.html import HTMLTree

            extract_plain_text(HTMLTree.parse(html), main_content=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wet-records", type=int, default=50_000)
    parser.add_argument("--warc-pages", type=int, default=400)
    args = parser.parse_args()
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        wet = Path(tmp) / "bench.warc.wet.gz"
        make_wet(wet, args.wet_records)
        for name, fn in (("thresher", _thresher), ("fastwarc", _fastwarc),
                         ("warcio", _warcio)):
            n, s = fn(wet)
            out[f"wet_{name}_records_per_s"] = round(n / s)
        warc = Path(tmp) / "bench.warc.gz"
        bodies = make_warc(warc, args.warc_pages)
        for extractor in ("trafilatura", "resiliparse"):
            library = _library_alone(bodies, extractor)
            t0 = time.perf_counter()
            for body in bodies:
                extract_page(body.decode("utf-8"), extractor)  # type: ignore[arg-type]
            page = time.perf_counter() - t0
            n, s = _thresher(warc, extractor)
            out[f"warc_{extractor}"] = {
                "pages": n, "thresher_pages_per_s": round(n / s, 1),
                "extract_page_pages_per_s": round(n / page, 1),
                "library_alone_pages_per_s": round(n / library, 1),
                "overhead_vs_extract_page": round(s / page - 1, 3),
                "overhead_vs_library_alone": round(s / library - 1, 3)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
