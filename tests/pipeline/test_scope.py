"""Records without a site key: each is judged in its own scope, not as one site's page."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

import thresher
from tests.conftest import write_jsonl
from tests.pipeline.corpus import WORDS, article, edit
from thresher.core.rule import EDGE_NEAR, EDGE_PARTIAL, MatchRule
from thresher.core.scope import NO_SITE, scope_counts, scoped
from thresher.io.records import Fields
from thresher.pipeline.chrome import site_hashes

MENUS = ["Home | News | Sport | Weather | Contact | About us",
         "Front page | Opinion | Culture | Travel | Login | Subscribe",
         "Start | Reviews | Guides | Deals | Forum | Newsletter"]
NAMES = ["The Daily Lantern", "Harbour Weekly Review", "Northern Gazette Online"]


def _template_pages(rng: random.Random, *, about: str = "") -> list[dict[str, Any]]:
    """Four pages on each of three templates (a menu line first, a footer last), each
    page its own article under its own title."""
    rows = []
    for t, (menu, name) in enumerate(zip(MENUS, NAMES, strict=True)):
        footer = f"All rights reserved by {name}, its owners and its writers"
        for i in range(4):
            title = " ".join(rng.choice(WORDS) for _ in range(6)).title()
            rows.append({"id": f"t{t}-{i}", "host": f"site{t}.example",
                         "text": "\n".join([menu, title, *([f"{about} {name}."] if about else []),
                                            article(rng, 300), footer])})
    return rows


def _moved(row: dict[str, Any], into: dict[str, Any], *, keep: float, rate: float,
           rng: random.Random) -> str:
    """The article of ``row`` (title and body, the first ``keep`` of its paragraphs, a
    share ``rate`` of its words edited) set inside the template of ``into``."""
    lines = row["text"].split("\n")
    frame = into["text"].split("\n")
    body = [p for p in lines[2:-1] if p]
    body = [edit(rng, p, rate) for p in body[:max(1, round(keep * len(body)))]]
    return "\n".join([frame[0], lines[1], *body, frame[-1]])


def _corpus(tmp_path: Path, *, urls: bool) -> Path:
    rng = random.Random(3)
    rows = _template_pages(rng)
    rows += [
        # a copy set inside another template
        {"id": "moved", "host": "site1.example",
         "text": _moved(rows[0], rows[4], keep=1.0, rate=0.0, rng=rng)},
        # its first paragraphs only, lightly edited, inside a third template: a partial copy
        {"id": "cut", "host": "site2.example",
         "text": _moved(rows[1], rows[8], keep=0.7, rate=0.02, rng=rng)},
    ]
    for i, row in enumerate(rows):
        host = row.pop("host")
        if urls:
            row["url"] = f"https://{host}/{i}"
    return write_jsonl(tmp_path / ("urls.jsonl" if urls else "bare.jsonl"), rows)


def _clusters(out: Path) -> dict[str, Any]:
    rows = pq.read_table(out / "decisions.parquet", columns=["id", "cluster", "match"])
    return {r["id"]: (r["cluster"], r["match"]) for r in rows.to_pylist()}


def test_records_without_urls_are_matched_as_the_same_pages_with_them(tmp_path: Path) -> None:
    bare = thresher.dedup(inputs=[_corpus(tmp_path, urls=False)], output=tmp_path / "b")
    d = _clusters(tmp_path / "b")
    # The menu line, first on every page of its template, is no title: a copy in another
    # template is not "another article", and a partial copy needs the cross-site bar.
    assert d["moved"][0] == d["t0-0"][0]
    assert {d["moved"][1], d["t0-0"][1]} - {None} <= {"exact", "near", "same-content"}
    assert d["cut"][0] == d["t0-1"][0] and d["cut"][1] == "partial"
    assert len({c for c, _ in d.values()}) == len(d) - 2  # nothing else is merged
    assert bare["scope"] == {"kind": "corpus", "records": 14, "without_site": 14, "sites": 0}
    with_urls = thresher.dedup(inputs=[_corpus(tmp_path, urls=True)], output=tmp_path / "u")
    assert _clusters(tmp_path / "u") == d
    assert with_urls["scope"]["kind"] == "site" and with_urls["scope"]["sites"] == 3


def test_a_long_paragraph_of_a_template_joins_none_of_its_pages(tmp_path: Path) -> None:
    rng = random.Random(5)
    about = " ".join(edit(rng, article(rng, 160), 0.0).split("\n\n"))  # one long block
    rows = _template_pages(rng, about=about)
    for row in rows:  # short articles: the template's paragraph is half the page
        lines = row["text"].split("\n")
        row["text"] = "\n".join(lines[:3] + [article(rng, 50) for _ in range(3)] + lines[-1:])
        del row["host"]
    thresher.dedup(inputs=[write_jsonl(tmp_path / "in.jsonl", rows)], output=tmp_path / "o",
                   strip_boilerplate=True)
    d = _clusters(tmp_path / "o")
    assert len({c for c, _ in d.values()}) == len(rows)
    removed = pq.read_table(tmp_path / "o" / "boilerplate.parquet").to_pylist()
    assert sum(about in r["text"] for r in removed) == len(rows)


def test_a_record_without_a_site_has_the_empty_sites_hash() -> None:
    ghash = site_hashes([None, "", "https://a.org/x"], [None, None, None], Fields())
    assert ghash[0] == NO_SITE and ghash[1] == NO_SITE and ghash[2] != NO_SITE


def test_its_template_is_what_reaches_twice_as_far_as_its_typical_block() -> None:
    off = np.array([0, 5, 10, 13])
    # record 0: a menu line on 40 records, a footer on 40, paragraphs of its own;
    # record 1: an article copied onto 3 records, every paragraph as far as the others;
    # record 2: a record with a site, as its site's counts say
    counts = np.array([40, 1, 1, 1, 40, 3, 3, 3, 3, 3, 6, 1, 6])
    words = np.array([9.0, 5, 50, 50, 3, 5, 50, 50, 50, 50, 9, 50, 9])
    ghash = np.array([NO_SITE, NO_SITE, 7], dtype=np.uint64)
    s = scoped(off, counts, np.array([1, 1, 12]), ghash=ghash, words=words)
    assert s.pages.tolist() == [1, 1, 12]  # no site counts for the block model
    assert s.title_pages.tolist() == [40, 0, 12]
    assert np.flatnonzero(s.chrome).tolist() == [0]  # the footer is too short to force


def test_records_with_sites_are_left_as_their_sites_say() -> None:
    off = np.array([0, 2])
    counts, pages = np.array([9, 1]), np.array([10])
    s = scoped(off, counts, pages, ghash=np.array([5], dtype=np.uint64), words=np.array([9.0, 9]))
    assert s.pages is pages and s.title_pages is pages and not s.chrome.any()


def test_two_records_without_a_site_need_the_cross_site_bar() -> None:
    rule = MatchRule(threshold=0.8, containment=0.55, site_containment=0.9, title_containment=0.5)
    sims, conts = np.array([0.5, 0.5, 0.85]), np.array([0.7, 0.7, 0.9])
    inter = np.array([100, 100, 100])
    sites = (np.array([NO_SITE, 5, NO_SITE], dtype=np.uint64),
             np.array([NO_SITE, 5, NO_SITE], dtype=np.uint64))
    hit, why = rule.decide(sims, conts, inter, sites=sites)
    assert hit.tolist() == [True, False, True]
    assert why.tolist() == [EDGE_PARTIAL, EDGE_NEAR, EDGE_NEAR]


def test_the_scope_is_named_by_the_records_site_keys() -> None:
    five = np.uint64(5)
    assert scope_counts(np.array([five, five]), np.array([five]))["kind"] == "site"
    assert scope_counts(np.array([NO_SITE]), np.array([NO_SITE]))["kind"] == "corpus"
    assert scope_counts(np.zeros(0, np.uint64), np.zeros(0, np.uint64))["kind"] == "site"


def test_the_terminal_says_which_scope_a_run_used() -> None:
    from thresher._console import _scope_line

    assert _scope_line({"kind": "site", "records": 9, "without_site": 0, "sites": 3}) == \
        "3 sites"
    assert _scope_line({"kind": "corpus", "records": 9, "without_site": 9, "sites": 0}) \
        .startswith("9 records without a site key")
    assert "; 4 of 9 records without a site key" in _scope_line(
        {"kind": "mixed", "records": 9, "without_site": 4, "sites": 2})
