"""--annotate: every record in its own format, its decision added; counts add up."""

from __future__ import annotations

import gzip
import json
import random
import re
from collections import Counter
from io import BytesIO
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import thresher
from tests.conftest import ROOT
from tests.pipeline.corpus import article, edit
from thresher.errors import InputError

fastwarc = pytest.importorskip("fastwarc.warc")
pytest.importorskip("warcio")
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

# Lines that are records but not objects, or that a re-serialization would change.
ODD = [b"not json at all", b"[1, 2, 3]", b"{}", b'{"id": "sp" ,  "text" : "x  y"}',
       b'{"id": "t", "text": "caf\\u00e9 \xc3\xa9"}']


def _texts(seed: int, n: int) -> list[str]:
    """Articles, their exact and near copies, and others."""
    rng = random.Random(seed)
    base = [article(rng, 120) for _ in range(n // 3)]
    return [base[i % len(base)] if i % 3 == 0 else edit(rng, base[i % len(base)], 0.01)
            if i % 3 == 1 else article(rng, 120) for i in range(n)]


def _jsonl(folder: Path) -> Path:
    folder.mkdir(parents=True)
    lines = [json.dumps({"id": f"j{i}", "text": t, "url": f"https://a.example/{i}"}).encode()
             for i, t in enumerate(_texts(1, 24))]
    lines[3] = lines[3].replace(b", ", b",   ")  # spacing kept as it was
    lines.extend(ODD)
    (folder / "a.jsonl").write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines[:12]) + b"\r\n\n"
                                     + b"\r\n".join(lines[12:]))  # no newline at the end
    with gzip.open(folder / "b.jsonl.gz", "wb") as fh:
        fh.write(b"".join(json.dumps({"id": f"g{i}", "text": t}).encode() + b"\n"
                          for i, t in enumerate(_texts(1, 9))))
    return folder


def _parquet(path: Path) -> Path:
    texts = _texts(1, 12) + [""]
    pq.write_table(pa.table({"id": [f"p{i}" for i in range(len(texts))], "text": texts,
                             "score": list(range(len(texts)))}), path, row_group_size=5)
    return path


def _warc(path: Path) -> Path:
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for i, text in enumerate(_texts(1, 6)):
            html = f"<html><head><title>T{i}</title></head><body><article><p>{text}</p>" \
                   "</article></body></html>"
            writer.write_record(writer.create_warc_record(
                f"https://w.example/{i}", "request", payload=BytesIO(b"GET / HTTP/1.1\r\n")))
            writer.write_record(writer.create_warc_record(
                f"https://w.example/{i}", "response", payload=BytesIO(html.encode()),
                http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html")],
                                              protocol="HTTP/1.1")))
    return path


def _txt(folder: Path) -> Path:
    for i, text in enumerate(_texts(2, 6)):
        (folder / ("sub" if i % 2 else "")).mkdir(parents=True, exist_ok=True)
        (folder / ("sub" if i % 2 else "") / f"{i}.txt").write_text(text)
    (folder / "blank.txt").write_text("  \n")
    return folder


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("in")
    return [_jsonl(root / "j"), _parquet(root / "crawl.parquet"), _warc(root / "crawl.warc.gz"),
            _txt(root / "t")]


