"""The HTML report, opened in headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import thresher
from tests.conftest import CRAWLBENCH, SPECIMENS, need_shared

pytest.importorskip("matplotlib")


# How to run the browser tests in a clone: Debian's browser, driven by the Python
# playwright package of the test extra (which downloads no browser of its own).
_ENABLE = ("browser tests skipped: no chromium on PATH. To run them: sudo apt-get install "
           "chromium (Ubuntu: chromium-browser), then pip install -e '.[test]' for the "
           "playwright package that drives it (no 'playwright install' needed)")


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("chromium is missing: .ci/run installs Debian's chromium package")
    pytest.skip(_ENABLE)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason=_ENABLE.replace(
        "no chromium on PATH", "the playwright package is not installed"))
    path = _chromium()
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield b
        b.close()


def _open(browser: Any, report: Path) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(report.resolve().as_uri())
    return page, errors


def _shown_counts(page: Any) -> dict[str, int]:
    return {el.get_attribute("data-key"): int(el.inner_text().replace(",", ""))
            for el in page.query_selector_all(".count")}


def test_specimens_report_shows_the_article_shared_and_the_chrome_struck(
        browser: Any, tmp_path: Path) -> None:
    folder = SPECIMENS
    out = tmp_path / "run"
    summary = thresher.dedup(inputs=[folder], output=out, strip_boilerplate=True)
    report = thresher.write_report(out)
    page, errors = _open(browser, report)
    assert _shown_counts(page) == summary["counts"]
    cluster = page.locator("details.cluster")
    assert cluster.count() == 1
    cluster.first.locator("summary").click()
    docs = cluster.first.locator(".doc")
    assert docs.count() == 2 and docs.nth(0).is_visible() and docs.nth(1).is_visible()
    removed = pq.read_table(out / "boilerplate.parquet").to_pylist()
    for side in range(2):
        shared = docs.nth(side).locator(".blk.shared").all_inner_texts()
        chrome = docs.nth(side).locator(".blk.chrome").all_inner_texts()
        text = (folder / Path(summary_ids(out)[side]).name).read_text()
        paragraphs = [p for p in text.split("\n\n") if p.strip()]
        assert shared[0] == paragraphs[0]  # the headline, shared by both crawls
        assert len(shared) >= 5  # the article's paragraphs
        # The trailing blocks (the "More from ..." run) are marked chrome, struck through.
        mine = [r["text"] for r in removed if r["id"] == summary_ids(out)[side]]
        assert mine[0] in chrome
        assert docs.nth(side).locator(".blk.chrome s").count() == len(chrome)
        assert not set(chrome) & set(shared)
    assert errors == []
    page.screenshot(path=str(tmp_path / "specimens.png"))
    assert (tmp_path / "specimens.png").stat().st_size > 10_000


def summary_ids(out: Path) -> list[str]:
    return [str(r["id"]) for r in pq.read_table(out / "decisions.parquet").to_pylist()]


def test_crawlbench_report_counts_search_and_bounds(browser: Any, tmp_path: Path) -> None:
    bench = need_shared(CRAWLBENCH)
    out = tmp_path / "run"
    summary = thresher.dedup(inputs=[bench / "docs.jsonl.gz"], output=out,
                             strip_boilerplate=True)
    report = thresher.write_report(out, tmp_path / "r.html", clusters=100, sample=20,
                                   text_budget=300_000)
    assert json.loads((out / "summary.json").read_text())["counts"] == summary["counts"]
    page, errors = _open(browser, report)
    assert _shown_counts(page) == summary["counts"]
    clusters = page.locator("details.cluster")
    assert clusters.count() == 120  # the 100 largest and 20 drawn at random
    sizes = [int(t) for t in page.locator("details.cluster summary b").all_inner_texts()]
    assert sizes[:100] == sorted(sizes[:100], reverse=True)
    assert sizes[0] == summary["clusters"]["largest"]
    # Side by side only as far as the text budget goes; the page says how far.
    with_text = page.locator("details.cluster:has(.pair)").count()
    assert 0 < with_text < 120
    assert f"side by side: the first {with_text} of them" in page.inner_text("#clusters")
    # Searching by an id keeps its cluster only.
    rep = clusters.nth(5).get_attribute("data-rep")
    page.fill("#search", rep)
    assert page.inner_text("#shown") == "1" and clusters.nth(5).is_visible()
    assert page.locator("#plots svg").count() == 4
    assert errors == []


def test_report_of_no_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(thresher.ConfigError, match="not a finished thresher run"):
        thresher.write_report(tmp_path)


def test_rejected_records_are_listed_with_their_reasons(tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parents[1] / "examples" / "sample"
    summary = thresher.dedup(inputs=[sample], output=tmp_path / "run", executor="serial")
    page = thresher.write_report(tmp_path / "run").read_text()
    rejected = page[page.index('id="rejected"'):]
    assert summary["counts"]["rejected"] == 2
    for example in summary["rejected_examples"]:
        where, reason = example.split(": ", 1)
        assert where in rejected and reason.split(":")[0] in rejected


def test_the_note_says_which_clusters_are_listed(tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parents[1] / "examples" / "sample"
    thresher.dedup(inputs=[sample], output=tmp_path / "run", executor="serial")
    every = pq.read_table(tmp_path / "run" / "decisions.parquet").to_pandas()
    n = every.loc[every["decision"] == "duplicate", "representative"].nunique()
    assert n > 8
    for top, drawn, says in ((2000, 500, f"Listed: all {n} ("),
                             (5, 0, "Listed: the 5 largest (5 in all, "),
                             (5, 3, ("Listed: the 5 largest and 3 drawn at random from the "
                                     "others (8 in all, "))):
        note = _clusters_of(thresher.write_report(tmp_path / "run", clusters=top,
                                                  sample=drawn))
        assert says in note and f'<span id="shown">{min(n, top + drawn)}</span>' in note
        assert ("drawn at random" in note) == (drawn > 0 and n > top)


@pytest.mark.parametrize("sizes", [[2] * 21 + [3] * 8 + [4] * 11 + [5] * 2,
                                   [2] * 900 + [3] * 40 + list(range(41, 300))])
def test_the_cluster_size_axes_are_labelled_in_plain_integers(sizes: list[int]) -> None:
    from thresher.report.plots import plots_of

    svg = plots_of({"config": {"minhash": {"threshold": 0.8}}}, sizes, [])["sizes"]
    labels = {t.strip() for t in re.findall(r">([^<>]*)</text>", svg)} - {""}
    assert "×" not in svg and "10" in labels, labels
    assert all(t.replace(",", "").isdigit() for t in labels if t[0].isdigit()), labels


def test_a_cluster_past_the_text_budget_says_why_and_how_to_see_it(tmp_path: Path) -> None:
    thresher.dedup(inputs=[SPECIMENS], output=tmp_path / "run", executor="serial")
    cluster = _clusters_of(thresher.write_report(tmp_path / "run", text_budget=10))
    assert "Not shown side by side" in cluster and "10 characters" in cluster
    assert f"thresher report {tmp_path / 'run'} --text-budget 1000000" in cluster
    shown = _clusters_of(thresher.write_report(tmp_path / "run"))
    assert "Not shown side by side" not in shown and 'class="pair"' in shown


def _clusters_of(report: Path) -> str:
    page = report.read_text()
    return page[page.index('id="clusters"'):page.index('id="rejected"')]


def test_blocks_changed_in_place_mark_the_words_that_differ() -> None:
    from thresher.report.compare import compare_blocks, text_blocks

    a = "Title\nThe council met on Monday and voted for the bridge.\nSame closing line.\nMenu"
    b = "Title\nThe council met on Tuesday and voted against the bridge.\nSame closing line."
    rep, other = text_blocks(a, [(a.index("Menu"), len(a))], None), text_blocks(b, [], None)
    ma, mb, wa, wb = compare_blocks(rep, other)
    assert ma == ["shared", "diff", "shared", "chrome"] and mb == ["shared", "diff", "shared"]
    assert "<mark>Monday</mark>" in wa[1] and "<mark>for</mark>" in wa[1]
    assert "<mark>Tuesday</mark>" in wb[1] and "<mark>against</mark>" in wb[1]
    assert "<mark>" not in wa[1].replace("<mark>Monday</mark>", "").replace(
        "<mark>for</mark>", "")


def test_the_browser_skip_says_how_to_enable_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        _chromium()
    why = str(skipped.value)
    assert "apt-get install chromium" in why and "pip install -e '.[test]'" in why
    assert "playwright" in why
