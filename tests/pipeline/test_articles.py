"""An article crawled many times keeps its text, in one run and across index batches."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow.parquet as pq

import thresher
from tests.conftest import write_jsonl

WORDS = ["harbour", "council", "budget", "river", "school", "teacher", "market", "station", "bridge", "village", "engineer", "summer", "winter", "report", "witness", "farmer", "museum", "library", "tender", "road", "railway", "doctor", "hospital", "garden", "festival", "election", "mayor", "storm", "ferry", "island", "coast", "factory", "worker", "union", "pension", "court", "judge", "minister", "plan", "water", "energy"]
CHROME = ["Home", "World", "Business", "Sport", "Sign in", "Subscribe to our newsletter"]
TAIL = ["About us", "Contact", "Privacy policy", "© 2025 The Example Times"]


def _paragraphs(seed: int, n: int = 6) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(25, 40))).capitalize() + "."
            for _ in range(n)]


def _page(seed: int, tail: str = "") -> str:
    title = f"Story {seed}: " + " ".join(random.Random(-seed).sample(WORDS, 5))
    return "\n".join([title, *CHROME, *_paragraphs(seed), *TAIL] + ([tail] if tail else []))


def _crawls(article: int, extra: int) -> list[dict[str, str]]:
    """The article's page, then ``extra`` crawls of it, each with another related line."""
    rows = [{"id": f"p{article}", "text": _page(article), "url": f"https://t.org/{article}"}]
    rows += [{"id": f"p{article}c{i}", "url": f"https://t.org/{article}?crawl={i}",
              "text": _page(article, f"Related: {_paragraphs(1000 + i, 1)[0][:60]}")}
             for i in range(extra)]
    return rows


def _cleaned(out: Path, name: str) -> dict[str, str]:
    lines = (out / "kept" / name).read_text().splitlines()
    return {r["id"]: r["text"] for r in map(json.loads, lines)}


def test_an_article_crawled_ten_times_keeps_its_paragraphs(tmp_path: Path) -> None:
    others = [row for a in range(1, 6) for row in _crawls(a, 0)]
    texts = {}
    for extra in (0, 10):
        write_jsonl(tmp_path / f"in{extra}" / "c.jsonl", others + _crawls(0, extra))
        out = tmp_path / f"o{extra}"
        summary = thresher.dedup(inputs=[tmp_path / f"in{extra}"], output=out,
                                 strip_boilerplate=True, executor="serial")
        assert summary["counts"]["duplicate"] == extra  # every crawl joined to the page
        texts[extra] = _cleaned(out, "c.jsonl")
    (page,) = [t for i, t in texts[10].items() if i.startswith("p0")]
    assert all(p in page for p in _paragraphs(0))
    assert "Subscribe to our newsletter" not in page and "Privacy policy" not in page
    assert page.startswith(texts[0]["p0"])  # as cleaned when crawled once (and its tail)
    assert {i: t for i, t in texts[10].items() if not i.startswith("p0")} == \
        {i: t for i, t in texts[0].items() if i != "p0"}  # the other pages as before


def test_a_page_crawled_in_every_batch_keeps_its_article(tmp_path: Path) -> None:
    from thresher import index

    ix = tmp_path / "ix"
    index.create(ix)
    spans = []
    for batch in range(4):
        rows = _crawls(10 * batch + 1, 0) + _crawls(10 * batch + 2, 0)
        crawl, twice = ({"id": f"again{batch}-{k}", "url": f"https://t.org/0?crawl={batch}-{k}",
                         "text": _page(0, f"Related: {_paragraphs(2000 + 2 * batch + k, 1)[0]}")}
                        for k in range(2))  # crawled twice in every batch
        write_jsonl(tmp_path / f"b{batch}" / "c.jsonl", rows + [crawl, twice])
        index.add(ix, [tmp_path / f"b{batch}"], tmp_path / f"o{batch}", executor="serial")
        rows = pq.read_table(tmp_path / f"o{batch}" / "decisions.parquet").to_pylist()
        mine = {r["id"]: r for r in rows if r["id"].startswith("again")}
        kept = [i for i, r in mine.items() if r["decision"] == "kept"]
        assert len(kept) == (1 if batch == 0 else 0)  # later crawls: the indexed article
        spans += [c["text"][mine[c["id"]]["content_start"]:mine[c["id"]]["content_end"]]
                  for c in (crawl, twice)]
    for span in spans:
        assert all(p in span for p in _paragraphs(0))