@pytest.fixture(scope="module")
def runs(inputs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("out")
    for name, more in (("plain", {}), ("annotated", {"annotate": True})):
        thresher.dedup(inputs=inputs, output=out / name, executor="serial", **more)
    return {"plain": out / "plain", "annotated": out / "annotated"}


def _decisions(out: Path) -> list[dict[str, Any]]:
    return pq.read_table(out / "decisions.parquet").to_pylist()


def _annotations(out: Path) -> list[dict[str, Any]]:
    """Every annotation under annotated/, in the order of decisions.parquet."""
    root = out / "annotated"
    got = []
    for name in ("j/a.jsonl", "j/b.jsonl.gz"):
        data = (gzip.decompress if name.endswith(".gz") else bytes)((root / name).read_bytes())
        got += [json.loads(line.removeprefix(b"\xef\xbb\xbf"))["thresher"]
                for line in data.splitlines()]
    got += pq.read_table(root / "crawl.parquet")["thresher"].to_pylist()
    with open(root / "crawl.warc.gz", "rb") as fh:
        got += [{"id": r.headers.get("WARC-Thresher-Id"),
                 "decision": r.headers.get("WARC-Thresher-Decision")}
                for r in fastwarc.ArchiveIterator(fh, parse_http=False)]
    got += [json.loads(line)["thresher"] for line in
            (root / "t" / "texts-from-0.thresher.jsonl").read_text().splitlines()]
    return got


def test_every_record_of_every_format_is_annotated(runs: dict[str, Path]) -> None:
    out = runs["annotated"]
    summary = json.loads((out / "summary.json").read_text())
    counts = summary["counts"]
    assert summary["annotated"] == {"written": counts["read"], "left_out": 0}
    assert counts["duplicate"] > 5 and counts["rejected"] >= 4
    rows, got = _decisions(out), _annotations(out)
    assert len(got) == len(rows) == counts["read"]
    sizes = Counter(r["cluster"] for r in rows if r["cluster"] is not None)
    for row, ann in zip(rows, got, strict=True):
        assert (ann["id"], ann["decision"]) == (row["id"], row["decision"])
        if "cluster" in ann:  # all fields but in WARC headers, read above for two only
            assert {k: ann[k] for k in row if k in ann} == {k: row[k] for k in ann if k in row}
            want = sizes[row["cluster"]] if row["cluster"] is not None else None
            assert ann["cluster_size"] == want


def test_annotating_changes_nothing_else(runs: dict[str, Path]) -> None:
    plain, annotated = runs["plain"], runs["annotated"]
    assert (plain / "decisions.parquet").read_bytes() == \
        (annotated / "decisions.parquet").read_bytes()
    kept = {p.relative_to(plain): p.read_bytes() for p in (plain / "kept").rglob("*")
            if p.is_file()}
    assert kept == {p.relative_to(annotated): p.read_bytes()
                    for p in (annotated / "kept").rglob("*") if p.is_file()}
    assert not (plain / "annotated").exists()


def test_records_keep_their_own_bytes(inputs: list[Path], runs: dict[str, Path]) -> None:
    root = runs["annotated"] / "annotated"
    given = [x for x in inputs[0].joinpath("a.jsonl").read_bytes().split(b"\n") if x.strip()]
    lines = (root / "j" / "a.jsonl").read_bytes().split(b"\n")[:-1]
    assert len(lines) == len(given)
    for before, after in zip(given, lines, strict=True):
        obj = json.loads(after.removeprefix(b"\xef\xbb\xbf"))
        if "raw" in obj["thresher"]:  # not an object: the line itself, inside
            assert list(obj) == ["thresher"]
            assert obj["thresher"]["raw"].encode() == before.rstrip(b"\r")
        else:
            assert re.sub(rb',?"thresher":\{.*\}\}', b"}", after) == before
    table = pq.read_table(root / "crawl.parquet")
    assert table.drop_columns(["thresher"]).equals(pq.read_table(inputs[1]))
    for path in inputs[3].rglob("*.txt"):
        assert (root / "t" / path.relative_to(inputs[3])).read_bytes() == path.read_bytes()


def test_warc_records_read_back_with_their_headers(runs: dict[str, Path]) -> None:
    with open(runs["annotated"] / "annotated" / "crawl.warc.gz", "rb") as fh:
        records = [(r.verify_block_digest(), r.headers.get("WARC-Thresher-Decision"),
                    r.headers.get("WARC-Thresher-Cluster-Size"))
                   for r in fastwarc.ArchiveIterator(fh, parse_http=False)]
    assert len(records) == 6 and all(ok for ok, _, _ in records)
    assert all(int(size) >= 1 for _, decision, size in records if decision == "kept")


def _blocks(page: str) -> list[str]:
    """The python blocks of a docs page."""
    text = (ROOT / "docs" / page).read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_the_upsampling_recipes_in_the_docs_run(inputs: list[Path], tmp_path: Path) -> None:
    """On the JSONL, the Parquet and the WARC input, each recipe upsamples every kept
    record by its cluster size, capped."""
    pytest.importorskip("pandas")
    out = tmp_path / "o"
    thresher.dedup(inputs=[inputs[0] / "b.jsonl.gz", *inputs[1:3]], output=out,
                   executor="serial", annotate=True)
    rows = _decisions(out)
    sizes = Counter(r["cluster"] for r in rows if r["cluster"] is not None)
    blocks = [b for b in _blocks("outputs.md") if "/annotated/" in b]
    assert len(blocks) == 3
    for block, name in zip(blocks, ("b.jsonl.gz", "crawl.parquet", "crawl.warc.gz"),
                           strict=True):
        names: dict[str, Any] = {"OUT": str(out)}
        exec(block, names)  # noqa: S102 - the documentation's own example
        kept = [r for r in rows if r["decision"] == "kept" and r["file"] == name]
        if "upsampled" in names:
            assert len(names["upsampled"]) == sum(min(sizes[r["cluster"]], 8) for r in kept)
        else:  # the WARC loop: the last kept record's size
            assert names["copies"] == sizes[kept[-1]["cluster"]]


def test_a_record_holding_the_field_is_refused(tmp_path: Path) -> None:
    rows = [{"id": "a", "text": "one two three four five six"},
            {"id": "b", "text": "seven eight nine ten", "thresher": {"mine": 1}}]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(InputError, match=r"x\.jsonl: 1 records already hold the field "
                                         r"'thresher'.*--annotate-field"):
        thresher.dedup(inputs=[tmp_path / "in"], output=tmp_path / "o", executor="serial",
                       annotate=True)
    thresher.dedup(inputs=[tmp_path / "in"], output=tmp_path / "o2", executor="serial",
                   annotate=True, annotate_field="dedup")
    got = [json.loads(x) for x in (tmp_path / "o2" / "annotated" / "x.jsonl").open()]
    assert got[1]["thresher"] == {"mine": 1} and got[1]["dedup"]["decision"] == "kept"
    pq.write_table(pa.table({"text": ["a b c"], "thresher": [1]}), tmp_path / "y.parquet")
    with pytest.raises(InputError, match="y.parquet: 1 records"):
        thresher.dedup(inputs=[tmp_path / "y.parquet"], output=tmp_path / "o3",
                       executor="serial", annotate=True)


def test_an_annotated_warc_is_refused_as_input(runs: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="WARC-Thresher-"):
        thresher.dedup(inputs=[runs["annotated"] / "annotated" / "crawl.warc.gz"],
                       output=tmp_path / "o", executor="serial", annotate=True)


def test_workers_write_the_same_bytes(inputs: list[Path], runs: dict[str, Path],
                                      tmp_path: Path) -> None:
    thresher.dedup(inputs=inputs, output=tmp_path / "o", workers=2, annotate=True)
    mine = runs["annotated"] / "annotated"
    files = {p.relative_to(mine): p.read_bytes() for p in mine.rglob("*") if p.is_file()}
    theirs = tmp_path / "o" / "annotated"
    assert files == {p.relative_to(theirs): p.read_bytes()
                     for p in theirs.rglob("*") if p.is_file()}


def test_the_flags_map_to_the_config(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from thresher.cli import main
    from thresher.config import config_from_mapping
    from thresher.errors import ConfigError

    for bad in ("a.b", "", "1x", "wärc"):
        with pytest.raises(ConfigError, match="--annotate-field"):
            config_from_mapping({"inputs": ["a"], "output": "o", "annotate_field": bad})
    (tmp_path / "x.jsonl").write_text('{"id": "a", "text": "one two three four five"}\n')
    result = CliRunner().invoke(main, ["dedup", str(tmp_path / "x.jsonl"), "-o",
                                       str(tmp_path / "o"), "--annotate", "--annotate-field",
                                       "mark", "--executor", "serial", "-q"])
    assert result.exit_code == 0, result.output
    line = json.loads((tmp_path / "o" / "annotated" / "x.jsonl").read_text())
    assert line["mark"]["decision"] == "kept" and line["mark"]["cluster_size"] == 1


def test_a_range_of_decisions_is_read_from_its_row_groups(tmp_path: Path) -> None:
    from thresher.pipeline.stages.annotate import _decision_rows

    pq.write_table(pa.table({"id": [str(i) for i in range(10)]}), tmp_path / "d.parquet",
                   row_group_size=3)
    for lo, hi in ((0, 10), (0, 3), (2, 7), (3, 6), (9, 10), (4, 4)):
        got = _decision_rows(str(tmp_path / "d.parquet"), lo, hi)["id"].to_pylist()
        assert got == [str(i) for i in range(lo, hi)]
