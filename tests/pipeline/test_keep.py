"""--keep: which document of a cluster survives; members stay within the threshold of it."""

from __future__ import annotations

import json
import random
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import thresher
from tests.conftest import write_jsonl
from tests.pipeline.corpus import article, edit
from thresher import index
from thresher.errors import ConfigError, InputError
from thresher.pipeline.survivor import priority, sort_values

ARTICLE = article(random.Random(5), 220)
OTHER = article(random.Random(6), 220)
# The clean original, and the same words ALL-CAPS and punctuation-mangled: one text after
# normalization, and the mangled one is the longer.
CLEAN = "Hello world. " + ARTICLE
MANGLED = "hello, WORLD!!! " + ARTICLE.upper().replace(".", "!!")


def _decisions(out: Path) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in pq.read_table(out / "decisions.parquet").to_pylist()}


def _kept(out: Path) -> set[str]:
    return {i for i, r in _decisions(out).items() if r["decision"] == "kept"}


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The clean original first, then its mangled copy, each with a date and a score."""
    root = tmp_path_factory.mktemp("copies")
    write_jsonl(root / "in" / "a.jsonl", [
        {"id": "clean", "text": CLEAN, "meta": {"date": "2024-03-01T10:00:00Z", "q": 0.9}},
        {"id": "other", "text": OTHER, "meta": {"date": "2020-01-01", "q": 0.1}},
        {"id": "mangled", "text": MANGLED, "meta": {"date": 1709200000, "q": "0.2"}}])
    return root / "in"


@pytest.mark.parametrize(("keep", "survivor"), [
    ("connected", "mangled"),  # today's rule: the longer of two equally connected
    ("first", "clean"),
    ("oldest", "mangled"),  # 1709200000 is 2024-02-29
    ("newest", "clean"),
    ("max:meta.q", "clean"),
    ("min:meta.q", "mangled"),  # a number given as text counts
])
def test_each_policy_chooses_its_survivor(copies: Path, tmp_path: Path, keep: str,
                                          survivor: str) -> None:
    dated = {"date_field": "meta.date"} if keep in ("oldest", "newest") else {}
    thresher.dedup(inputs=[copies], output=tmp_path / "o", executor="serial", keep=keep,
                   **dated)
    rows = _decisions(tmp_path / "o")
    assert _kept(tmp_path / "o") == {survivor, "other"}
    loser = ({"clean", "mangled"} - {survivor}).pop()
    assert rows[loser]["representative"] == survivor and rows[loser]["match"] == "exact"


def _captures(root: Path) -> Path:
    """Three captures of each of two articles, a few words apart, out of date order."""
    rng = random.Random(1)
    rows = []
    for a, text in enumerate((ARTICLE, OTHER)):
        for c, day in enumerate((12, 3, 25)):
            rows.append({"id": f"a{a}-c{c}", "text": edit(rng, text, 0.003),
                         "date": f"2024-05-{day:02d}", "url": f"https://s{c}.example/{a}"})
    return write_jsonl(root / "captures.jsonl", rows)


def test_no_member_is_further_than_the_threshold(tmp_path: Path) -> None:
    path = _captures(tmp_path)
    for keep in ("oldest", "newest", "first"):
        out = tmp_path / keep
        thresher.dedup(inputs=[path], output=out, executor="serial", keep=keep,
                       date_field="date" if keep != "first" else None, match="full")
        rows = _decisions(out)
        want = {"oldest": "c1", "newest": "c2", "first": "c0"}[keep]
        assert _kept(out) == {f"a0-{want}", f"a1-{want}"}
        for r in rows.values():
            if r["decision"] == "duplicate":
                assert r["similarity"] >= 0.8 and r["representative"][:2] == r["id"][:2]


def test_a_chain_is_cut_at_the_chosen_survivor(tmp_path: Path) -> None:
    """A ~ B and B ~ C, but A and C too far apart: whoever is first, no duplicate lies
    beyond the threshold of its representative."""
    words = ARTICLE.split(" ")
    third = len(words) // 4
    a = " ".join(words)
    b = " ".join(words[:third] + [w.upper() + "x" for w in words[third:2 * third]]
                 + words[2 * third:])
    c = " ".join(words[:third] + [w.upper() + "x" for w in words[third:3 * third]]
                 + words[3 * third:])
    for order in (["a", "b", "c"], ["b", "a", "c"], ["c", "b", "a"]):
        texts = {"a": a, "b": b, "c": c}
        path = write_jsonl(tmp_path / "".join(order) / "in.jsonl",
                           [{"id": k, "text": texts[k]} for k in order])
        out = path.parent / "o"
        thresher.dedup(inputs=[path], output=out, executor="serial", keep="first",
                       match="full", threshold=0.5)
        rows = _decisions(out)
        assert order[0] in _kept(out)
        for r in rows.values():
            assert r["decision"] == "kept" or r["similarity"] >= 0.5


def _warc(path: Path, captures: list[tuple[str, str, str]]) -> Path:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, date, text in captures:
            html = (f"<html><head><title>{text[:20]}</title></head><body><article><p>"
                    + text.replace("\n\n", "</p><p>") + "</p></article></body></html>")
            writer.write_record(writer.create_warc_record(
                url, "response", payload=BytesIO(html.encode()),
                http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html")],
                                              protocol="HTTP/1.1"),
                warc_headers_dict={"WARC-Date": date}))
    return path


def test_the_earliest_capture_of_each_article_of_a_warc_crawl(tmp_path: Path) -> None:
    pytest.importorskip("fastwarc")
    pytest.importorskip("warcio")
    rng = random.Random(2)
    dates = ["2024-05-12T08:00:00Z", "2024-05-03T08:00:00Z", "2024-05-25T08:00:00Z"]
    captures = [(f"https://news.example/{a}", date, edit(rng, text, 0.003))
                for a, text in enumerate((ARTICLE, OTHER)) for date in dates]
    path = _warc(tmp_path / "crawl.warc.gz", captures)
    for keep, day in (("oldest", "05-03"), ("newest", "05-25")):
        out = tmp_path / keep
        thresher.dedup(inputs=[path], output=out, executor="serial", keep=keep,
                       annotate=True)
        rows = pq.read_table(out / "decisions.parquet").to_pylist()
        kept = [r["line"] for r in rows if r["decision"] == "kept"]
        assert [captures[line - 1][1][5:10] for line in kept] == [day, day]
    with pytest.raises(ConfigError, match="--date-field goes with"):
        thresher.dedup(inputs=[path], output=tmp_path / "x", keep="first",
                       date_field="date")


def test_indexed_documents_stay_representatives(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "b1" / "a.jsonl", [{"id": "old", "text": CLEAN}])
    write_jsonl(tmp_path / "b2" / "a.jsonl", [
        {"id": "new-first", "text": MANGLED, "q": 9}, {"id": "new-other", "text": OTHER,
                                                      "q": 1}])
    index.create(tmp_path / "ix")
    index.add(tmp_path / "ix", [tmp_path / "b1"], tmp_path / "o1", executor="serial")
    for keep in ("first", "max:q"):
        out = tmp_path / keep.replace(":", "")
        index.query(tmp_path / "ix", [tmp_path / "b2"], out, executor="serial", keep=keep,
                    annotate=True)
        rows = _decisions(out)
        assert rows["new-first"]["decision"] == "duplicate"
        assert rows["new-first"]["representative"] == "old"
        ann = [json.loads(x)["thresher"] for x in (out / "annotated" / "a.jsonl").open()]
        assert ann[0]["representative_batch"] == 1 and ann[0]["cluster_size"] == 1


def test_policies_that_cannot_be_served_are_refused(copies: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--keep must be"):
        thresher.dedup(inputs=[copies], output=tmp_path / "o", keep="max:")
    with pytest.raises(ConfigError, match="needs --date-field for jsonl inputs"):
        thresher.dedup(inputs=[copies], output=tmp_path / "o", keep="oldest")
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "a.txt").write_text(CLEAN)
    with pytest.raises(ConfigError, match=".txt files have none"):
        thresher.dedup(inputs=[tmp_path / "t"], output=tmp_path / "o", keep="max:q")
    with pytest.raises(InputError, match="no record has the field 'meta.qq' named by --keep"):
        thresher.dedup(inputs=[copies], output=tmp_path / "o", keep="max:meta.qq",
                       executor="serial")


def test_parquet_scores_and_timestamps_are_read(tmp_path: Path) -> None:
    import datetime as dt

    when = [dt.datetime(2024, 1, d, tzinfo=dt.UTC) for d in (5, 2, 9)]
    pq.write_table(pa.table({"id": ["x", "y", "z"], "text": [CLEAN, MANGLED, CLEAN + " "],
                             "seen": pa.array(when, pa.timestamp("s", "UTC")),
                             "q": [0.3, 0.9, None]}), tmp_path / "a.parquet")
    for keep, survivor in (("oldest", "y"), ("newest", "z"), ("max:q", "y"), ("min:q", "x")):
        out = tmp_path / keep.replace(":", "")
        thresher.dedup(inputs=[tmp_path / "a.parquet"], output=out, executor="serial",
                       keep=keep, date_field="seen" if keep in ("oldest", "newest") else None)
        assert _kept(out) == {survivor}


def test_values_become_priorities() -> None:
    got = sort_values(["2024-05-18T01:58:10Z", "Sat, 18 May 2024 01:58:10 GMT",
                       "2024-05-18T03:58:10+02:00", "yesterday", False, 1716000000], "date")
    assert got[:3].tolist() == [1715997490.0] * 3
    assert np.isnan(got[3]) and np.isnan(got[4]) and got[5] == 1716000000.0
    values = np.array([2.0, np.nan, 5.0, 2.0])
    assert priority("max:q", values, 4).tolist() == [1, 2, 0, 1]  # type: ignore[union-attr]
    assert priority("min:q", values, 4).tolist() == [0, 2, 1, 0]  # type: ignore[union-attr]
    assert priority("connected", None, 4) is None


def test_a_crowded_bucket_still_makes_one_cluster(tmp_path: Path) -> None:
    """Past 65 documents, a bucket pairs each one with its best-ranked members only: those
    must be the policy's, or its survivor takes them and leaves the rest alone."""
    words = ARTICLE.split(" ")
    rows = [{"id": f"d{i:03d}", "text": " ".join(words[:i] + ["zz"] + words[i + 1:])}
            for i in range(100)]
    path = write_jsonl(tmp_path / "in.jsonl", rows)
    for keep in ("connected", "first"):
        out = tmp_path / keep
        summary = thresher.dedup(inputs=[path], output=out, executor="serial", keep=keep,
                                 match="full")
        assert summary["counts"]["kept"] == 1, keep
    assert _kept(tmp_path / "first") == {"d000"}
