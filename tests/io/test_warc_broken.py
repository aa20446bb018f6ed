"""Broken WARC and WET files through ``thresher dedup``: the run ends with a summary, the
rejection names the file and record, and ``kept/`` holds byte-identical copies of the kept
records before the broken spot (the write stage copies exactly what the read stage read)."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

import thresher
from tests.test_bad_input_cli import decisions, dedup, no_crash, prose, summary

pytest.importorskip("fastwarc")
pytest.importorskip("warcio")
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

DOCS = 5  # records 2 to 6; record 1 is a warcinfo record
BAD = 4  # the record a malformation spoils
FORMATS = ["warc.wet.gz", "warc.gz", "warc", "warc.wet"]


def _page(i: int) -> bytes:
    return (f"<html><head><title>Page {i}</title></head><body><article><h1>Page {i}</h1>"
            f"<p>{prose(i)}</p><p>{prose(100 + i)}</p></article></body></html>").encode()


def _raw_records(wet: bool) -> list[bytes]:
    """The records of a small crawl, each as its uncompressed bytes."""
    out = []
    for i in range(DOCS + 1):
        buf = BytesIO()
        writer = WARCWriter(buf, gzip=False)
        if i == 0:
            rec = writer.create_warcinfo_record("crawl.warc", {"software": "test"})
        elif wet:
            rec = writer.create_warc_record(f"https://x.example/{i}", "conversion",
                                            payload=BytesIO(prose(i, 80).encode()))
        else:
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")],
                                    protocol="HTTP/1.1")
            rec = writer.create_warc_record(f"https://x.example/{i}", "response",
                                            payload=BytesIO(_page(i)), http_headers=http)
        writer.write_record(rec)
        out.append(buf.getvalue())
    return out


def _length(change: Callable[[int], bytes]) -> Callable[[bytes], bytes]:
    def spoil(raw: bytes) -> bytes:
        return re.sub(rb"Content-Length: (\d+)",
                      lambda m: b"Content-Length: " + change(int(m.group(1))), raw, count=1)
    return spoil


# how each malformation spoils record BAD (its uncompressed bytes), or None
SPOIL: dict[str, Callable[[bytes], bytes] | None] = {
    "bad header": lambda raw: b"XARC" + raw[4:],
    "length too long": _length(lambda n: b"%d" % (n + 200)),
    "length past the end": _length(lambda n: b"%d" % (n * 10)),
    "length too short": _length(lambda n: b"%d" % (n // 2)),
    "negative length": _length(lambda n: b"-%d" % n),
    "non-numeric length": _length(lambda n: b"lots"),
    "corrupt gzip member": None,
    "cut short": None,
    "trailing garbage": None,
}


def _build(path: Path, case: str) -> tuple[list[bytes], int]:
    """Write a crawl broken as ``case`` says; return each record's bytes in the file (None
    past the broken spot) and the number of the first record the break spoils."""
    gz, raw = path.name.endswith(".gz"), _raw_records(".wet" in path.name)
    spoil = SPOIL[case]
    if spoil is not None:
        raw[BAD - 1] = spoil(raw[BAD - 1])
    parts = [gzip.compress(r, mtime=0) if gz else r for r in raw]
    bad = BAD
    if case == "corrupt gzip member":
        member = bytearray(parts[BAD - 1])
        member[30:60] = bytes(b ^ 0x55 for b in member[30:60])
        parts[BAD - 1] = bytes(member)
    data = b"".join(parts)
    if case == "cut short":
        data, bad = data[: len(data) - len(parts[-1]) // 2], DOCS + 1
    elif case == "trailing garbage":
        data, bad = data + b"garbage, not a record\n" * 4, DOCS + 2
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return parts, bad


def _cases() -> list[Any]:
    return [pytest.param(fmt, case, id=f"{fmt}-{case.replace(' ', '-')}")
            for fmt in FORMATS for case in SPOIL if fmt.endswith(".gz") or "gzip" not in case]


def _check(out: Path, name: str, bad: int) -> list[dict[str, Any]]:
    """Assert the decisions stop at record ``bad`` and the summary adds up; return them."""
    rows = decisions(out)
    assert {r["file"] for r in rows} == {name}
    assert [r["line"] for r in rows if r["line"] < bad] == list(range(2, bad))
    assert {r["decision"] for r in rows if r["line"] < bad} <= {"kept"}
    after = [r for r in rows if r["line"] >= bad]
    assert after and after[0]["line"] == bad, rows
    assert all(r["decision"] == "rejected" and r["reason"] for r in after), after
    c = summary(out)["counts"]
    assert c["read"] == len(rows) == c["kept"] + c["duplicate"] + c["rejected"]
    assert summary(out)["counts_add_up"] is True
    assert c["kept"] == bad - 2 and c["rejected"] == len(after)
    return rows


@pytest.mark.parametrize(("fmt", "case"), _cases())
def test_broken_crawl_keeps_the_records_before_the_break(tmp_path: Path, fmt: str,
                                                         case: str) -> None:
    name = f"crawl.{fmt}"
    parts, bad = _build(tmp_path / "in" / name, case)
    out = tmp_path / "out"
    result = dedup(str(tmp_path / "in" / name), "-o", str(out))
    no_crash(result)
    assert result.exit_code == 0, result.output
    _check(out, name, bad)
    kept = out / "kept" / name
    assert kept.read_bytes() == b"".join(parts[1 : bad - 1])


@pytest.mark.parametrize("fmt", ["warc.wet.gz", "warc.gz"])
@pytest.mark.parametrize("case", ["length too short", "trailing garbage"])
@pytest.mark.parametrize("option", ["--output-format=jsonl", "--strip-boilerplate"])
def test_broken_crawl_converted(tmp_path: Path, fmt: str, case: str, option: str) -> None:
    name = f"crawl.{fmt}"
    _, bad = _build(tmp_path / "in" / name, case)
    out = tmp_path / "out"
    result = dedup(str(tmp_path / "in" / name), "-o", str(out), option)
    no_crash(result)
    assert result.exit_code == 0, result.output
    _check(out, name, bad)
    (written,) = (out / "kept").iterdir()
    urls = [json.loads(line)["url"] for line in written.read_text().splitlines()]
    assert urls == [f"https://x.example/{i}" for i in range(1, bad - 1)]


def test_write_stage_rerun_gives_the_same_bytes(tmp_path: Path) -> None:
    """A run killed once the read stage is done resumes to byte-identical output."""
    _, bad = _build(tmp_path / "in" / "crawl.warc.gz", "trailing garbage")
    out = tmp_path / "out"
    thresher.dedup(inputs=[tmp_path / "in"], output=out, executor="serial", keep_work=True)
    first = (out / "kept" / "crawl.warc.gz").read_bytes()
    for done in [*(out / "_work" / "write").glob("*.done"), out / "summary.json"]:
        done.unlink()
    shutil.rmtree(out / "kept")
    resumed = thresher.dedup(inputs=[tmp_path / "in"], output=out, executor="serial")
    assert resumed["run"]["resumed"] is True and resumed["counts"]["kept"] == bad - 2
    assert (out / "kept" / "crawl.warc.gz").read_bytes() == first
