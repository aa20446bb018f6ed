"""Content matching end to end: the specimens, cleaning, partial duplicates, site groups."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import thresher
from tests.conftest import SPECIMENS, write_jsonl


def _decisions(out: Path) -> dict[str, dict[str, object]]:
    return {r["id"]: r for r in pq.read_table(out / "decisions.parquet").to_pylist()}


def test_specimens_are_one_article_and_its_text_is_cleaned(tmp_path: Path) -> None:
    folder = SPECIMENS
    summary = thresher.dedup(inputs=[folder], output=tmp_path / "o", strip_boilerplate=True)
    assert summary["counts"]["kept"] == 1 and summary["counts"]["duplicate"] == 1
    rows = list(_decisions(tmp_path / "o").values())
    assert len({r["cluster"] for r in rows}) == 1
    (kept,) = (tmp_path / "o" / "kept").rglob("*.txt")
    original = (folder / kept.name).read_text()
    cleaned = kept.read_text()
    paragraphs = [p for p in original.split("\n\n") if p.strip()]
    heading = next(i for i, p in enumerate(paragraphs) if len(p.split()) <= 6 and i > 0)
    assert cleaned.split("\n")[0] == paragraphs[0]  # the headline
    assert cleaned.split("\n")[-1] == paragraphs[heading - 1]  # the last paragraph
    assert paragraphs[heading] not in cleaned and paragraphs[heading + 1] not in cleaned
    assert "\n\n".join(paragraphs[:heading]) == cleaned  # its paragraphs, blank lines kept
    removed = pq.read_table(tmp_path / "o" / "boilerplate.parquet").to_pylist()
    for row in rows:
        text = (folder / Path(str(row["id"])).name).read_text()
        mine = [r for r in removed if r["id"] == row["id"]]
        assert mine[0]["text"] == paragraphs[heading] and mine[0]["reason"]
        assert text[mine[0]["start"]:mine[0]["end"]] == mine[0]["text"]
        assert all(r["start"] >= row["content_end"] for r in mine)  # type: ignore[operator]


def test_specimens_do_not_hinge_on_the_heading_phrase(tmp_path: Path) -> None:
    folder = SPECIMENS
    for f in sorted(folder.glob("*.txt")):
        paragraphs = f.read_text().split("\n\n")
        at = next(i for i, p in enumerate(paragraphs) if len(p.split()) <= 6 and i > 0)
        paragraphs[at] = "Lire aussi"
        (tmp_path / "in").mkdir(exist_ok=True)
        (tmp_path / "in" / f.name).write_text("\n\n".join(paragraphs))
    summary = thresher.dedup(inputs=[tmp_path / "in"], output=tmp_path / "o",
                             strip_boilerplate=True)
    assert summary["counts"]["duplicate"] == 1


def test_whole_text_matching_misses_the_specimens(tmp_path: Path) -> None:
    folder = SPECIMENS
    summary = thresher.dedup(inputs=[folder], output=tmp_path / "o", match="full")
    assert summary["counts"]["kept"] == 2 and "boilerplate" not in summary


def _page(title: str, body: list[str], chrome: list[str], tail: list[str]) -> str:
    return "\n".join([title, *chrome, *body, *tail])


CHROME = ["Home", "World", "Business", "Sport", "Sign in", "Subscribe"]
TAIL = ["About us", "Contact", "Privacy policy", "© 2025 The Example Times"]


def _article(topic: str, n: int) -> list[str]:
    return [f"Paragraph {i} about {topic}: the committee heard evidence from witnesses, "
            f"weighed the costs of {topic} against its benefits, and wrote down why the "
            f"decision number {i} on {topic} matters to readers." for i in range(n)]


def test_jsonl_is_rewritten_with_content_and_other_fields_kept(tmp_path: Path) -> None:
    rows = []
    for i, topic in enumerate(["bridges", "schools", "rivers", "trains"]):
        text = _page(f"The {topic} report", _article(topic, 6), CHROME, TAIL)
        rows.append({"id": f"a{i}", "text": text, "url": f"https://example.org/{topic}",
                     "lang": "en"})
    write_jsonl(tmp_path / "in" / "c.jsonl", rows)
    summary = thresher.dedup(inputs=[tmp_path / "in"], output=tmp_path / "o",
                             strip_boilerplate=True)
    assert summary["counts"]["kept"] == 4  # same chrome, different articles: all kept
    kept = [json.loads(x) for x in (tmp_path / "o" / "kept" / "c.jsonl").read_text().splitlines()]
    assert [k["lang"] for k in kept] == ["en"] * 4
    for k, row in zip(kept, rows, strict=True):
        assert "Privacy policy" not in k["text"] and "Subscribe" not in k["text"]
        assert k["text"] in row["text"] or all(p in row["text"] for p in k["text"].split("\n"))
        assert "committee heard evidence" in k["text"]


def test_recrawl_in_other_chrome_and_syndicated_copy_are_found(tmp_path: Path) -> None:
    body = _article("harbours", 8)
    other = ["Menu", "Local", "Weather", "Traffic", "Obituaries"]
    rows = [
        {"id": "page", "text": _page("Harbours", body, CHROME, TAIL), "url": "https://a.org/1"},
        {"id": "recrawl", "text": _page("Harbours", body, other, ["Imprint", "Jobs"]),
         "url": "https://a.org/1?v=2"},
        {"id": "syndicated", "text": _page("Harbours", body[1:7], ["Front page", "Opinion"],
                                           ["Feedback"]), "url": "https://b.net/x"},
        {"id": "different", "text": _page("Tunnels", _article("tunnels", 8), CHROME, TAIL),
         "url": "https://a.org/2"},
    ]
    write_jsonl(tmp_path / "in.jsonl", rows)
    thresher.dedup(inputs=[tmp_path / "in.jsonl"], output=tmp_path / "o")
    d = _decisions(tmp_path / "o")
    assert d["page"]["decision"] == "kept" and d["different"]["decision"] == "kept"
    assert d["recrawl"]["representative"] == "page" and d["recrawl"]["match"] in ("exact", "near")
    assert d["syndicated"]["representative"] == "page" and d["syndicated"]["match"] == "partial"
    assert d["syndicated"]["containment"] >= 0.8 > d["syndicated"]["similarity"]  # type: ignore[operator]
    assert "partial duplicate of page" in str(d["syndicated"]["reason"])
    text = rows[2]["text"]
    start, end = d["syndicated"]["content_start"], d["syndicated"]["content_end"]
    assert start <= text.index(body[1]) and end == text.index(body[6]) + len(body[6])  # type: ignore[operator]
    full = thresher.dedup(inputs=[tmp_path / "in.jsonl"], output=tmp_path / "f", match="full")
    assert full["counts"]["duplicate"] < 2


def test_group_by_field_and_outputs_do_not_depend_on_order(tmp_path: Path) -> None:
    rows = [{"id": f"d{i}", "site": f"s{i % 2}",
             "text": _page(f"Report {i}", _article(f"topic{i}", 4), CHROME, TAIL)}
            for i in range(12)]
    write_jsonl(tmp_path / "a" / "x.jsonl", rows)
    write_jsonl(tmp_path / "b" / "x.jsonl", rows[::-1])
    out = []
    for name in ("a", "b"):
        thresher.dedup(inputs=[tmp_path / name], output=tmp_path / f"o{name}", group_by="site",
                       strip_boilerplate=True, executor="serial")
        removed = pq.read_table(tmp_path / f"o{name}" / "boilerplate.parquet").to_pylist()
        out.append(sorted((r["id"], r["start"], r["reason"]) for r in removed))
    assert out[0] == out[1] and out[0]
    shutil.rmtree(tmp_path / "oa")


def test_strip_needs_content_matching() -> None:
    with pytest.raises(thresher.ConfigError, match="strip-boilerplate"):
        thresher.dedup(inputs=["x"], output="y", match="full", strip_boilerplate=True)


def test_site_counts_in_passes_give_the_same_results(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from thresher.pipeline.stages import template

    rows = [{"id": f"d{i}", "url": f"https://s{i % 3}.example/{i}",
             "text": _page(f"Report {i}", _article(f"topic{i % 7}", 4), CHROME, TAIL)}
            for i in range(60)]
    write_jsonl(tmp_path / "in.jsonl", rows)
    outs = []
    for name, budget in (("one", template.PASS_BUDGET), ("many", 64)):
        monkeypatch.setattr(template, "PASS_BUDGET", budget)
        thresher.dedup(inputs=[tmp_path / "in.jsonl"], output=tmp_path / name,
                       executor="serial", strip_boilerplate=True)
        outs.append([(tmp_path / name / f).read_bytes()
                     for f in ("decisions.parquet", "boilerplate.parquet")])
    assert outs[0] == outs[1]


def test_titles_join_recrawls_and_keep_lookalikes_apart(tmp_path: Path) -> None:
    body = _article("bridges", 8)
    others = [{"id": f"o{i}", "url": f"https://example.org/{t}",
               "text": _page(f"The {t} report", _article(t, 8), CHROME, TAIL)}
              for i, t in enumerate(["schools", "rivers", "trains", "forests", "harbours",
                                     "libraries", "markets", "parks", "roads", "taxes"])]
    rows = [
        {"id": "page", "url": "https://example.org/bridges",
         "text": _page("The bridges report", body, CHROME, TAIL)},
        # The same article, crawled with its comments: too little shared for the site bar.
        {"id": "recrawl", "url": "https://example.org/bridges?page=1",
         "text": _page("The bridges report", body[:6] + _article("ferries", 3), CHROME, TAIL)},
        # Another page of the site with the whole article in it, under its own title:
        # what two such pages share is taken for the site's (a cleaning that kept chrome
        # in), not for one article.
        {"id": "retitled", "url": "https://example.org/bridges-2",
         "text": _page("Bridges: the report, part two", body + _article("tolls", 1),
                       CHROME, TAIL)},
        *others,
    ]
    write_jsonl(tmp_path / "in.jsonl", rows)
    thresher.dedup(inputs=[tmp_path / "in.jsonl"], output=tmp_path / "o")
    d = _decisions(tmp_path / "o")
    (dup,) = [d[i] for i in ("page", "recrawl") if d[i]["decision"] == "duplicate"]
    assert d["page"]["cluster"] == d["recrawl"]["cluster"] and dup["match"] == "title"
    assert 0.5 <= dup["containment"] < 0.9  # type: ignore[operator]
    assert f"same article as {dup['representative']}" in str(dup["reason"])
    assert d["retitled"]["decision"] == "kept"
    assert all(d[r["id"]]["decision"] == "kept" for r in others)
    # Without the titles the site's containment bar decides: the other page is merged and
    # the recrawl is not.
    thresher.dedup(inputs=[tmp_path / "in.jsonl"], output=tmp_path / "n", titles=False)
    n = _decisions(tmp_path / "n")
    assert n["recrawl"]["decision"] == "kept"
    assert {n["retitled"]["decision"], n["page"]["decision"]} == {"kept", "duplicate"}


def test_a_title_is_evidence_only_where_it_names_one_page() -> None:
    import numpy as np

    from thresher.core.blocks import split_blocks
    from thresher.core.titles import title_keys

    texts = ["The bridges report\nbody", "The bridges report\nbody", "Pricing\nbody",
             "Search results for you\nbody", "The tunnels report\nbody", "Menu\nbody"]
    blocks = split_blocks(texts)
    keys = np.arange(1, blocks.key.shape[0] + 1, dtype=np.uint64) * np.uint64(1 << 20)
    first = blocks.doc_offsets[:-1]
    counts = np.ones(keys.shape[0], dtype=np.int64)
    counts[first] = [2, 2, 1, 5, 1, 6]  # documents of the site that carry each title
    out = title_keys(blocks, keys, counts, pages=np.full(6, 8, dtype=np.int64))
    assert out[0] != 0 and out[1] != 0 and out[4] != 0  # specific titles
    assert out[2] != 0  # one word names its page where the site does not repeat it
    assert out[3] == 0 and out[5] == 0  # on more than half of the site's pages: template
    small_site = title_keys(blocks, keys, counts, pages=np.full(6, 2, dtype=np.int64))
    assert not small_site.any()  # too few pages to tell a template from an article


_URLS = [
    "https://WWW.Example.org/x", "http://user:pw@Sub.Example.org:8080/a?b#c",
    "https://example.org?q=1", "https://example.org#frag", "HTTPS://EXAMPLE.ORG",
    "http://[::1]:80/p", "http://[::1/p", "example.org/no/scheme", "//example.org/x",
    "  https://spaced.example/x", "https://ex\tample.org/x", "https://example.org\n/x",
    "mailto:someone@example.org", "ftp://files.example.org/f", "https://www./x",
    "https:///nohost", "a1+b.c-d://odd.scheme.example/x", "1http://digit.first/x", "",
    "https://ex%41mple.org/x", "https://例え.jp/パス", "https://example.org:notaport/x"]


@pytest.mark.parametrize("url", _URLS)
def test_the_site_of_a_url_is_its_host_as_urlsplit_reads_it(url: str) -> None:
    from urllib.parse import urlsplit

    from thresher.io.records import Fields, Record
    from thresher.pipeline.chrome import group_of

    try:
        want = (urlsplit(url).hostname or "").removeprefix("www.") if url else ""
    except ValueError:
        want = ""
    assert group_of(Record("a", "t", url, "f", 1), Fields()) == want


@pytest.mark.parametrize("extra", [[], [None], ["https://bad\ud800.example/x", None]])
def test_site_hashes_of_many_are_those_of_each_site(extra: list[str | None]) -> None:
    from thresher.core.cleaning import group_hashes
    from thresher.io.records import Fields
    from thresher.pipeline.chrome import site_hashes, site_of

    urls: list[str | None] = [*_URLS, *_URLS[::-1], "\x00https://ctl.example/x",
                              "https://tab.example/\tx", "https://Example.org/y", *extra]
    want = group_hashes([site_of(u, None, Fields()) for u in urls])
    assert np.array_equal(site_hashes(urls, [None] * len(urls), Fields()), want)
    groups = [f"g{i % 3}" for i in range(len(urls))]
    by_group = Fields(group="g")
    assert np.array_equal(site_hashes(urls, groups, by_group),
                          group_hashes([site_of(u, g, by_group) for u, g in zip(urls, groups)]))
    assert site_hashes([], [], Fields()).shape == (0,)


def test_content_laid_out_from_kept_bytes_is_the_kept_blocks_text() -> None:
    import numpy as np

    from thresher.core.blocks import split_blocks
    from thresher.core.cleaning import kept_content
    from thresher.core.text import prepare_batch
    from thresher.pipeline.chrome import Decoded

    texts = ["Título\n\n  Café — crème brûlée 😀  \nMenu | Home\r\nLast line",
             "only one line", "a\nb\nc", "日本語のテキスト\n二行目"]
    blocks = split_blocks(texts)
    fate = np.ones(blocks.start.shape[0], dtype=np.uint8)  # nothing kept...
    fate[[1, 3]] = 0  # ...but these two blocks of the first document, and one of the third
    fate[blocks.doc_offsets[2] + 1] = 0
    out, out_off = kept_content(prepare_batch(texts), blocks, fate == 0)
    # The same contents from the texts themselves: their kept blocks' slices, one a line.
    expected, per_doc = [], []
    for d, text in enumerate(texts):
        kept = [text[blocks.start[b]:blocks.end[b]]
                for b in range(blocks.doc_offsets[d], blocks.doc_offsets[d + 1]) if fate[b] == 0]
        expected.append("\n".join(kept) if kept else text)
        per_doc.append(len(kept))
    assert per_doc == [2, 0, 1, 0]
    assert list(Decoded(out, out_off)) == expected
    assert expected[0] == "Café — crème brûlée 😀\nLast line" and expected[1] == texts[1]


def test_cleaned_text_keeps_the_separators_between_its_paragraphs() -> None:
    import numpy as np

    from thresher.core.blocks import split_blocks
    from thresher.core.cleaning import kept_content
    from thresher.core.text import prepare_batch
    from thresher.pipeline.chrome import Decoded

    texts = [("Home | News\n\nA headline\n\nFirst paragraph.\n\n\n  Second, indented.\n"
             "Share this\r\n\r\nThird paragraph.\nMore from us"),
             "no block kept here\n\nat all"]
    blocks = split_blocks(texts)
    keep = np.ones(blocks.start.shape[0], dtype=bool)
    first = int(blocks.doc_offsets[1])
    keep[[0, 4, 6]] = False  # the menu, a share line between paragraphs, the footer
    keep[first:] = False
    out, out_off = kept_content(prepare_batch(texts), blocks, keep, gaps=True)
    expected = ("A headline\n\nFirst paragraph.\n\n\n  Second, indented.\n"
                "Third paragraph.")
    assert list(Decoded(out, out_off)) == [expected, texts[1]]
    plain, plain_off = kept_content(prepare_batch(texts), blocks, keep)  # what sketches read
    sketched = "A headline\nFirst paragraph.\nSecond, indented.\nThird paragraph."
    assert list(Decoded(plain, plain_off)) == [sketched, texts[1]]


@pytest.mark.parametrize("n", [0, 1, 7, 50_000])
def test_block_keys_count_distinct_documents(n: int) -> None:
    import numpy as np

    from thresher.core.articles import support

    rng = np.random.default_rng(n)  # few keys, few fingerprints: many repeated pairs
    pairs = np.stack((rng.integers(0, 40, n).astype(np.uint64) * np.uint64(2**58) + np.uint64(3),
                      rng.integers(0, 25, n).astype(np.uint64)), axis=1)
    keys, counts, distinct = support(pairs[:, 0], pairs[:, 1], pairs[:, 1])  # no articles
    rows = np.unique(pairs, axis=0)
    want_keys, want_counts = np.unique(rows[:, 0], return_counts=True)
    assert keys.tolist() == want_keys.tolist() and counts.tolist() == want_counts.tolist()
    assert distinct == rows.shape[0]


def test_a_page_is_never_removed_as_contained_in_a_shorter_one(tmp_path: Path) -> None:
    # A short article republished whole inside two longer versions on other sites, under
    # its headline: the long pages hold text found nowhere else, so the short one is the
    # partial duplicate, of one.
    quote = _article("harbours", 3)
    rows = [
        {"id": "short", "text": _page("Harbours", quote, ["Front page", "Opinion"],
                                      ["Feedback"]), "url": "https://b.net/x"},
        {"id": "long1", "text": _page("Harbours", quote + _article("tunnels", 9), CHROME, TAIL),
         "url": "https://a.org/1"},
        {"id": "long2", "text": _page("Harbours", _article("bridges", 9) + quote,
                                      ["Menu", "Local", "Weather"], ["Imprint", "Jobs"]),
         "url": "https://c.com/2"},
    ]
    write_jsonl(tmp_path / "in.jsonl", rows)
    thresher.dedup(inputs=[tmp_path / "in.jsonl"], output=tmp_path / "o")
    d = _decisions(tmp_path / "o")
    assert d["long1"]["decision"] == "kept" and d["long2"]["decision"] == "kept"
    short = d["short"]
    assert short["match"] == "partial" and short["representative"] in ("long1", "long2")
    theirs = short["rep_content_end"] - short["rep_content_start"]  # type: ignore[operator]
    mine = short["content_end"] - short["content_start"]  # type: ignore[operator]
    assert (f"contained in it, under no other headline: its content {theirs:,} chars, "
            f"this {mine:,}") in str(short["reason"])


def test_a_page_quoted_under_other_headlines_is_kept(tmp_path: Path) -> None:
    # The same short piece quoted whole in two long articles about other things: they
    # contain it, but under their own headlines they are other articles, not its copies.
    quote = _article("harbours", 3)
    rows = [
        {"id": "short", "text": _page("Harbours", quote, ["Front page", "Opinion"],
                                      ["Feedback"]), "url": "https://b.net/x"},
        {"id": "long1", "text": _page("Tunnels", quote + _article("tunnels", 9), CHROME, TAIL),
         "url": "https://a.org/1"},
        {"id": "long2", "text": _page("Bridges", _article("bridges", 9) + quote,
                                      ["Menu", "Local", "Weather"], ["Imprint", "Jobs"]),
         "url": "https://c.com/2"},
    ]
    write_jsonl(tmp_path / "in.jsonl", rows)
    thresher.dedup(inputs=[tmp_path / "in.jsonl"], output=tmp_path / "o")
    assert {r["decision"] for r in _decisions(tmp_path / "o").values()} == {"kept"}
    # without titles, containment alone decides: the short page goes
    thresher.dedup(inputs=[tmp_path / "in.jsonl"], output=tmp_path / "n", titles=False)
    short = _decisions(tmp_path / "n")["short"]
    assert short["match"] == "partial" and "other headline" not in str(short["reason"])


def test_the_chrome_share_counts_a_page_kept_whole_as_nothing_set_aside(
        tmp_path: Path) -> None:
    # every line recurs on every page of the site, so no page has a block taken for
    # content: each is kept whole, and the share set aside must be 0, not below it
    lines = ["Home | News | Sport | Weather", "Subscribe to our newsletter today",
             "Copyright 2026 Example Media Group", "Privacy policy and cookie settings"]
    src = write_jsonl(tmp_path / "a.jsonl", [
        {"id": f"a{i}", "url": f"https://ex.com/p{i}",
         "text": "\n\n".join([*lines, f"Item {i}"])} for i in range(12)])
    share = thresher.dedup(inputs=[src], output=tmp_path / "o",
                           executor="serial")["boilerplate"]
    assert 0 <= share["content_chars"] <= share["block_chars"]
    assert 0.0 <= share["share_removed"] <= 1.0
